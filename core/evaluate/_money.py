"""The decision threshold in money, and lift / cumulative gains, for two-class problems."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from core.common import ModelDeckError


@dataclass(frozen=True)
class Economics:
    """What each outcome is worth, in the user's currency (costs are positive numbers)."""

    value_tp: float = 100.0      # a positive case caught
    cost_fp: float = 10.0        # a false alarm (e.g. an offer sent to someone who would have stayed)
    cost_fn: float = 100.0       # a positive case missed
    currency: str = "$"


DEFAULT_ECONOMICS = {
    "churn": Economics(value_tp=300.0, cost_fp=30.0, cost_fn=0.0),   # saved customer vs retention offer
    "breast_cancer": Economics(value_tp=1000.0, cost_fp=200.0, cost_fn=5000.0),
}


def default_economics(dataset_key: str) -> Economics:
    return DEFAULT_ECONOMICS.get(dataset_key.split(":")[-1], Economics())


def _is_positive(y_true, positive_label) -> np.ndarray:
    return np.asarray(y_true).astype(str) == str(positive_label)


def profit_curve(y_true, score, positive_label, econ: Economics, thresholds=None) -> pd.DataFrame:
    """Expected profit (total and per row) for flagging rows with score >= threshold."""
    positive = _is_positive(y_true, positive_label)
    score = np.asarray(score, dtype=float)
    if len(score) == 0 or positive.all() or not positive.any():
        raise ModelDeckError("The profit view needs test rows of both classes.")
    thresholds = np.round(np.linspace(0, 1, 101), 2) if thresholds is None else np.asarray(thresholds, float)
    flagged = score[None, :] >= thresholds[:, None]
    tp = (flagged & positive).sum(axis=1)
    fp = (flagged & ~positive).sum(axis=1)
    fn = positive.sum() - tp
    profit = tp * econ.value_tp - fp * econ.cost_fp - fn * econ.cost_fn
    return pd.DataFrame({"threshold": thresholds, "tp": tp, "fp": fp, "fn": fn, "profit": profit,
                         "profit_per_row": profit / len(score), "flagged_share": flagged.mean(axis=1),
                         "rows": len(score)})


def best_threshold(curve: pd.DataFrame) -> pd.Series:
    return curve.loc[curve["profit"].idxmax()]


def gains_table(y_true, score, positive_label, bins: int = 10) -> pd.DataFrame:
    """Cumulative gains and lift by decile of score (highest scores first)."""
    positive = _is_positive(y_true, positive_label)
    order = np.argsort(-np.asarray(score, dtype=float), kind="stable")
    hits = positive[order]
    n = len(hits)
    rows = []
    for k in range(1, bins + 1):
        top = int(round(n * k / bins))
        caught = hits[:top].sum()
        share = top / n
        gain = caught / max(positive.sum(), 1)
        rows.append({"top_share": share, "rows": top, "caught": int(caught), "gain": gain,
                     "lift": gain / share if share else np.nan})
    return pd.DataFrame(rows)


def gains_sentence(gains: pd.DataFrame, positive_label: str, share: float = 0.2) -> str:
    row = gains.iloc[(gains["top_share"] - share).abs().argmin()]
    return (f"Acting on the top {row['top_share']:.0%} of rows by the model's score catches {row['gain']:.0%} of all "
            f"'{positive_label}' cases — {row['lift']:.1f}× better than picking rows at random "
            f"(measured on {int(gains['rows'].iloc[-1]):,} test rows).")


def chosen_profit(oof_y, oof_score, test_y, test_score, positive_label, econ: Economics,
                  default_threshold: float = 0.5) -> dict:
    """The most profitable threshold chosen on out-of-fold predictions of the training rows, then scored once on
    the test rows: {"threshold", "oof_rows", "oof_profit_per_row", "test": row at the chosen threshold,
    "test_default": row at the default threshold}."""
    oof_curve = profit_curve(oof_y, oof_score, positive_label, econ)
    best = best_threshold(oof_curve)
    test = profit_curve(test_y, test_score, positive_label, econ,
                        thresholds=[float(best["threshold"]), default_threshold])
    return {"threshold": float(best["threshold"]), "oof_rows": int(best["rows"]),
            "oof_profit_per_row": float(best["profit_per_row"]), "test": test.iloc[0], "test_default": test.iloc[1]}


def chosen_profit_sentence(choice: dict, econ: Economics, default_threshold: float = 0.5) -> str:
    """The threshold chosen without peeking, and what it earned on the test rows (scored once)."""
    c, test, at_default = econ.currency, choice["test"], choice["test_default"]
    return (f"The most profitable threshold on out-of-fold predictions of the {choice['oof_rows']:,} training rows "
            f"is {choice['threshold']:.2f}. Applied once to the {int(test['rows']):,} test rows it flags "
            f"{test['flagged_share']:.0%} of them and earns {c}{test['profit']:,.0f}, versus "
            f"{c}{at_default['profit']:,.0f} at the usual {default_threshold:.2f}.")


def profit_sentence(curve: pd.DataFrame, econ: Economics, default_threshold: float = 0.5) -> str:
    best = best_threshold(curve)
    at_default = curve.loc[(curve["threshold"] - default_threshold).abs().idxmin()]
    c = econ.currency
    return (f"The most profitable threshold is {best['threshold']:.2f}: flagging {best['flagged_share']:.0%} of rows "
            f"earns {c}{best['profit']:,.0f} on these {int(best['rows']):,} test rows, "
            f"versus {c}{at_default['profit']:,.0f} at the usual 0.50.")
