"""The MLP network itself: `build_mlp` (a seeded `nn.Sequential` of Linear -> activation -> dropout
layers), `forward_plan`, the same forward pass as a plain function without nn.Module dispatch, and `DropoutMasks`,
dropout masks drawn for many training batches at once; and how every
network estimator (MLP and CNN) keeps its weights as plain values (`NetState`, safetensors files).

`build_mlp` is what the estimators train, what a saved model is rebuilt into on load, and what a
DistributedDataParallel job or the compression code can reuse. Torch is imported inside functions only.
"""
from __future__ import annotations

import math
import numbers
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # pragma: no cover - typing only
    import torch
    from torch import nn

ACTIVATIONS = ("relu", "tanh", "gelu", "leaky_relu")
INITS = ("torch", "glorot")   # nn.Linear's own law; Glorot/Xavier uniform on weights and biases (scikit-learn's MLP)


def _activation_module(name: str) -> "nn.Module":
    from torch import nn

    if name == "relu":
        return nn.ReLU()
    if name == "tanh":
        return nn.Tanh()
    if name == "gelu":
        return nn.GELU()
    if name == "leaky_relu":
        return nn.LeakyReLU(0.01)
    raise ValueError(f"Unknown activation '{name}'. Choose one of: {', '.join(ACTIVATIONS)}.")


def hidden_tuple(hidden: Any) -> tuple[int, ...]:
    """Hidden layer widths as a tuple of positive ints; accepts a tuple, a list or a single int."""
    if isinstance(hidden, numbers.Integral):
        hidden = (hidden,)
    try:
        widths = tuple(int(h) for h in hidden)
    except (TypeError, ValueError):
        raise ValueError(f"hidden must be a sequence of layer widths such as (64, 32), got {hidden!r}.") from None
    if any(w < 1 for w in widths):
        raise ValueError(f"Every hidden layer needs at least 1 unit, got {widths}.")
    return widths


def build_mlp(n_in: int, n_out: int, hidden: Sequence[int] = (64, 32), activation: str = "relu",
              dropout: float = 0.0, init: str = "torch", *,
              generator: "torch.Generator | None" = None) -> "nn.Sequential":
    """Linear -> activation -> (dropout) per hidden layer, then a linear output layer, on the CPU.

    `init="torch"`: PyTorch's default `nn.Linear` initialisation, U(±1/sqrt(fan_in)) in effect.
    `init="glorot"`: scikit-learn's MLP initialisation, U(±sqrt(6 / (fan_in + fan_out))) on weights and biases,
    about 1.8× wider on a (64, 32) network over 30 inputs, so ReLU units start further from zero and Adam at
    lr=0.001 gets further in the same epochs (see benchmarks/bench_train.py). With a CPU `generator` the
    initialisation draws only from it (the global RNG is left untouched), so one seed gives the same network
    on every machine and every device it is moved to afterwards.
    """
    import torch
    from torch import nn

    widths = hidden_tuple(hidden)
    if init not in INITS:
        raise ValueError(f"Unknown initialisation '{init}'. Choose one of: {', '.join(INITS)}.")
    layers: list[nn.Module] = []
    fan_in = int(n_in)
    with torch.device("meta"):  # allocate nothing and draw nothing yet; initialised below
        for width in widths:
            layers += [nn.Linear(fan_in, width), _activation_module(activation)]
            if dropout > 0:
                layers.append(nn.Dropout(float(dropout)))
            fan_in = width
        layers.append(nn.Linear(fan_in, int(n_out)))
    net = nn.Sequential(*layers)
    with torch.no_grad():
        for module in net:
            if isinstance(module, nn.Linear):  # real CPU storage (to_empty() would cost 0.3 s on first use)
                module.weight = nn.Parameter(torch.empty(module.out_features, module.in_features))
                module.bias = nn.Parameter(torch.empty(module.out_features))
                if init == "glorot":
                    bound = math.sqrt(6.0 / (module.in_features + module.out_features))
                    module.weight.uniform_(-bound, bound, generator=generator)
                else:  # the law of nn.Linear.reset_parameters, drawn from `generator`
                    nn.init.kaiming_uniform_(module.weight, a=math.sqrt(5), generator=generator)
                    bound = 1.0 / math.sqrt(module.in_features) if module.in_features > 0 else 0.0
                module.bias.uniform_(-bound, bound, generator=generator)
    return net


def forward_plan(net: "nn.Sequential", training: bool) -> Callable:
    """A plain function `forward(x, masks=None)` computing net(x) for a build_mlp network without nn.Module call
    overhead.

    About 20 µs cheaper per small-batch step than net(x) (no hooks, no __call__ dispatch); it reads
    the same Parameter objects, so optimizer updates and load_state_dict are seen. Dropout is
    applied only when `training`: by multiplying with `masks` (one per dropout layer, in order: the rows of the
    batch from `DropoutMasks.batch`) when given, else by F.dropout.
    """
    import torch
    import torch.nn.functional as F
    from torch import nn

    plan: list[tuple[Callable, bool]] = []   # (step, whether it is a dropout layer)
    for module in net:
        if isinstance(module, nn.Linear):
            step = lambda x, w=module.weight, b=module.bias: F.linear(x, w, b)  # noqa: E731
        elif isinstance(module, nn.ReLU):
            step = torch.relu
        elif isinstance(module, nn.Tanh):
            step = torch.tanh
        elif isinstance(module, nn.GELU):
            step = F.gelu
        elif isinstance(module, nn.LeakyReLU):
            step = lambda x, s=module.negative_slope: F.leaky_relu(x, s)  # noqa: E731
        elif isinstance(module, nn.Dropout):
            if training:
                plan.append((lambda x, p=module.p: F.dropout(x, p, True), True))
            continue
        else:  # not a build_mlp layer: fall back to the module itself
            step = module
        plan.append((step, False))
    steps = [step for step, _ in plan]

    def forward(x, masks=None):
        if masks is None:
            for step in steps:
                x = step(x)
            return x
        mask = iter(masks)
        for step, drop in plan:
            x = x * next(mask) if drop else step(x)
        return x

    return forward


class DropoutMasks:
    """Inverted-dropout masks for the training batches of a build_mlp network, drawn for many rows at once.

    The law and the arithmetic are F.dropout's: each unit of each row is kept with probability 1 - p and the kept
    ones are multiplied by 1 / (1 - p) (mask = (u >= p) / (1 - p), u uniform on [0, 1) from torch.rand on the
    device's global RNG). F.dropout draws with bernoulli_ for every batch and layer, ~30 µs for a 64×64 batch on
    the CPU, 15-20% of a small network's step; one torch.rand per layer over an epoch's rows costs ~2 ns a value
    and the batches take row slices (views). `new_epoch()` starts an epoch; `batch(lo, hi)` gives rows lo:hi of it
    (in order), drawing a new block of at most `max_values` values per layer when the last one is used up. `dtype`:
    the activations' type (autocast's under mixed precision), so the product keeps it.
    """

    def __init__(self, net: "nn.Sequential", rows: int, device: "torch.device",
                 dtype: "torch.dtype | None" = None, max_values: int = 2**22):
        from torch import nn

        self.layers: list[tuple[int, float]] = []   # (width, p) of each dropout layer, in order
        width = 0
        for module in net:
            if isinstance(module, nn.Linear):
                width = module.out_features
            elif isinstance(module, nn.Dropout):
                self.layers.append((width, float(module.p)))
        self.rows, self.device, self.dtype = int(rows), device, dtype
        per_row = max(1, sum(w for w, _ in self.layers))
        self.block = max(1, min(self.rows, max_values // per_row))
        self.new_epoch()

    def new_epoch(self) -> None:
        self._lo = self._hi = 0
        self._masks: list = []

    def batch(self, lo: int, hi: int) -> list:
        """The masks of rows lo:hi of this epoch, one per dropout layer (hi - lo rows each)."""
        import torch

        hi = min(hi, self.rows)   # the last batch may be short
        if hi > self._hi:
            self._lo, self._hi = lo, min(self.rows, max(hi, lo + self.block))
            self._masks = [torch.rand(self._hi - lo, width, device=self.device).ge_(p).div_(1 - p).to(self.dtype)
                           for width, p in self.layers]
        return [m[lo - self._lo:hi - self._lo] for m in self._masks]


# ----- weights as plain values (pickle/skops/deepcopy state and safetensors files), shared by the MLP and the CNN
def weights_as_arrays(net: "nn.Module") -> dict:
    """Every weight and buffer of `net` as a name -> numpy array copy (on CPU)."""
    return {k: v.detach().cpu().numpy().copy() for k, v in net.state_dict().items()}


def load_arrays(net: "nn.Module", arrays: dict) -> "nn.Module":
    """Load a `weights_as_arrays` dict into `net` (float arrays as float32) and return it in eval mode."""
    import numpy as np
    import torch

    def tensor(v):
        a = np.asarray(v)
        return torch.from_numpy(np.array(a, dtype=np.float32) if a.dtype.kind == "f" else np.array(a))

    net.load_state_dict({k: tensor(v) for k, v in arrays.items()})
    return net.eval()


class NetState:
    """Pickle / skops / deepcopy state as plain values for an estimator holding a torch network in `net_`: the
    network is stored as its weights (`weights_as_arrays`) and rebuilt on load by the estimator's `_build_net()`."""

    _lean_steps = True  # _optim.step_function may use LeanStep; tests switch it off to compare with optimizer.step()

    def __getstate__(self):
        state = {k: v for k, v in super().__getstate__().items() if k != "net_"}
        if not isinstance(state.get("device"), (str, type(None))):
            state["device"] = str(state["device"])
        net = self.__dict__.get("net_")
        if net is not None:
            state["_net_weights"] = weights_as_arrays(net)
        return state

    def __setstate__(self, state):
        state = self._upgrade_state(dict(state))
        weights = state.pop("_net_weights", None)
        super().__setstate__(state)
        if weights is not None:
            self.net_, self.device_ = load_arrays(self._build_net(), weights), "cpu"

    def _upgrade_state(self, state: dict) -> dict:
        """Defaults for attributes that older saved models lack."""
        return state


def save_safetensors(net: "nn.Module", path) -> None:
    """Every weight of `net` as a safetensors file (the architecture is stored by the caller)."""
    from safetensors.torch import save_file

    save_file({k: v.detach().cpu().contiguous() for k, v in net.state_dict().items()}, str(path))
