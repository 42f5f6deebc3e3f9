"""Permutation importance on the test rows: a model-agnostic cross-check of SHAP's ranking.

Each original column is shuffled a few times (seeded) and the drop in accuracy or R² recorded;
`rank_agreement` compares two rankings (top-5 overlap and Spearman correlation).
"""
from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np
import pandas as pd

from core.common import ModelDeckError, Progress, no_progress
from core.explain._methods import single_threaded
from core.explain._result import Explanation


@dataclass
class PermutationResult:
    features: list[str]
    mean: np.ndarray
    std: np.ndarray
    metric: str
    baseline: float
    n_rows: int
    n_repeats: int
    seed: int
    seconds: float

    def series(self) -> pd.Series:
        return pd.Series(self.mean, index=self.features).sort_values(ascending=False)

    def to_dict(self) -> dict:
        return {"features": self.features, "mean": self.mean.tolist(), "std": self.std.tolist(),
                "metric": self.metric, "baseline": self.baseline, "n_rows": self.n_rows,
                "n_repeats": self.n_repeats, "seed": self.seed, "seconds": self.seconds}

    @classmethod
    def from_dict(cls, data: dict) -> "PermutationResult":
        return cls(data["features"], np.asarray(data["mean"]), np.asarray(data["std"]), data["metric"],
                   data["baseline"], data["n_rows"], data["n_repeats"], data["seed"], data["seconds"])


def permutation_importance_test(pipeline, X_test: pd.DataFrame, y_test: pd.Series, task: str, n_repeats: int = 5,
                                seed: int = 0, progress: Progress | None = None) -> PermutationResult:
    """scikit-learn's permutation importance of each original column on the test rows (score drop when
    the column is shuffled), with progress counted through the scorer."""
    from sklearn.inspection import permutation_importance
    from sklearn.metrics import accuracy_score, r2_score
    progress = progress or no_progress
    if len(X_test) < 2:
        raise ModelDeckError("Permutation importance needs at least 2 test rows.")
    metric = "accuracy" if task == "classification" else "r2"
    total = 1 + X_test.shape[1] * n_repeats
    calls = [0]

    def scorer(estimator, X, y):
        calls[0] += 1
        progress(min(calls[0] / total, 1.0), f"Shuffling columns: {calls[0]:,} of {total:,} scores")
        pred = estimator.predict(X)
        return accuracy_score(np.asarray(y).astype(str), np.asarray(pred).astype(str)) if metric == "accuracy" \
            else r2_score(y, pred)
    start = time.perf_counter()
    with single_threaded(pipeline):
        baseline = scorer(pipeline, X_test, y_test)
        calls[0] = 0
        result = permutation_importance(pipeline, X_test, y_test, scoring=scorer, n_repeats=n_repeats,
                                        random_state=seed, n_jobs=1)
    return PermutationResult([str(c) for c in X_test.columns], result.importances_mean, result.importances_std,
                             metric, float(baseline), len(X_test), n_repeats, seed, time.perf_counter() - start)


def rank_agreement(a: pd.Series, b: pd.Series, top: int = 5) -> tuple[int, float]:
    """(how many of a's top columns are in b's top, Spearman correlation of the two rankings)."""
    common = [f for f in a.index if f in b.index]
    top_a = set(a.loc[common].sort_values(ascending=False).index[:top])
    top_b = set(b.loc[common].sort_values(ascending=False).index[:top])
    if len(common) < 2:
        return len(top_a & top_b), float("nan")
    rho = pd.Series(a.loc[common].rank()).corr(pd.Series(b.loc[common].rank()))
    return len(top_a & top_b), float(rho)


def permutation_summary(result: PermutationResult, expl: Explanation | None, k: int, words: tuple[str, str]) -> str:
    s = result.series()
    drop = float(s.iloc[0])
    unit = f"{drop * 100:.1f} points of accuracy" if result.metric == "accuracy" else f"{drop:.3f} of R²"
    text = (f"Shuffling {s.index[0]} on the {result.n_rows:,} test {words[1]} costs {unit}, the most of any column "
            f"({result.n_repeats} shuffles each).")
    if expl is not None:
        overlap, rho = rank_agreement(expl.importance(k), s)
        text += (f" Its top 5 share {overlap} columns with SHAP's top 5 (rank correlation {rho:.2f})"
                 f"{': the two methods agree' if overlap >= 4 else '; where they differ, correlated columns often trade places'}.")
    return text
