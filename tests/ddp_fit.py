"""Run by tests/test_distributed.py under torchrun: every process fits the same two networks inside the process group
(DistributedDataParallel) and writes its final weights to OUT/rank<r>.npz, so the test can compare the ranks with
each other and with a one-process fit of `models()`."""
from __future__ import annotations

import sys

import numpy as np


def models():
    """(name, unfitted estimator, X, y): a classifier and a two-target regressor, small and seeded."""
    from sklearn.datasets import load_breast_cancer, load_diabetes
    from sklearn.preprocessing import StandardScaler

    from core.models import TorchMLPClassifier, TorchMLPRegressor
    X, y = load_breast_cancer(return_X_y=True)
    yield "clf", TorchMLPClassifier(hidden=(32, 16), epochs=12, batch_size=64, random_state=3), \
        StandardScaler().fit_transform(X), y
    Xd, yd = load_diabetes(return_X_y=True)
    yield "reg", TorchMLPRegressor(hidden=(16,), epochs=12, batch_size=32, random_state=3), Xd, np.c_[yd, np.sqrt(yd)]


def fitted_weights() -> dict[str, np.ndarray]:
    weights = {}
    for name, model, X, y in models():
        model.fit(X, y)
        weights |= {f"{name}.{k}": v.detach().cpu().numpy() for k, v in model.net_.state_dict().items()}
        weights[f"{name}.processes"] = np.array(model.processes_)
        weights[f"{name}.epochs"] = np.array(model.n_iter_)
    return weights


def main(out: str) -> None:
    from core.models import distributed_session
    with distributed_session() as world:
        np.savez(f"{out}/rank{world.rank}.npz", **fitted_weights())


if __name__ == "__main__":
    main(sys.argv[1])
