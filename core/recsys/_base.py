"""What every model shares: the `Recommender` interface, `top_k` (best-scored items per user with training items
masked), per-row score standardization, the model titles, and the BLAS thread limit used when serving a handful
of users or while `implicit` trains."""
from __future__ import annotations

import contextlib

import numpy as np
import scipy.sparse as sp

from core.recsys._data import Interactions
from core.recsys._split import TrainData

MODEL_TITLES = {
    "popular": "Most popular",
    "content": "Content-based",
    "item_knn": "Item-item kNN",
    "als": "ALS (implicit MF)",
    "bpr": "BPR (ranking MF)",
    "svd": "SVD (rating MF)",
    "hybrid": "Hybrid (content + ALS)",
}


def top_k(scores: np.ndarray, seen: sp.csr_matrix, k: int) -> np.ndarray:
    """Indices of the k best-scored items per row, best first, never an item in ``seen``; -1 pads short rows."""
    scores = np.array(scores, dtype=np.float32)
    rows, cols = seen.nonzero()
    scores[rows, cols] = -np.inf
    k_wanted, k = k, min(k, scores.shape[1])
    part = np.argpartition(-scores, k - 1, axis=1)[:, :k]
    part_scores = np.take_along_axis(scores, part, 1)
    order = np.lexsort((part, -part_scores), axis=1)   # best score first, ties by item index (deterministic)
    top = np.take_along_axis(part, order, 1)
    top[np.take_along_axis(scores, top, 1) == -np.inf] = -1
    return _pad(top, k_wanted)


def _pad(lists: np.ndarray, k: int) -> np.ndarray:
    """Lists always have k columns (-1 = no item), even for a catalogue smaller than k."""
    if lists.shape[1] >= k:
        return lists
    return np.hstack([lists, np.full((lists.shape[0], k - lists.shape[1]), -1, dtype=lists.dtype)])


class Recommender:
    """Scores every item for a batch of users given their liked rows (and their codes when the model knows them)."""

    key = ""

    def fit(self, train: TrainData, data: Interactions) -> "Recommender":
        raise NotImplementedError

    def score(self, rows: sp.csr_matrix, users: np.ndarray | None) -> np.ndarray:
        raise NotImplementedError

    def recommend(self, rows: sp.csr_matrix, users: np.ndarray | None, seen: sp.csr_matrix, k: int) -> np.ndarray:
        with _serial_for_few(rows):
            return top_k(self.score(rows, users), seen, k)

    def state(self) -> dict[str, np.ndarray | sp.csr_matrix]:
        """The fitted arrays: with the model's parameters, the training data and `restore`, the same model again
        (saved without pickles, see core.recsys._saved)."""
        raise NotImplementedError

    def restore(self, state: dict, train: TrainData, data: Interactions) -> "Recommender":
        """This model (made with its parameters) fitted from `state` instead of trained."""
        raise NotImplementedError

    def predict_ratings(self, users: np.ndarray, items: np.ndarray) -> np.ndarray | None:
        """Predicted ratings (explicit data only) or None for ranking-only models."""
        return None


_BLAS = None
FEW_USERS = 64                     # below this many rows per call, BLAS runs on one thread


def _blas_single_thread():
    """One BLAS thread, set with threadpoolctl after numpy/scipy/implicit are loaded: while implicit trains (its own
    threads do the work; this also silences its warning), and while serving a handful of users, where waking BLAS
    threads on a busy machine cost about 8 ms per call here against 0.2 ms of work."""
    global _BLAS
    if _BLAS is None:
        import implicit.cpu.topk  # noqa: F401  (every BLAS library loaded before the controller lists them)
        from threadpoolctl import ThreadpoolController
        _BLAS = ThreadpoolController()
    return _BLAS.limit(limits=1, user_api="blas")


def _serial_for_few(rows: sp.csr_matrix):
    return _blas_single_thread() if rows.shape[0] < FEW_USERS else contextlib.nullcontext()


def _standardize(scores: np.ndarray) -> np.ndarray:
    """Per row: (s - mean) / std; a constant row becomes 0 (no NaN)."""
    mean, std = scores.mean(axis=1, keepdims=True), scores.std(axis=1, keepdims=True)
    return np.divide(scores - mean, std, out=np.zeros_like(scores, dtype=np.float64), where=std > 0)
