"""Optimizers and learning-rate schedules for the MLP: the names the product offers, their titles,
the factories that build the torch objects, and `LeanStep`, a faster optimizer.step() for small batches
(`step_function` says when it applies).

`OPTIMIZERS` (SGD, Momentum, AdaGrad, RMSprop, Adam) is the one list the zoo, the pages and the
optimizer comparison offer, and `OPTIMIZER_TITLES` names exactly those; the estimators also accept
"adamw" (`MLP_OPTIMIZERS`). Torch is imported inside functions only.
"""
from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # pragma: no cover - typing only
    import torch

OPTIMIZER_TITLES = {"sgd": "SGD", "momentum": "Momentum", "adagrad": "AdaGrad", "rmsprop": "RMSprop", "adam": "Adam"}
OPTIMIZERS = tuple(OPTIMIZER_TITLES)            # offered by the zoo, the pages and the optimizer comparison
MLP_OPTIMIZERS = OPTIMIZERS + ("adamw",)        # accepted by TorchMLPClassifier / TorchMLPRegressor
SCHEDULES = ("none", "step", "cosine")


def make_optimizer(name: str, params, *, lr: float, momentum: float, weight_decay: float,
                   device: "torch.device") -> "torch.optim.Optimizer":
    import torch

    # Fused kernels (one call per step for all tensors) exist for these on CPU and CUDA in
    # torch >= 2.4; they cut the optimizer's share of a small-batch step roughly in half.
    fused = {"fused": True} if device.type in ("cpu", "cuda") else {}
    if name == "sgd":
        return torch.optim.SGD(params, lr=lr, momentum=0.0, weight_decay=weight_decay, **fused)
    if name == "momentum":
        return torch.optim.SGD(params, lr=lr, momentum=momentum, nesterov=False, weight_decay=weight_decay, **fused)
    if name == "adagrad":
        return torch.optim.Adagrad(params, lr=lr, weight_decay=weight_decay, **fused)
    if name == "rmsprop":
        return torch.optim.RMSprop(params, lr=lr, weight_decay=weight_decay)
    if name == "adam":
        return torch.optim.Adam(params, lr=lr, weight_decay=weight_decay, **fused)
    if name == "adamw":
        return torch.optim.AdamW(params, lr=lr, weight_decay=weight_decay, **fused)
    raise ValueError(f"Unknown optimizer '{name}'. Choose one of: {', '.join(MLP_OPTIMIZERS)}.")


def make_scheduler(name: str, optimizer, *, step_size: int, gamma: float, epochs: int):
    import torch

    if name == "none":
        return None
    if name == "step":
        return torch.optim.lr_scheduler.StepLR(optimizer, step_size=max(1, int(step_size)), gamma=gamma)
    if name == "cosine":
        return torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=max(1, int(epochs)))
    raise ValueError(f"Unknown schedule '{name}'. Choose one of: {', '.join(SCHEDULES)}.")


def step_function(optimizer, name: str, *, amp: bool, lean: bool = True) -> Callable[[], None]:
    """What one optimizer step calls: `LeanStep` where it applies (one parameter group, no mixed-precision gradient
    scaler, `lean` not switched off), else optimizer.step."""
    if lean and not amp and len(optimizer.param_groups) == 1:
        return LeanStep(optimizer, name)
    return optimizer.step


class LeanStep:
    """optimizer.step() without its per-call wrappers, for small-batch training on CPU.

    torch.optim's step() goes through profiler hooks, dynamo guards and per-step state
    gathering: on a 64-row batch of a small MLP that is ~20% of the whole step. The first call
    runs the real step() (which creates the optimizer state); later calls hand the same state
    lists to torch.optim's own functional update (`torch.optim.adam.adam`, ...), with the group's
    current lr so schedulers keep working. The arithmetic is the library's, so the weights are
    bit-identical to calling step() (tests/test_torch_mlp.py checks this for every optimizer).

    Worth it while it stays >= 15% faster than the best step() (re-measure on a torch upgrade with
    `python -m benchmarks train`). Torch 2.13 CPU, full fit of a (64, 32) MLP, 100 epochs, batch 64,
    medians of 12-15 interleaved runs: Adam 15-21% faster than step() with fused=True on breast
    cancer and digits, every optimizer 12-21% (17% geometric mean; RMSprop, which has no fused
    kernel, gains least). foreach=True was never faster than the default step() on this CPU build.
    Adam and AdamW now call the fused kernel itself (`_fused_adam`): the whole fit 1.38-1.43× faster than
    step() (`python -m benchmarks.bench_train lean_step`, 7 interleaved runs, load 1.5).
    """

    def __init__(self, optimizer, name: str):
        self.optimizer = optimizer
        self.name = name
        self.group = optimizer.param_groups[0]
        self.params = list(self.group["params"])
        self._update = None

    def __call__(self) -> None:
        if self._update is None:
            self.optimizer.step()
            self._update = self._bind()
            return
        import torch

        with torch.no_grad():
            self._update([p.grad for p in self.params], self.group["lr"])

    def _bind(self) -> Callable:
        from torch.optim import adagrad, adam, adamw, rmsprop, sgd

        g, params, name = self.group, self.params, self.name
        state = [self.optimizer.state[p] for p in params]
        if name in ("adam", "adamw"):
            m = [s["exp_avg"] for s in state]
            v = [s["exp_avg_sq"] for s in state]
            steps = [s["step"] for s in state]
            beta1, beta2 = g["betas"]
            one_group = len({(p.device, p.dtype) for p in params}) == 1
            if g["fused"] and not g["amsgrad"] and not g["maximize"] and one_group:
                return self._fused_adam(state, m, v, beta1, beta2)
            fn = adam.adam if name == "adam" else adamw.adamw
            extra = {"decoupled_weight_decay": g.get("decoupled_weight_decay", False)} if name == "adam" else {}
            return lambda grads, lr: fn(params, grads, m, v, [], steps, foreach=g["foreach"], fused=g["fused"],
                                        amsgrad=False, beta1=beta1, beta2=beta2, lr=lr, eps=g["eps"],
                                        weight_decay=g["weight_decay"], maximize=False, **extra)
        if name in ("sgd", "momentum"):
            bufs = [s.get("momentum_buffer") for s in state]
            return lambda grads, lr: sgd.sgd(params, grads, bufs, foreach=g["foreach"], fused=g["fused"],
                                             weight_decay=g["weight_decay"], momentum=g["momentum"], lr=lr,
                                             dampening=g["dampening"], nesterov=g["nesterov"], maximize=False)
        if name == "adagrad":
            sums = [s["sum"] for s in state]
            steps = [s["step"] for s in state]
            return lambda grads, lr: adagrad.adagrad(params, grads, sums, steps, fused=g["fused"],
                                                     foreach=g["foreach"], lr=lr, weight_decay=g["weight_decay"],
                                                     lr_decay=g["lr_decay"], eps=g["eps"], maximize=False)
        if name == "rmsprop":
            square = [s["square_avg"] for s in state]
            grad_avg = [s["grad_avg"] for s in state] if g["centered"] else []
            bufs = [s["momentum_buffer"] for s in state] if g["momentum"] > 0 else []
            steps = [s["step"] for s in state]
            return lambda grads, lr: rmsprop.rmsprop(params, grads, square, grad_avg, bufs, steps,
                                                     foreach=g["foreach"], lr=lr, alpha=g["alpha"], eps=g["eps"],
                                                     weight_decay=g["weight_decay"], momentum=g["momentum"],
                                                     centered=g["centered"])
        optimizer = self.optimizer  # unknown optimizer: the regular path
        return lambda grads, lr: optimizer.step()

    def _fused_adam(self, state: list, m: list, v: list, beta1: float, beta2: float) -> Callable:
        """The fused Adam / AdamW kernel itself, for parameters on one device in one dtype: what torch.optim.adam's
        fused path runs after grouping the tensors by device and dtype, ~25 µs a step less. The parameters' step
        counts (all equal) become one shared tensor, counted up once a step instead of by a _foreach_add_ over
        one per parameter (~10 µs); optimizer.step() must then not be called beside this update."""
        import torch

        g, params = self.group, self.params
        decoupled = self.name == "adamw" or g.get("decoupled_weight_decay", False)
        kernel = torch._fused_adamw_ if decoupled else torch._fused_adam_
        step = state[0]["step"]
        for s in state:
            s["step"] = step
        steps = [step] * len(params)

        def update(grads, lr):
            step.add_(1)
            kernel(params, grads, m, v, [], steps, amsgrad=False, lr=lr, beta1=beta1, beta2=beta2,
                   weight_decay=g["weight_decay"], eps=g["eps"], maximize=False, grad_scale=None, found_inf=None)
        return update
