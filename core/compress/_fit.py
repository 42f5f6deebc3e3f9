"""The small training loop behind fine-tuning (after pruning) and distillation: Adam for a fixed number of steps,
hard-label loss on the rows whose labels may be used, mixed with the teacher's softened outputs when there is one."""
from __future__ import annotations

import math

import numpy as np

from core.common import Progress, no_progress


def _loss_parts(task: str):
    """(hard loss on labels, soft loss against the teacher at temperature T) for the task."""
    import torch.nn.functional as F

    if task == "classification":
        hard = F.cross_entropy

        def soft(student, teacher, T):
            return F.kl_div(F.log_softmax(student / T, 1), F.softmax(teacher / T, 1), reduction="batchmean") * T * T
    else:
        def hard(out, y):
            return F.mse_loss(out[:, 0], y)

        def soft(student, teacher, T):
            return F.mse_loss(student, teacher)
    return hard, soft


def fit_net(net, X: np.ndarray, y: np.ndarray, task: str, *, steps: int, lr: float = 2e-3, batch: int = 64,
            seed: int = 0, teacher_out: np.ndarray | None = None, labelled: np.ndarray | None = None,
            temperature: float = 4.0, alpha: float = 0.7, progress: Progress = no_progress) -> object:
    """Train `net` in place for `steps` Adam steps; with teacher outputs, mix soft (α) and hard (1-α) losses.

    `labelled` is a boolean mask of the rows whose labels may be used (the label budget); rows without a
    label contribute only the teacher's soft targets. Without a teacher only labelled rows are used.
    """
    from core.models import intra_op_threads

    with intra_op_threads(1):   # small networks: OpenMP threads cost more than they give (see core.models)
        return _fit_loop(net, X, y, task, steps, lr, batch, seed, teacher_out, labelled, temperature, alpha, progress)


def _fit_loop(net, X, y, task, steps, lr, batch, seed, teacher_out, labelled, temperature, alpha, progress):
    import torch

    hard, soft = _loss_parts(task)
    if labelled is None:
        labelled = np.ones(len(X), dtype=bool)
    if teacher_out is None:
        X, y, labelled = X[labelled], y[labelled], labelled[labelled]
    Xt, yt, mask = torch.from_numpy(X), torch.from_numpy(y), torch.from_numpy(labelled)
    tt = None if teacher_out is None else torch.from_numpy(np.ascontiguousarray(teacher_out, dtype=np.float32))
    generator = torch.Generator().manual_seed(int(seed))
    optimizer = torch.optim.Adam(net.parameters(), lr=lr)
    net.train()
    n, step = len(Xt), 0
    while step < steps:
        order = torch.randperm(n, generator=generator)
        for lo in range(0, n, batch):
            idx = order[lo:lo + batch]
            out = net(Xt[idx])
            m = mask[idx]
            loss = hard(out[m], yt[idx][m]) if bool(m.any()) else out.sum() * 0.0
            if tt is not None:
                loss = alpha * soft(out, tt[idx], temperature) + (1.0 - alpha) * loss
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            step += 1
            if step % 50 == 0:
                progress(step / steps, f"step {step}/{steps}")
            if step >= steps:
                break
    return net.eval()


def _steps(n_rows: int, epochs: int, batch: int = 64) -> int:
    """Optimizer steps for `epochs` passes over `n_rows` rows."""
    return max(1, int(epochs) * math.ceil(n_rows / batch))
