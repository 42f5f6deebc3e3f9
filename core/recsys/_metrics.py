"""Honest metrics: which recommended items hit held-out liked interactions (training items never count), per-user
precision, recall, NDCG, MAP and hit rate at k, catalogue coverage, novelty and rating errors, and `evaluate`, which
ranks top-K_MAX lists of every model for every test user into an `Evaluation`."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import scipy.sparse as sp

from core.common import Progress, no_progress
from core.recsys._base import MODEL_TITLES, Recommender
from core.recsys._data import Interactions
from core.recsys._split import TrainData

K_MAX = 20                          # every model ranks this many items per user; metrics @k cut them
RANKING_METRICS = ("precision", "recall", "ndcg", "map", "hit_rate")
RATING_BASELINE = "User + item averages (baseline)"
METRIC_TITLES = {"precision": "Precision", "recall": "Recall", "ndcg": "NDCG", "map": "MAP", "hit_rate": "Hit rate",
                 "coverage": "Coverage", "novelty": "Novelty (bits)", "rmse": "RMSE", "mae": "MAE",
                 "fit_seconds": "Fit (s)"}


def hit_matrix(lists: np.ndarray, relevant: sp.csr_matrix) -> np.ndarray:
    """hits[u, j] = the j-th recommended item of row u is in that row's relevant (held-out, liked) set."""
    relevant = relevant.tocsr()
    n_items = relevant.shape[1]
    truth = np.repeat(np.arange(relevant.shape[0]), np.diff(relevant.indptr)) * n_items + relevant.indices
    wanted = np.arange(lists.shape[0])[:, None] * n_items + lists
    return np.isin(wanted, truth) & (lists >= 0)


def ranking_scores(hits: np.ndarray, n_relevant: np.ndarray, k: int) -> dict[str, np.ndarray]:
    """Per-user precision@k, recall@k, NDCG@k (binary gains, log2 discount), AP@k (normalised by min(k, |R|))
    and hit@k; users with no relevant item must be removed beforehand."""
    hits = hits[:, :k].astype(float)
    n_relevant = np.asarray(n_relevant, dtype=float)
    discount = 1.0 / np.log2(np.arange(2, k + 2))
    ideal = np.cumsum(discount)[np.minimum(n_relevant, k).astype(int) - 1]
    precision_at_i = np.cumsum(hits, axis=1) / np.arange(1, k + 1)
    return {
        "precision": hits.sum(1) / k,
        "recall": hits.sum(1) / n_relevant,
        "ndcg": (hits * discount).sum(1) / ideal,
        "map": (precision_at_i * hits).sum(1) / np.minimum(n_relevant, k),
        "hit_rate": (hits.sum(1) > 0).astype(float),
    }


def coverage(lists: np.ndarray, n_items: int, k: int) -> float:
    """Share of the catalogue that appears in at least one user's top-k."""
    shown = np.unique(lists[:, :k])
    return float((shown >= 0).sum() / n_items)


def novelty(lists: np.ndarray, popularity: np.ndarray, n_users: int, k: int) -> float:
    """Mean self-information -log2((likers + 1) / (users + 1)) of recommended items, in bits: higher = less known."""
    items = lists[:, :k][lists[:, :k] >= 0]
    return float(np.mean(-np.log2((popularity[items] + 1.0) / (n_users + 1.0)))) if items.size else 0.0


def rating_errors(y_true: np.ndarray, y_pred: np.ndarray) -> dict[str, float]:
    error = np.asarray(y_pred, float) - np.asarray(y_true, float)
    return {"rmse": float(np.sqrt(np.mean(error ** 2))), "mae": float(np.mean(np.abs(error)))}


@dataclass
class Evaluation:
    """Top-K_MAX lists of every model for every evaluated user, and what they hit among held-out liked items."""

    users: np.ndarray                    # user codes with at least one held-out liked item
    n_relevant: np.ndarray
    lists: dict[str, np.ndarray]         # model -> (users, K_MAX) item codes
    hits: dict[str, np.ndarray]
    ratings: dict[str, dict[str, float]]  # model -> rmse / mae on every held-out rating (explicit data)
    popularity: np.ndarray
    n_items: int
    n_train_users: int
    n_test_ratings: int = 0

    def metrics(self, key: str, k: int) -> dict[str, float]:
        per_user = ranking_scores(self.hits[key], self.n_relevant, k)
        scores = {name: float(values.mean()) for name, values in per_user.items()}
        scores["coverage"] = coverage(self.lists[key], self.n_items, k)
        scores["novelty"] = novelty(self.lists[key], self.popularity, self.n_train_users, k)
        scores.update(self.ratings.get(key, {}))
        return scores

    def per_user(self, key: str, metric: str, k: int) -> np.ndarray:
        return ranking_scores(self.hits[key], self.n_relevant, k)[metric]


def held_out_relevance(test: pd.DataFrame, train: TrainData, data: Interactions) -> sp.csr_matrix:
    """users x items: 1 where a held-out interaction is liked and the item is not in that user's training data."""
    liked = test.loc[data.liked(test["rating"].to_numpy())]
    relevant = sp.csr_matrix((np.ones(len(liked)), (liked["user"], liked["item"])), shape=train.shape)
    relevant = (relevant - relevant.multiply(train.seen > 0)).tocsr()
    relevant.eliminate_zeros()
    return relevant


def _test_users(test: pd.DataFrame, train: TrainData,
                data: Interactions) -> tuple[sp.csr_matrix, np.ndarray, np.ndarray]:
    """(held-out relevance matrix, relevant items per user, codes of the users with at least one) to rank for."""
    relevant = held_out_relevance(test, train, data)
    n_relevant = np.asarray(relevant.sum(axis=1)).ravel()
    return relevant, n_relevant, np.flatnonzero(n_relevant > 0)


def _batches(users: np.ndarray, n_items: int, cells: int = 4_000_000) -> list[np.ndarray]:
    """Users in chunks whose dense score matrices stay around 4 million cells (32 MB in float64)."""
    size = max(50, cells // max(n_items, 1))
    return np.array_split(users, max(1, -(-len(users) // size)))


def evaluate(models: dict[str, Recommender], train: TrainData, test: pd.DataFrame, data: Interactions,
             progress: Progress = no_progress) -> Evaluation:
    """Rank for every user with a held-out liked item; training items (liked or not) are masked first."""
    relevant, n_relevant, users = _test_users(test, train, data)
    lists, hits, ratings = {}, {}, {}
    for i, (key, model) in enumerate(models.items()):
        progress(i / len(models), f"Ranking for {len(users):,} users: {MODEL_TITLES.get(key, key)}")
        batches = [model.recommend(train.liked[b], b, train.seen[b], K_MAX) for b in _batches(users, train.shape[1])]
        lists[key] = np.vstack(batches) if len(users) else np.zeros((0, K_MAX), int)
        hits[key] = hit_matrix(lists[key], relevant[users])
        predicted = model.predict_ratings(test["user"].to_numpy(), test["item"].to_numpy()) if len(test) else None
        if predicted is not None:
            ratings[key] = rating_errors(test["rating"].to_numpy(), predicted)
    return Evaluation(users=users, n_relevant=n_relevant[users], lists=lists, hits=hits, ratings=ratings,
                      popularity=train.popularity, n_items=train.shape[1],
                      n_train_users=int((np.diff(train.seen.indptr) > 0).sum()), n_test_ratings=len(test))
