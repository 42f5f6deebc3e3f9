"""The sampled SHAP estimators, drawing every random number from a ``numpy.random.Generator`` passed in.

shap's Permutation, Kernel and Gradient explainers draw from numpy's process-wide generator (and reseed it), so
under Streamlit's threads one session's seed moved another's numbers. These estimators compute the same
quantities with the caller's generator, so a result depends on its seed only, in any thread:

- ``permutation_shap``: antithetic permutation sampling (each random order and its reverse) against background
  rows, as shap's Permutation explainer does; values add up to f(x) - E f(background) by construction.
- ``kernel_shap``: Kernel SHAP (Lundberg & Lee 2017), weighted least squares over feature coalitions with the
  efficiency constraint; every coalition is used when there are few features (exact), else paired samples.
- ``expected_gradients``: Gradient SHAP for PyTorch networks, gradients at random points between sampled
  background rows and the row, times the difference.
"""
from __future__ import annotations

from itertools import combinations
from math import comb

import numpy as np


def _masked_outputs(f, x: np.ndarray, masks: np.ndarray, background: np.ndarray,
                    weights: np.ndarray | None = None) -> np.ndarray:
    """(len(masks), K): the model's output averaged over the background, with features on in a mask taken from x."""
    B = len(background)
    inputs = np.where(np.repeat(masks, B, axis=0), np.tile(x, (len(masks) * B, 1)), np.tile(background, (len(masks), 1)))
    out = np.asarray(f(inputs), dtype=float).reshape(len(masks), B, -1)
    w = np.full(B, 1.0 / B) if weights is None else weights / weights.sum()
    return np.einsum("mbk,b->mk", out, w)


def permutation_shap(f, X: np.ndarray, background: np.ndarray, rng: np.random.Generator,
                     permutations: int = 2) -> tuple[np.ndarray, np.ndarray]:
    """(phi (n, M, K), base (K,)) by `permutations` random orders per row, each walked forwards and backwards."""
    n, M = X.shape
    base = _masked_outputs(f, X[0], np.zeros((1, M), dtype=bool), background)[0]
    phi = np.zeros((n, M, len(base)))
    for i in range(n):
        orders = []
        for _ in range(permutations):
            order = rng.permutation(M)
            orders += [order, order[::-1]]
        steps = np.tril(np.ones((M + 1, M), dtype=bool), -1)            # row j: the first j features of an order
        masks = np.concatenate([steps[:, np.argsort(order)] for order in orders])
        out = _masked_outputs(f, X[i], masks, background).reshape(len(orders), M + 1, -1)
        for p, order in enumerate(orders):
            phi[i, order] += np.diff(out[p], axis=0)
        phi[i] /= len(orders)
    return phi, base


def _coalitions(M: int, budget: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """(masks, weights): every coalition with its Shapley kernel weight when they fit the budget, else paired samples
    (a coalition and its complement) drawn from the kernel's size distribution, weighted equally."""
    sizes = np.arange(1, M)
    if 2 ** M - 2 <= budget:
        masks = [np.isin(np.arange(M), c) for s in sizes for c in combinations(range(M), s)]
        weights = [(M - 1) / (comb(M, int(m.sum())) * m.sum() * (M - m.sum())) for m in masks]
        return np.asarray(masks, dtype=bool), np.asarray(weights)
    p = (M - 1) / (sizes * (M - sizes))
    drawn = rng.choice(sizes, size=budget // 2, p=p / p.sum())
    masks = np.zeros((2 * len(drawn), M), dtype=bool)
    for j, s in enumerate(drawn):
        masks[2 * j, rng.choice(M, size=s, replace=False)] = True
        masks[2 * j + 1] = ~masks[2 * j]
    return masks, np.ones(len(masks))


def kernel_shap(f, X: np.ndarray, background: np.ndarray, rng: np.random.Generator, samples: int,
                weights: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """(phi (n, M, K), base (K,)): the weighted least-squares fit whose values sum to f(x) - E f(background)."""
    n, M = X.shape
    base = _masked_outputs(f, X[0], np.zeros((1, M), dtype=bool), background, weights)[0]
    phi = np.zeros((n, M, len(base)))
    for i in range(n):
        full = _masked_outputs(f, X[i], np.ones((1, M), dtype=bool), background, weights)[0]
        if M == 1:
            phi[i, 0] = full - base
            continue
        masks, w = _coalitions(M, samples, rng)
        y = _masked_outputs(f, X[i], masks, background, weights) - base            # (S, K)
        total = full - base
        # eliminate the last feature with the constraint sum(phi) = total
        Z = masks[:, :-1].astype(float) - masks[:, [-1]].astype(float)
        target = y - masks[:, [-1]].astype(float) * total[None, :]
        Zw = Z * w[:, None]
        coef = np.linalg.lstsq(Zw.T @ Z, Zw.T @ target, rcond=None)[0]         # (M - 1, K)
        phi[i, :-1] = coef
        phi[i, -1] = total - coef.sum(axis=0)
    return phi, base


def expected_gradients(net, X: np.ndarray, background: np.ndarray, rng: np.random.Generator,
                       samples: int = 200) -> np.ndarray:
    """(n, M, K) Gradient SHAP of a PyTorch network's outputs: E[(x - b) · ∇f(b + α(x - b))] over sampled
    background rows b and α ~ U(0, 1)."""
    import torch
    n, M = X.shape
    values = []
    for i in range(n):
        b = background[rng.integers(0, len(background), samples)]
        alpha = rng.random((samples, 1))
        points = torch.from_numpy((b + alpha * (X[i] - b)).astype(np.float32)).requires_grad_(True)
        out = net(points)
        grads = []
        for k in range(out.shape[1]):
            (g,) = torch.autograd.grad(out[:, k].sum(), points, retain_graph=k + 1 < out.shape[1])
            grads.append(g.double().numpy())
        delta = X[i][None, :] - b
        values.append(np.stack([(g * delta).mean(axis=0) for g in grads], axis=-1))
    return np.asarray(values)
