"""The SHAP back-ends, one per method: each builds an explainer once and returns `run(X_t, rng)`.

`run` takes rows already transformed by the pipeline's "prep" step and a ``numpy.random.Generator`` and returns
the model's native SHAP values, base values and outputs (phi (n, m, K), base (K,), out (n, K)); the engine maps
them to the explained output. Tree, Linear and Deep SHAP are exact and draw nothing; Deep SHAP runs on a float64
copy of the PyTorch network (so its additivity check tests DeepLIFT's rules, not float32 rounding). The sampled
methods (Permutation, Kernel, Gradient SHAP) draw only from the generator they are given (core.explain._sampling),
never from numpy's process-wide one, so a result depends on its seed alone, whatever other threads do. Nothing
a back-end holds changes after it is built. shap and torch are imported inside each back-end.
"""
from __future__ import annotations

import copy
from typing import Callable

import numpy as np

from core.explain._sampling import expected_gradients, kernel_shap, permutation_shap

KERNEL_CENTRES = 10                  # k-means centres Kernel SHAP uses as its background
NativeFn = Callable[..., tuple[np.ndarray, np.ndarray, np.ndarray]]   # (X_t, rng) -> (phi, base, out)


def _as3d(phi) -> np.ndarray:
    phi = np.asarray(phi, dtype=float)
    return phi[:, :, None] if phi.ndim == 2 else phi


def _as2d(out) -> np.ndarray:
    out = np.asarray(out, dtype=float)
    return out.reshape(len(out), -1)


def _tree_backend(model, background: np.ndarray) -> NativeFn:
    import shap

    from core.explain._hgb_trees import CategorySplitTrees
    from core.models import has_category_splits
    if hasattr(model, "_predictors"):                  # histogram gradient boosting: raw margin
        model_out = model.decision_function if hasattr(model, "classes_") else model.predict
    else:
        model_out = model.predict_proba if hasattr(model, "classes_") else model.predict
    if has_category_splits(model):                     # category splits as yes/no columns, summed back after
        trees = CategorySplitTrees(model)
        explainer, augment, grouping = shap.TreeExplainer(trees.shap_model), trees.augment, trees.grouping()
    else:
        explainer = shap.TreeExplainer(model)         # path-dependent: exact, no background needed
        augment, grouping = (lambda X: X), None

    def run(X, rng=None):
        phi = _as3d(explainer.shap_values(augment(X), check_additivity=False))
        if grouping is not None:
            phi = np.einsum("nak,ap->npk", phi, grouping)
        return phi, np.atleast_1d(np.asarray(explainer.expected_value, dtype=float)), _as2d(model_out(X))

    def interactions(X) -> np.ndarray:
        """(n, m, m, K) Tree SHAP interaction values of the transformed rows."""
        raw = np.asarray(explainer.shap_interaction_values(augment(X)), dtype=float)
        raw = raw[..., None] if raw.ndim == 3 else raw
        return raw if grouping is None else np.einsum("nabk,ap,bq->npqk", raw, grouping, grouping)
    run.explainer, run.interactions = explainer, interactions
    return run


def _linear_backend(model, background: np.ndarray) -> NativeFn:
    import shap
    # all background rows (a bare array would be subsampled to 100 by shap's default masker)
    explainer = shap.LinearExplainer(model, shap.maskers.Independent(background, max_samples=len(background)))
    model_out = model.decision_function if hasattr(model, "classes_") else model.predict

    def run(X, rng=None):
        phi = _as3d(explainer.shap_values(X))
        return phi, np.atleast_1d(np.asarray(explainer.expected_value, dtype=float)), _as2d(model_out(X))
    return run


def _torch_net(model, double: bool = True):
    """A private copy of the fitted network on the CPU (the shared model is never hooked); float64 for Deep
    SHAP so its additivity check tests DeepLIFT's rules, not float32 rounding."""
    import torch
    net = copy.deepcopy(model.net_).cpu().to(torch.float64 if double else torch.float32).eval()
    for p in net.parameters():
        p.requires_grad_(False)
    return net


def _deep_backend(model, background: np.ndarray) -> NativeFn:
    import shap
    import torch

    from core.models.torch_mlp import _intra_op_threads
    net = _torch_net(model)
    bg = torch.from_numpy(np.ascontiguousarray(background, dtype=np.float64))
    explainer = shap.DeepExplainer(net, bg)

    def run(X, rng=None):
        x = torch.from_numpy(np.ascontiguousarray(X, dtype=np.float64))
        with _intra_op_threads(1):
            phi = _as3d(explainer.shap_values(x, check_additivity=False))
            with torch.no_grad():
                out = net(x).numpy()
        return phi, np.asarray(explainer.expected_value, dtype=float).ravel(), _as2d(out)
    return run


def _gradient_backend(model, background: np.ndarray) -> NativeFn:
    import shap
    import torch

    from core.models.torch_mlp import _intra_op_threads
    net = _torch_net(model, double=False)               # shap's expected gradients sample in float32
    bg = torch.from_numpy(np.ascontiguousarray(background, dtype=np.float32))
    with torch.no_grad():
        base = net(bg).double().numpy().mean(axis=0)

    def run(X, rng):
        x = torch.from_numpy(np.ascontiguousarray(X, dtype=np.float32))
        with _intra_op_threads(1):
            phi = expected_gradients(net, np.asarray(X, dtype=np.float64), background, rng, samples=200)
            with torch.no_grad():
                out = net(x).double().numpy()
        return phi, base, _as2d(out)
    return run


def _predict_fn(model) -> Callable:
    return model.predict_proba if hasattr(model, "predict_proba") and hasattr(model, "classes_") else model.predict


def _permutation_backend(model, background: np.ndarray) -> NativeFn:
    fn = _predict_fn(model)

    def run(X, rng):
        phi, base = permutation_shap(fn, np.asarray(X, dtype=float), background, rng, permutations=2)
        return phi, base, _as2d(fn(X))
    return run


def _kernel_backend(model, background: np.ndarray) -> NativeFn:
    import shap
    fn = _predict_fn(model)
    centres = shap.kmeans(background, min(KERNEL_CENTRES, len(background)))
    data, weights = np.asarray(centres.data, dtype=float), np.asarray(centres.weights, dtype=float)

    def run(X, rng):
        phi, base = kernel_shap(fn, np.asarray(X, dtype=float), data, rng, samples=2 * X.shape[1] + 2048,
                                weights=weights)
        return phi, base, _as2d(fn(X))
    return run


BACKENDS: dict[str, Callable[..., NativeFn]] = {
    "tree": _tree_backend, "linear": _linear_backend, "deep": _deep_backend, "gradient": _gradient_backend,
    "permutation": _permutation_backend, "kernel": _kernel_backend,
}
