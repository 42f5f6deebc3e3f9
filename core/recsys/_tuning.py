"""Tuning on a validation split carved out of the training interactions (never the test split), by NDCG@k, kept
in a `Tuning`: ALS's regularization, BPR's learning rate, factors and iterations, then the hybrid's content weight.

A grid whose best value sits at its edge is extended once past that edge (`extend_once`) and `Tuning.notes` says
so, in words the page shows. The hybrid's weight runs over [0, 1] with 0 (ALS alone) allowed: nothing lies past
those edges, so that grid is never extended."""
from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Callable

import numpy as np
import pandas as pd

from core.common import Progress, no_progress
from core.recsys._base import _standardize
from core.recsys._data import Interactions
from core.recsys._hybrid import Hybrid
from core.recsys._metrics import _batches, _test_users, evaluate, hit_matrix, ranking_scores
from core.recsys._models import ALS, BPR, ContentBased
from core.recsys._split import SplitSpec, TrainData, split_events

ALS_ALPHAS = (20.0,)                # confidence = alpha x weight; regularization is tuned against it
ALS_REGULARIZATIONS = (0.01, 1.0, 10.0, 30.0, 100.0)
HYBRID_WEIGHTS = tuple(np.round(np.linspace(0, 1, 11), 1))
BPR_LEARNING_RATES = (0.005, 0.01, 0.05)
BPR_FACTORS = (32, 64, 128)
BPR_ITERATIONS = (50, 100, 200)     # read off one fit per setting, at these iterations
BPR_TUNING_ROWS = 120_000          # BPR is tuned on the interactions of a sample of users this size at most
EDGE_STEP = {"regularization": 10.0, "learning_rate": 2.0, "factors": 2.0, "iterations": 2.0}   # one step past an edge


@dataclass
class Tuning:
    """Choices made on a validation split carved out of the training interactions (never the test split)."""

    als: list[dict]             # {"alpha", "regularization", "ndcg"} per grid point
    alpha: float
    regularization: float
    weights: list[dict]         # {"weight", "ndcg"} per hybrid weight
    weight: float
    n_users: int                # validation users behind each number
    bpr: list[dict] = field(default_factory=list)          # {"learning_rate", "factors", "iterations", "ndcg"}
    bpr_params: dict = field(default_factory=dict)         # the chosen learning_rate, factors, iterations
    notes: list[str] = field(default_factory=list)         # grids extended past an edge, in words

    def to_dict(self) -> dict:
        return asdict(self)


def extend_once(grid: tuple, best, step: float) -> tuple:
    """The values one step past the edge where `best` sits (a factor `step` beyond it), or () when `best` is inside
    the grid. Called once per grid: an extension is never extended again."""
    values = sorted(grid)
    if best == values[-1]:
        return (type(best)(best * step),)
    if best == values[0] and len(values) > 1:
        return (type(best)(best / step),)
    return ()


def _edge_note(what: str, grid: tuple, best_before, extra: tuple, best_after) -> str:
    side = "largest" if extra[0] > best_before else "smallest"
    kept = (f"{best_after:g} did better, so it is used" if best_after != best_before else
            f"{best_before:g} stayed best")
    return (f"The best {what} of the first grid ({', '.join(f'{v:g}' for v in grid)}) was its {side}, "
            f"{best_before:g}, so the grid was extended once, to {extra[0]:g}: {kept}.")


def tune(data: Interactions, train_events: pd.DataFrame, spec: SplitSpec, progress: Progress = no_progress,
         k: int = 10) -> Tuning:
    """Pick ALS's (alpha, regularization), BPR's settings and the hybrid weight by NDCG@k on a validation split of
    the training data."""
    fit_events, val_events = split_events(train_events, SplitSpec(spec.method, spec.test_share, spec.last_n,
                                                                  spec.seed + 1))
    train = TrainData.build(fit_events, data)
    n_val = val_events.loc[data.liked(val_events["rating"].to_numpy()), "user"].nunique()
    if n_val == 0:              # too little data to validate anything: the usual defaults, said as such
        return Tuning(als=[], alpha=ALS_ALPHAS[0], regularization=30.0, weights=[], weight=0.3, n_users=0)
    notes: list[str] = []

    def ndcg(model, key: str) -> float:
        return evaluate({key: model}, train, val_events, data).metrics(key, k)["ndcg"]

    fitted: dict[float, ALS] = {}

    def als_score(reg: float) -> float:
        progress(0.5 * len(fitted) / len(ALS_REGULARIZATIONS), f"Tuning ALS on a validation split: regularization "
                                                                 f"{reg:g}")
        fitted[reg] = ALS(regularization=reg, alpha=ALS_ALPHAS[0], seed=spec.seed, threads=1).fit(train)
        return ndcg(fitted[reg], "als")

    scores, reg = _search(ALS_REGULARIZATIONS, als_score, "ALS regularization", EDGE_STEP["regularization"], notes)
    als_grid = [{"alpha": ALS_ALPHAS[0], "regularization": r, "ndcg": v} for r, v in scores.items()]
    bpr_train, bpr_val = _sample_users(fit_events, val_events, data, spec.seed, notes)
    bpr_grid, bpr_params = _tune_bpr(bpr_train, bpr_val, data, spec.seed, k, notes,
                                     lambda f, m: progress(0.5 + 0.35 * f, m))
    weights, weight = [], 0.0
    if data.has_features:
        progress(0.9, "Tuning the hybrid's content weight on the validation split")
        hybrid = Hybrid(ContentBased().fit(train, data), fitted[reg], 0.0).fit(train, data)
        weights = _weight_curve(hybrid, train, val_events, data, k)
        weight = max(weights, key=lambda g: g["ndcg"])["weight"]
    return Tuning(als=als_grid, alpha=ALS_ALPHAS[0], regularization=reg, weights=weights, weight=weight,
                  n_users=n_val, bpr=bpr_grid, bpr_params=bpr_params, notes=notes)


def _search(grid: tuple, score: Callable[[float], float], what: str, step: float,
            notes: list[str]) -> tuple[dict, float]:
    """({value: score}, best value) over `grid`, extended once past an edge where the best value sits."""
    scores = {value: score(value) for value in grid}
    best = max(scores, key=scores.get)
    extra = extend_once(grid, best, step)
    if extra:
        scores.update({value: score(value) for value in extra})
        after = max(scores, key=scores.get)
        notes.append(_edge_note(what, grid, best, extra, after))
        best = after
    return dict(sorted(scores.items())), best


# ---------------------------------------------------------------- BPR
def _sample_users(fit_events: pd.DataFrame, val_events: pd.DataFrame, data: Interactions, seed: int,
                  notes: list[str]) -> tuple[TrainData, pd.DataFrame]:
    """The validation data BPR is tuned on: every user while the fit part has at most `BPR_TUNING_ROWS`
    interactions, else a seeded sample of users with about that many (each BPR fit costs time in proportion)."""
    if len(fit_events) <= BPR_TUNING_ROWS:
        return TrainData.build(fit_events, data), val_events
    users = fit_events["user"].unique()
    rng = np.random.default_rng(seed)
    keep = rng.choice(users, max(1, int(len(users) * BPR_TUNING_ROWS / len(fit_events))), replace=False)
    part = fit_events[fit_events["user"].isin(keep)]
    notes.append(f"BPR was tuned on {len(keep):,} of the {len(users):,} users ({len(part):,} interactions), to keep "
                 "each trial fit short.")
    return TrainData.build(part, data), val_events[val_events["user"].isin(keep)]


def _tune_bpr(train: TrainData, val_events: pd.DataFrame, data: Interactions, seed: int, k: int,
              notes: list[str], progress: Progress) -> tuple[list[dict], dict]:
    """Coordinate search: learning rate (at 64 factors), then factors (at the best rate); every fit runs to the
    last of `BPR_ITERATIONS` and is read at each of them, so iterations cost no extra fits."""
    records: list[dict] = []

    def run(learning_rate: float, factors: int, iterations: tuple = BPR_ITERATIONS) -> float:
        progress(min(len(records) / (3 * len(BPR_ITERATIONS) * 2), 0.95),
                 f"Tuning BPR: learning rate {learning_rate:g}, {factors} factors")
        found = _bpr_curve(train, val_events, data, seed, k, learning_rate, factors, iterations)
        records.extend(found)
        return max(r["ndcg"] for r in found)

    _rates, rate = _search(BPR_LEARNING_RATES, lambda lr: run(lr, 64), "BPR learning rate",
                           EDGE_STEP["learning_rate"], notes)
    found = {r["factors"]: r["ndcg"] for r in records if r["learning_rate"] == rate}
    _factors, factors = _search(BPR_FACTORS, lambda f: found[f] if f in found else run(rate, f), "number of BPR factors",
                                EDGE_STEP["factors"], notes)
    best_iterations = _best(records, rate, factors)["iterations"]
    extra = extend_once(BPR_ITERATIONS, best_iterations, EDGE_STEP["iterations"])
    if extra:
        run(rate, factors, extra)
        after = _best(records, rate, factors)["iterations"]
        notes.append(_edge_note("number of BPR iterations", BPR_ITERATIONS, best_iterations, extra, after))
    best = _best(records, None, None)
    return records, {key: best[key] for key in ("learning_rate", "factors", "iterations")}


def _best(records: list[dict], rate, factors) -> dict:
    pool = [r for r in records if (rate is None or r["learning_rate"] == rate) and
            (factors is None or r["factors"] == factors)]
    return max(pool, key=lambda r: (r["ndcg"], -r["iterations"]))


def _bpr_curve(train: TrainData, val_events: pd.DataFrame, data: Interactions, seed: int, k: int,
               learning_rate: float, factors: int, iterations: tuple) -> list[dict]:
    """Validation NDCG@k of one BPR fit read at each of `iterations` (the fit stops at the last one)."""
    marks, out = set(iterations), []
    model = BPR(factors=factors, iterations=max(iterations), learning_rate=learning_rate, seed=seed)

    def read(iteration: int, *_):
        if iteration + 1 in marks:
            value = evaluate({"bpr": model}, train, val_events, data).metrics("bpr", k)["ndcg"]
            out.append({"learning_rate": learning_rate, "factors": factors, "iterations": iteration + 1,
                        "ndcg": float(value)})

    model.fit(train, data, callback=read)
    return out


# ---------------------------------------------------------------- the hybrid's weight
def _weight_curve(hybrid: Hybrid, train: TrainData, val_events: pd.DataFrame, data: Interactions,
                  k: int) -> list[dict]:
    """Validation NDCG@k of the hybrid for each weight; both parts are scored once and re-blended (at weight 0 the
    hybrid is ALS alone: no place is kept for new items, as `Hybrid` does)."""
    relevant, n_relevant, users = _test_users(val_events, train, data)
    ndcg = {weight: [] for weight in HYBRID_WEIGHTS}
    for batch in _batches(users, train.shape[1]):
        rows, seen = train.liked[batch], train.seen[batch]
        content, collaborative = hybrid.parts(rows, batch)
        z_content, z_collaborative = _standardize(content), _standardize(collaborative)
        for weight in HYBRID_WEIGHTS:
            hybrid.weight = weight
            lists = hybrid.lists(weight * z_content + (1 - weight) * z_collaborative, content, rows, seen, k)
            ndcg[weight].append(ranking_scores(hit_matrix(lists, relevant[batch]), n_relevant[batch], k)["ndcg"])
    return [{"weight": float(w), "ndcg": float(np.concatenate(v).mean())} for w, v in ndcg.items()]
