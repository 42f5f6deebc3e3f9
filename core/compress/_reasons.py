"""Does compression change the model's reasons? Global SHAP importances (mean |SHAP| per input) of every variant on
at least ROWS rows, compared with the original's by Spearman rank correlation, with a bootstrap 95% interval over
those rows, and the sentence that says only what that shows.

Each variant is explained exactly where its model allows — Tree SHAP for scikit-learn ensembles, Deep SHAP for
float PyTorch networks (on a float64 copy; half-precision weights keep their rounded values) — and otherwise
(int8 networks, ONNX Runtime sessions) by Permutation SHAP drawn from a seeded ``numpy.random.Generator``. A
variant is always compared with the original explained by the same method, so the two rankings measure the same
output the same way.
"""
from __future__ import annotations

import numpy as np

from core.compress._data import CompressData
from core.compress._table import TradeoffTable
from core.compress._variant import Variant

ROWS = 100            # rows explained per variant (at least; fewer only when the data has fewer)
BACKGROUND = 25       # background rows for Deep and Permutation SHAP
BOOT = 200            # bootstrap resamples of the explained rows for the interval of the rank correlation
METHOD_WORDS = {"tree": "Tree SHAP (exact)", "deep": "Deep SHAP (exact for these layers)",
                "permutation": "Permutation SHAP (sampled)"}


def _rows(data: CompressData, rows: int, background: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """(background rows from the training split, explained rows: test rows, topped up with training rows)."""
    rng = np.random.default_rng(seed)
    X_bg = data.X_train[rng.choice(len(data.X_train), min(background, len(data.X_train)), replace=False)]
    X = data.X_test[rng.choice(len(data.X_test), min(rows, len(data.X_test)), replace=False)]
    if len(X) < rows:
        extra = data.X_train[rng.choice(len(data.X_train), min(rows - len(X), len(data.X_train)), replace=False)]
        X = np.concatenate([X, extra])
    return X_bg, X


def method_for(v: Variant) -> str:
    """'tree', 'deep' or 'permutation': the exact method the variant's model allows, else the sampled one."""
    module = v.module
    if module is None:
        return "permutation"
    if hasattr(module, "estimators_") or hasattr(module, "_predictors"):
        return "tree"
    try:
        import torch
    except ImportError:  # pragma: no cover - torch is a dependency
        return "permutation"
    if isinstance(module, torch.nn.Module) and all(p.is_floating_point() for p in module.parameters()) and \
            not any("quantized" in type(m).__module__ for m in module.modules()):
        return "deep"
    return "permutation"


def _tree_values(v: Variant, X: np.ndarray) -> np.ndarray:
    import shap
    return np.asarray(shap.TreeExplainer(v.module).shap_values(X, check_additivity=False), dtype=float)


def _deep_values(v: Variant, X_bg: np.ndarray, X: np.ndarray) -> np.ndarray:
    import copy

    import shap
    import torch
    net = copy.deepcopy(v.module).cpu().to(torch.float64).eval()
    explainer = shap.DeepExplainer(net, torch.from_numpy(np.ascontiguousarray(X_bg, dtype=np.float64)))
    return np.asarray(explainer.shap_values(torch.from_numpy(np.ascontiguousarray(X, dtype=np.float64)),
                                            check_additivity=True), dtype=float)


def _permutation_values(v: Variant, X_bg: np.ndarray, X: np.ndarray, seed: int) -> np.ndarray:
    from core.explain import permutation_shap
    phi, _base = permutation_shap(lambda Z: v.run(np.ascontiguousarray(Z, dtype=np.float32)), X.astype(np.float64),
                                  X_bg.astype(np.float64), np.random.default_rng(seed))
    return phi


def shap_values(v: Variant, data: CompressData, rows: int = ROWS, background: int = BACKGROUND, seed: int = 0,
                method: str | None = None) -> tuple[np.ndarray, str]:
    """(|SHAP| per explained row and input (n, m), the method used) of a variant's raw output. Deep SHAP that fails
    on a layer (or whose sums do not hold) falls back to Permutation SHAP."""
    X_bg, X = _rows(data, rows, background, seed)
    method = method or method_for(v)
    try:
        if method == "tree":
            values = _tree_values(v, X)
        elif method == "deep":
            values = _deep_values(v, X_bg, X)
        else:
            values = _permutation_values(v, X_bg, X, seed)
    except Exception:  # noqa: BLE001 - an exact explainer that does not support this variant: sample instead
        method, values = "permutation", _permutation_values(v, X_bg, X, seed)
    values = np.abs(values).reshape(len(X), X.shape[1], -1).sum(axis=2)
    return values, method


def shap_importance(v: Variant, data: CompressData, rows: int = ROWS, background: int = BACKGROUND, seed: int = 0,
                    method: str | None = None) -> np.ndarray:
    """Mean |SHAP| per (transformed) input of a variant's raw output (summed over outputs)."""
    return shap_values(v, data, rows, background, seed, method)[0].mean(axis=0)


def _rank_corr(a: np.ndarray, b: np.ndarray) -> float:
    from scipy.stats import spearmanr
    return float(spearmanr(a, b).statistic) if np.ptp(a) > 0 and np.ptp(b) > 0 else float("nan")


def rank_agreement(reference: np.ndarray, variant: np.ndarray, seed: int = 0) -> tuple[float, float, float]:
    """(Spearman ρ of the mean |SHAP| rankings, and its bootstrap 95% interval over the explained rows)."""
    rho = _rank_corr(reference.mean(axis=0), variant.mean(axis=0))
    rng = np.random.default_rng(seed)
    draws = []
    for _ in range(BOOT):
        idx = rng.integers(0, len(reference), len(reference))
        draws.append(_rank_corr(reference[idx].mean(axis=0), variant[idx].mean(axis=0)))
    draws = np.asarray(draws)
    draws = draws[np.isfinite(draws)]
    if not len(draws):
        return rho, float("nan"), float("nan")
    low, high = np.percentile(draws, [2.5, 97.5])
    return rho, float(low), float(high)


def add_shap_agreement(rows: list[dict], variants: list[Variant], data: CompressData, seed: int = 0) -> None:
    """Each row gets `shap_rank_corr` (ρ against the original explained the same way), its interval and method."""
    references: dict[str, np.ndarray] = {}
    for row, v in zip(rows, variants):
        values, method = shap_values(v, data, seed=seed)
        if method not in references:
            references[method] = values if v is variants[0] else shap_values(variants[0], data, seed=seed,
                                                                            method=method)[0]
        rho, low, high = rank_agreement(references[method], values, seed)
        row.update(shap_rank_corr=rho, shap_rank_low=low, shap_rank_high=high, shap_method=method,
                   shap_rows=len(values))


def reasons_note(table: TradeoffTable, threshold: float = 0.8) -> str | None:
    """What the SHAP rank correlations show, and no more: whether each variant orders the inputs by importance like
    the original on the explained rows, with the interval that says how firmly."""
    rows = [r for r in table.rows if r.get("shap_rank_corr") is not None and r is not table.rows[0]]
    if not rows:
        return None
    n = rows[0].get("shap_rows")
    methods = sorted({METHOD_WORDS.get(r.get("shap_method"), "Permutation SHAP") for r in rows})
    how = (f" Measured on {n or 'the explained'} rows with {' and '.join(methods)}, each variant against the original "
           "explained the same way; intervals are 95% bootstrap intervals over those rows.")

    def text(r) -> str:
        if r.get("shap_rank_low") is None or not np.isfinite(r.get("shap_rank_low", np.nan)):
            return f"'{r['variant']}' ρ {r['shap_rank_corr']:.2f}"
        return f"'{r['variant']}' ρ {r['shap_rank_corr']:.2f} ({r['shap_rank_low']:.2f}–{r['shap_rank_high']:.2f})"

    changed = [r for r in rows if not r["shap_rank_corr"] >= threshold]
    unsure = [r for r in rows if r not in changed and not r.get("shap_rank_low", threshold) >= threshold]
    if changed:
        return (f"These variants order the inputs by importance differently from the original (SHAP rank "
                f"correlation below {threshold}): {', '.join(text(r) for r in changed)}. Check their explanations "
                f"before shipping them.{how}")
    lowest = min(rows, key=lambda r: r["shap_rank_corr"])
    sentence = (f"Every variant orders the inputs by importance like the original (SHAP rank correlation at least "
                f"{threshold}; the lowest is {text(lowest)}).")
    if unsure:
        sentence += (f" For {len(unsure)} of them the interval reaches below {threshold}, so that agreement is not "
                     "firm: " + ", ".join(text(r) for r in unsure) + ".")
    return sentence + how + " This compares the order of the inputs, not the size of each push."
