"""Tuning on a validation split carved out of the training interactions (never the test split): ALS's
regularization over a small grid, then the hybrid's content weight, both by NDCG@k, kept in a `Tuning`."""
from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np
import pandas as pd

from core.common import Progress, no_progress
from core.recsys._base import _standardize
from core.recsys._data import Interactions
from core.recsys._hybrid import Hybrid
from core.recsys._metrics import _batches, _test_users, evaluate, hit_matrix, ranking_scores
from core.recsys._models import ALS, ContentBased
from core.recsys._split import SplitSpec, TrainData, split_events

ALS_ALPHAS = (20.0,)                # confidence = alpha x weight; regularization is tuned against it
ALS_REGULARIZATIONS = (0.01, 1.0, 10.0, 30.0, 100.0)
HYBRID_WEIGHTS = tuple(np.round(np.linspace(0, 1, 11), 1))


@dataclass
class Tuning:
    """Choices made on a validation split carved out of the training interactions (never the test split)."""

    als: list[dict]             # {"alpha", "regularization", "ndcg"} per grid point
    alpha: float
    regularization: float
    weights: list[dict]         # {"weight", "ndcg"} per hybrid weight
    weight: float
    n_users: int                # validation users behind each number

    def to_dict(self) -> dict:
        return asdict(self)


def tune(data: Interactions, train_events: pd.DataFrame, spec: SplitSpec, progress: Progress = no_progress,
         k: int = 10) -> Tuning:
    """Pick ALS's (alpha, regularization) and the hybrid weight by NDCG@k on a validation split of the training data."""
    fit_events, val_events = split_events(train_events, SplitSpec(spec.method, spec.test_share, spec.last_n,
                                                                  spec.seed + 1))
    train = TrainData.build(fit_events, data)
    n_val = val_events.loc[data.liked(val_events["rating"].to_numpy()), "user"].nunique()
    if n_val == 0:              # too little data to validate anything: the usual defaults, said as such
        return Tuning(als=[], alpha=ALS_ALPHAS[0], regularization=30.0, weights=[], weight=0.3, n_users=0)
    grid, best = [], None
    points = [(a, r) for a in ALS_ALPHAS for r in ALS_REGULARIZATIONS]
    for i, (alpha, reg) in enumerate(points):
        progress(0.8 * i / len(points), f"Tuning ALS on a validation split: alpha {alpha:g}, regularization {reg:g}")
        als = ALS(regularization=reg, alpha=alpha, seed=spec.seed, threads=1).fit(train)   # small fits: 1 thread
        value = evaluate({"als": als}, train, val_events, data).metrics("als", k)["ndcg"]
        grid.append({"alpha": alpha, "regularization": reg, "ndcg": value})
        if best is None or value > best[0]:
            best = (value, als)
    weights = []
    if data.has_features:
        progress(0.85, "Tuning the hybrid's content weight on the validation split")
        hybrid = Hybrid(ContentBased().fit(train, data), best[1], 0.0).fit(train, data)
        weights = _weight_curve(hybrid, train, val_events, data, k)
    top = max(grid, key=lambda g: g["ndcg"])
    weight = max(weights, key=lambda g: g["ndcg"])["weight"] if weights else 0.0
    return Tuning(als=grid, alpha=top["alpha"], regularization=top["regularization"], weights=weights, weight=weight,
                  n_users=n_val)


def _weight_curve(hybrid: Hybrid, train: TrainData, val_events: pd.DataFrame, data: Interactions,
                  k: int) -> list[dict]:
    """Validation NDCG@k of the hybrid for each weight; both parts are scored once and re-blended."""
    relevant, n_relevant, users = _test_users(val_events, train, data)
    ndcg = {weight: [] for weight in HYBRID_WEIGHTS}
    for batch in _batches(users, train.shape[1]):
        rows, seen = train.liked[batch], train.seen[batch]
        content, collaborative = hybrid.parts(rows, batch)
        z_content, z_collaborative = _standardize(content), _standardize(collaborative)
        for weight in HYBRID_WEIGHTS:
            lists = hybrid.lists(weight * z_content + (1 - weight) * z_collaborative, content, rows, seen, k)
            ndcg[weight].append(ranking_scores(hit_matrix(lists, relevant[batch]), n_relevant[batch], k)["ndcg"])
    return [{"weight": float(w), "ndcg": float(np.concatenate(v).mean())} for w, v in ndcg.items()]
