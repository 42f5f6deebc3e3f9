"""Does compression change the model's reasons? Global SHAP importances of every variant by model-agnostic
Permutation SHAP on a seeded sample, their Spearman rank correlation with the original's, and the sentence
that reads those correlations."""
from __future__ import annotations

import numpy as np

from core.compress._data import CompressData
from core.compress._table import TradeoffTable
from core.compress._variant import Variant


def shap_importance(v: Variant, data: CompressData, rows: int = 20, background: int = 10, seed: int = 0) -> np.ndarray:
    """Mean |SHAP| per (transformed) input of a variant's raw output, by model-agnostic Permutation SHAP on a
    seeded sample, so every variant (PyTorch, ONNX Runtime, scikit-learn) is explained the same way."""
    import shap
    rng = np.random.default_rng(seed)
    X_bg = data.X_train[rng.choice(len(data.X_train), min(background, len(data.X_train)), replace=False)]
    X = data.X_test[rng.choice(len(data.X_test), min(rows, len(data.X_test)), replace=False)]
    explainer = shap.explainers.Permutation(lambda Z: v.run(np.ascontiguousarray(Z, dtype=np.float32)),
                                            shap.maskers.Independent(X_bg), seed=seed)
    values = np.asarray(explainer(X, max_evals=2 * X.shape[1] + 1, silent=True).values)
    return np.abs(values).reshape(len(X), X.shape[1], -1).mean(axis=(0, 2))


def add_shap_agreement(rows: list[dict], variants: list[Variant], data: CompressData, seed: int = 0) -> None:
    """Spearman rank correlation of each variant's global SHAP importances with the original's (row 0)."""
    from scipy.stats import spearmanr
    reference = shap_importance(variants[0], data, seed=seed)
    for row, v in zip(rows, variants):
        imp = reference if v is variants[0] else shap_importance(v, data, seed=seed)
        rho = spearmanr(reference, imp).statistic if np.ptp(imp) > 0 and np.ptp(reference) > 0 else float("nan")
        row["shap_rank_corr"] = float(rho)


def reasons_note(table: TradeoffTable, threshold: float = 0.8) -> str | None:
    """Does compression change the model's reasons? From the SHAP rank correlations in the table."""
    rhos = {r["variant"]: r.get("shap_rank_corr") for r in table.rows if r.get("shap_rank_corr") is not None}
    if not rhos:
        return None
    changed = [f"'{name}' (ρ {rho:.2f})" for name, rho in rhos.items() if not rho >= threshold]
    if not changed:
        return (f"Every variant ranks the inputs by importance like the original (SHAP rank correlation ≥ {threshold}): "
                "compression did not change the model's reasons.")
    return (f"These variants lean on different inputs than the original (SHAP rank correlation below {threshold}): "
            f"{', '.join(changed)}. Check their explanations before shipping them.")
