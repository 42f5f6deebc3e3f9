"""Knowledge distillation under a label budget: a small student learns from the teacher's softened outputs on every
training row, and the same student trained on the labels alone is built beside it, so the gain is measured."""
from __future__ import annotations

import numpy as np

from core.common import Progress, no_progress
from core.compress._data import CompressData
from core.compress._fit import _steps, fit_net


def label_budget(y: np.ndarray, fraction: float, seed: int, task: str) -> np.ndarray:
    """Boolean mask of the training rows whose labels may be used (stratified for classification)."""
    n = len(y)
    if fraction >= 1.0:
        return np.ones(n, dtype=bool)
    from sklearn.model_selection import train_test_split

    k = max(2, int(round(fraction * n)))
    idx = np.arange(n)
    try:
        chosen, _ = train_test_split(idx, train_size=k, random_state=seed,
                                     stratify=y if task == "classification" else None)
    except ValueError:
        chosen, _ = train_test_split(idx, train_size=k, random_state=seed)
    mask = np.zeros(n, dtype=bool)
    mask[chosen] = True
    return mask


def distill(teacher, data: CompressData, hidden: tuple[int, ...], activation: str, *, temperature: float = 4.0,
            alpha: float = 0.7, label_fraction: float = 1.0, epochs: int = 60, seed: int = 0,
            progress: Progress = no_progress) -> tuple[object, object]:
    """(distilled student, the same student trained without distillation on the same label budget).

    Both start from the same seeded weights and take the same number of optimizer steps. The distilled one
    also sees every training row as an unlabelled transfer set through the teacher's softened outputs.
    """
    import torch

    from core.models import build_mlp

    n_in, n_out = data.X_train.shape[1], teacher[-1].out_features
    labelled = label_budget(data.y_train, label_fraction, seed, data.head.task)
    with torch.inference_mode():
        teacher_out = teacher(torch.from_numpy(data.X_train)).float().numpy()
    steps = _steps(len(data.X_train), epochs)

    def student():
        return build_mlp(n_in, n_out, hidden, activation, generator=torch.Generator().manual_seed(int(seed)))

    distilled = fit_net(student(), data.X_train, data.y_train, data.head.task, steps=steps, seed=seed,
                        teacher_out=teacher_out, labelled=labelled, temperature=temperature, alpha=alpha,
                        progress=lambda f, m: progress(0.5 * f, f"distilled student: {m}"))
    plain = fit_net(student(), data.X_train, data.y_train, data.head.task, steps=steps, seed=seed,
                    labelled=labelled, progress=lambda f, m: progress(0.5 + 0.5 * f, f"plain student: {m}"))
    return distilled, plain
