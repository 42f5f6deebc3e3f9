"""Pruning a PyTorch MLP, always on a copy: unstructured (global L1 magnitude, zeros kept in a dense network) and
structured (whole hidden neurons removed by importance, their mean output folded into the next bias, then
fine-tuned), which gives a genuinely smaller dense network."""
from __future__ import annotations

import copy

from core.common import ModelDeckError
from core.compress._data import CompressData
from core.compress._fit import _steps, fit_net


def prune_unstructured(net, sparsity: float, data: CompressData | None = None, epochs: int = 0, seed: int = 0):
    """Global L1 magnitude pruning of all Linear weights (a copy), optionally fine-tuned with the mask kept."""
    import torch
    from torch.nn.utils import prune

    pruned = copy.deepcopy(net).eval()
    targets = [(m, "weight") for m in pruned.modules() if isinstance(m, torch.nn.Linear)]
    prune.global_unstructured(targets, pruning_method=prune.L1Unstructured, amount=float(sparsity))
    if data is not None and epochs > 0:
        fit_net(pruned, data.X_train, data.y_train, data.head.task, steps=_steps(len(data.X_train), epochs),
                lr=5e-4, seed=seed)
    for module, name in targets:
        prune.remove(module, name)
    return pruned.eval()


def _mlp_layers(net) -> tuple[list, list]:
    """(Linear layers, activations between them) of a plain Sequential MLP."""
    import torch

    linears = [m for m in net if isinstance(m, torch.nn.Linear)]
    acts = [m for m in net if not isinstance(m, (torch.nn.Linear, torch.nn.Dropout))]
    if len(linears) < 2 or len(acts) != len(linears) - 1:
        raise ModelDeckError("Structured pruning needs a network with at least one hidden layer.")
    return linears, acts


def prune_structured(net, keep_fraction: float, data: CompressData, activation: str, epochs: int = 20,
                     seed: int = 0):
    """Remove the least important hidden neurons (a copy), fold their mean output into the next bias, fine-tune.

    Importance of neuron j = |incoming weights of j| x |outgoing weights of j|. A removed neuron's average
    activation on the training rows is added to the next layer's bias, so the network starts close to the
    original; fine-tuning does the rest. The result is a genuinely smaller dense network.
    """
    import torch

    from core.models import build_mlp

    linears, acts = _mlp_layers(copy.deepcopy(net).eval())
    weights = [(lin.weight.detach().clone(), lin.bias.detach().clone()) for lin in linears]
    x = torch.from_numpy(data.X_train)
    with torch.no_grad():
        for i, act in enumerate(acts):
            (w, b), (w_next, b_next) = weights[i], weights[i + 1]
            h = act(x @ w.T + b)
            importance = w.norm(dim=1) * w_next.norm(dim=0)
            k = max(1, int(round(keep_fraction * len(b))))
            keep = torch.sort(torch.topk(importance, k).indices).values
            drop = torch.ones(len(b), dtype=torch.bool)
            drop[keep] = False
            b_next = b_next + w_next[:, drop] @ h[:, drop].mean(dim=0)
            weights[i] = (w[keep], b[keep])
            weights[i + 1] = (w_next[:, keep], b_next)
            x = h[:, keep]
    hidden = [w.shape[0] for w, _ in weights[:-1]]
    slim = build_mlp(weights[0][0].shape[1], weights[-1][0].shape[0], hidden, activation)
    with torch.no_grad():
        for lin, (w, b) in zip([m for m in slim if isinstance(m, torch.nn.Linear)], weights):
            lin.weight.copy_(w)
            lin.bias.copy_(b)
    if epochs > 0:
        fit_net(slim, data.X_train, data.y_train, data.head.task, steps=_steps(len(data.X_train), epochs),
                lr=1e-3, seed=seed)
    return slim.eval()
