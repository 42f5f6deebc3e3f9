"""Compression: quantization, pruning, distillation and half precision, measured honestly → TradeoffTable.

Works on the PyTorch MLP of a run (family "mlp"; the Pipeline's step "model" holds `net_`) and, for
random-forest and gradient-boosting runs, on the number and depth of trees. The run's fitted pipeline is
never modified: every variant starts from a deep copy of the network or estimator.

Each variant is a function from preprocessed float32 rows to raw outputs (logits, probabilities or values),
saved as an artifact file whose bytes on disk are reported (and gzip-compressed bytes, which is where
unstructured sparsity shows). Latency is measured at batch 1 and 256 with warm-up, a fixed thread count,
variants alternated in rounds, median and p90; a row whose p90 is over twice its median is flagged noisy.
The baseline for the ratios is the fastest fp32 option measured (PyTorch eager or ONNX Runtime).

Quantization goes through `QUANT_BACKENDS` (one small adapter), so the backend can change (e.g. torchao).
"""
from __future__ import annotations

import copy
import gzip
import json
import math
import os
import platform
import shutil
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np
import pandas as pd

from core.common import ModelDeckError

Progress = Callable[..., None]
TREE_FAMILIES = ("random_forest", "hist_gb")
RESULT_FILE = "result.json"
SERVING_FILE = "serving.json"
_INTERESTING_FLAGS = ("avx2", "avx512f", "avx512_vnni", "avx_vnni", "avx512_bf16", "amx_tile", "amx_int8", "amx_bf16")


def _quiet(*_args, **_kwargs) -> None:
    return None


# ---------------------------------------------------------------- options and data
@dataclass(frozen=True)
class CompressOptions:
    """What to try and how to measure it. Defaults keep one run of the page under about a minute."""

    sparsities: tuple[float, ...] = (0.5, 0.8)      # global unstructured magnitude pruning
    keep_fraction: float = 0.5                        # structured pruning: share of hidden neurons kept
    student_hidden: tuple[int, ...] = (16,)           # distillation student widths
    temperature: float = 4.0
    alpha: float = 0.7                                # weight of the soft (teacher) loss
    label_fraction: float = 1.0                       # share of training labels the students may use
    finetune_epochs: int = 20
    distill_epochs: int = 60
    half: bool = True                                 # fp16 / bf16 weight variants
    shap_check: bool = True                           # does compression change the model's reasons? (SHAP ranks)
    onnx: bool = True                                 # ONNX export, parity and ONNX Runtime rows
    threads: int = 1                                  # fixed intra-op threads for every engine
    rounds: int = 5                                   # timing rounds (variants alternated in each)
    repeats: int = 20                                 # batch-1 calls per variant per round (fewer for slow ones)
    seed: int = 42

    def to_dict(self) -> dict:
        return {k: list(v) if isinstance(v, tuple) else v for k, v in asdict(self).items()}

    @classmethod
    def from_dict(cls, data: dict | None) -> "CompressOptions":
        known = {k: tuple(v) if isinstance(v, list) else v for k, v in (data or {}).items()
                 if k in cls.__dataclass_fields__}
        return cls(**known)

    def check(self) -> "CompressOptions":
        if any(not 0.0 < s < 1.0 for s in self.sparsities):
            raise ModelDeckError("Sparsities are shares of weights to remove: pick values between 0.3 and 0.9.")
        if not 0.05 <= self.keep_fraction < 1.0:
            raise ModelDeckError("Structured pruning keeps between 5% and 99% of the hidden neurons.")
        if not self.student_hidden or any(w < 1 for w in self.student_hidden):
            raise ModelDeckError("The student needs at least one hidden layer with at least 1 unit, e.g. 16.")
        if not 0.0 <= self.alpha <= 1.0 or self.temperature <= 0:
            raise ModelDeckError("Distillation needs a temperature above 0 and a mix α between 0 and 1.")
        if not 0.01 <= self.label_fraction <= 1.0:
            raise ModelDeckError("The label budget is a share between 1% and 100% of the training rows.")
        if self.threads < 1 or self.rounds < 1 or self.repeats < 1:
            raise ModelDeckError("Threads, rounds and repeats must be at least 1.")
        return self


@dataclass
class Head:
    """Turns a variant's raw outputs into predictions: logits/probabilities -> labels, scaled values -> values."""

    task: str
    classes: np.ndarray | None = None
    y_mean: float = 0.0
    y_scale: float = 1.0

    def predict(self, out: np.ndarray, scaled: bool = True) -> np.ndarray:
        out = np.asarray(out, dtype=np.float64).reshape(len(out), -1)
        if self.task == "classification":
            return self.classes[out.argmax(axis=1)]
        return out[:, 0] * self.y_scale + self.y_mean if scaled else out[:, 0]


@dataclass
class CompressData:
    """The run's split after its own (fitted) preprocessing, as float32 rows."""

    X_train: np.ndarray
    y_train: np.ndarray      # class indices (classification) or standardised targets (regression, MLP)
    X_test: np.ndarray
    y_test: np.ndarray       # raw test labels / values
    head: Head


def _dense32(X) -> np.ndarray:
    X = X.toarray() if hasattr(X, "toarray") else X
    return np.ascontiguousarray(np.asarray(X, dtype=np.float32))


def prepare_data(pipeline, split) -> CompressData:
    """Transform the run's train/test rows with the pipeline's fitted preprocessing (nothing is refitted)."""
    prep, model = pipeline.named_steps["prep"], pipeline.named_steps["model"]
    X_train, X_test = _dense32(prep.transform(split.X_train)), _dense32(prep.transform(split.X_test))
    y_train, y_test = np.asarray(split.y_train), np.asarray(split.y_test)
    if hasattr(model, "classes_"):
        head = Head("classification", classes=np.asarray(model.classes_))
        y_enc = pd.Index(head.classes).get_indexer(y_train).astype(np.int64)
    else:
        mean = float(np.ravel(getattr(model, "y_mean_", [0.0]))[0])
        scale = float(np.ravel(getattr(model, "y_scale_", [1.0]))[0])
        head = Head("regression", y_mean=mean, y_scale=scale)
        y_enc = ((y_train.astype(np.float64) - mean) / scale).astype(np.float32)
    return CompressData(X_train, y_enc, X_test, y_test, head)


# ---------------------------------------------------------------- variants
@dataclass
class Variant:
    """One compressed (or original) model: how to run it, where it is saved, how big it is."""

    name: str
    method: str              # baseline | quantize | half | prune | structured | distill | student | combo | trees
    engine: str              # PyTorch | ONNX Runtime | scikit-learn
    run: Callable[[np.ndarray], np.ndarray]
    artifact: Path
    params: int
    nonzero: int
    scaled: bool = True      # raw output is a standardised regression value (MLP) rather than the value itself
    note: str = ""
    onnx_file: str | None = None
    parity: dict | None = None
    module: object = None    # the PyTorch module (for export); not saved


def _torch_runner(net) -> Callable[[np.ndarray], np.ndarray]:
    import torch

    def run(X: np.ndarray) -> np.ndarray:
        with torch.inference_mode():
            return net(torch.from_numpy(X)).float().numpy()
    return run


def count_params(net) -> tuple[int, int]:
    """(parameters, non-zero parameters) of a float or dynamically quantized network."""
    import torch
    from torch.ao.nn.quantized import dynamic as qdyn

    total = nonzero = 0
    for module in net.modules():
        if isinstance(module, qdyn.Linear):
            tensors = [module.weight().int_repr(), module.bias()]
        elif isinstance(module, torch.nn.Linear):
            tensors = [module.weight, module.bias]
        else:
            continue
        for t in tensors:
            if t is not None:
                total += t.numel()
                nonzero += int(torch.count_nonzero(t.detach()))
    return total, nonzero


def _save_torch(net, folder: Path, name: str) -> Path:
    """Float networks as safetensors (in their own dtype); quantized ones as a torch state dict (.pt)."""
    import torch
    from safetensors.torch import save_file

    state = net.state_dict()
    quantized = any(not isinstance(v, torch.Tensor) or v.is_quantized for v in state.values())
    path = folder / f"{_slug(name)}.{'pt' if quantized else 'safetensors'}"
    tmp = path.with_name(path.name + ".tmp")
    if quantized:
        torch.save(state, str(tmp))
    else:
        save_file({k: v.detach().contiguous() for k, v in state.items()}, str(tmp))
    os.replace(tmp, path)
    return path


def _torch_variant(name: str, method: str, net, folder: Path, note: str = "") -> Variant:
    net = net.eval()
    path = _save_torch(net, folder, name)
    params, nonzero = count_params(net)
    return Variant(name, method, "PyTorch", _torch_runner(net), path, params, nonzero, note=note, module=net)


def _slug(name: str) -> str:
    return "".join(c if c.isalnum() else "_" for c in name.lower()).strip("_")[:60]


# ---------------------------------------------------------------- quantization adapter
def _quantize_torch_ao(net):
    """Dynamic int8 Linear layers through torch.ao (x86 engine; deprecated upstream but works on torch 2.13)."""
    import warnings

    import torch

    engines = torch.backends.quantized.supported_engines
    torch.backends.quantized.engine = "x86" if "x86" in engines else engines[-1]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return torch.ao.quantization.quantize_dynamic(copy.deepcopy(net).eval(), {torch.nn.Linear},
                                                      dtype=torch.qint8)


QUANT_BACKENDS: dict[str, Callable] = {"torch.ao": _quantize_torch_ao}
DEFAULT_QUANT_BACKEND = "torch.ao"


def quantize_int8(net, backend: str = DEFAULT_QUANT_BACKEND):
    """A dynamically int8-quantized copy of `net` (the input network is not changed)."""
    if backend not in QUANT_BACKENDS:
        raise ModelDeckError(f"Unknown quantization backend '{backend}'. Choose one of: {', '.join(QUANT_BACKENDS)}.")
    return QUANT_BACKENDS[backend](net)


class _CastInput:
    """Builds an nn.Module that runs a half-precision copy: input cast to dtype, output back to float32."""

    @staticmethod
    def wrap(net, dtype):
        import torch

        class CastInput(torch.nn.Module):
            def __init__(self, inner):
                super().__init__()
                self.inner = inner

            def forward(self, x):
                return self.inner(x.to(dtype)).float()

        return CastInput(copy.deepcopy(net).to(dtype).eval())


def half_precision(net, dtype_name: str):
    """fp16 or bf16 weights (a copy); inputs are cast on the way in, outputs back to float32."""
    import torch

    return _CastInput.wrap(net, {"fp16": torch.float16, "bf16": torch.bfloat16}[dtype_name])


# ---------------------------------------------------------------- training helper (fine-tune, distill)
def _loss_parts(task: str):
    import torch.nn.functional as F

    if task == "classification":
        hard = F.cross_entropy

        def soft(student, teacher, T):
            return F.kl_div(F.log_softmax(student / T, 1), F.softmax(teacher / T, 1), reduction="batchmean") * T * T
    else:
        def hard(out, y):
            return F.mse_loss(out[:, 0], y)

        def soft(student, teacher, T):
            return F.mse_loss(student, teacher)
    return hard, soft


def fit_net(net, X: np.ndarray, y: np.ndarray, task: str, *, steps: int, lr: float = 2e-3, batch: int = 64,
            seed: int = 0, teacher_out: np.ndarray | None = None, labelled: np.ndarray | None = None,
            temperature: float = 4.0, alpha: float = 0.7, progress: Progress = _quiet) -> object:
    """Train `net` in place for `steps` Adam steps; with teacher outputs, mix soft (α) and hard (1-α) losses.

    `labelled` is a boolean mask of the rows whose labels may be used (the label budget); rows without a
    label contribute only the teacher's soft targets. Without a teacher only labelled rows are used.
    """
    from core.models.torch_mlp import _intra_op_threads

    with _intra_op_threads(1):   # small networks: OpenMP threads cost more than they give (see torch_mlp)
        return _fit_loop(net, X, y, task, steps, lr, batch, seed, teacher_out, labelled, temperature, alpha, progress)


def _fit_loop(net, X, y, task, steps, lr, batch, seed, teacher_out, labelled, temperature, alpha, progress):
    import torch

    hard, soft = _loss_parts(task)
    if labelled is None:
        labelled = np.ones(len(X), dtype=bool)
    if teacher_out is None:
        X, y, labelled = X[labelled], y[labelled], labelled[labelled]
    Xt, yt, mask = torch.from_numpy(X), torch.from_numpy(y), torch.from_numpy(labelled)
    tt = None if teacher_out is None else torch.from_numpy(np.ascontiguousarray(teacher_out, dtype=np.float32))
    generator = torch.Generator().manual_seed(int(seed))
    optimizer = torch.optim.Adam(net.parameters(), lr=lr)
    net.train()
    n, step = len(Xt), 0
    while step < steps:
        order = torch.randperm(n, generator=generator)
        for lo in range(0, n, batch):
            idx = order[lo:lo + batch]
            out = net(Xt[idx])
            m = mask[idx]
            loss = hard(out[m], yt[idx][m]) if bool(m.any()) else out.sum() * 0.0
            if tt is not None:
                loss = alpha * soft(out, tt[idx], temperature) + (1.0 - alpha) * loss
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            step += 1
            if step % 50 == 0:
                progress(step / steps, f"step {step}/{steps}")
            if step >= steps:
                break
    return net.eval()


def _steps(n_rows: int, epochs: int, batch: int = 64) -> int:
    return max(1, int(epochs) * math.ceil(n_rows / batch))


# ---------------------------------------------------------------- pruning
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


def _mlp_layers(net) -> tuple[list, type]:
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

    from core.models.torch_mlp import build_mlp

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


# ---------------------------------------------------------------- distillation
def label_budget(y: np.ndarray, fraction: float, seed: int, task: str) -> np.ndarray:
    """Boolean mask of the training rows whose labels may be used (stratified for classification)."""
    n = len(y)
    if fraction >= 1.0:
        return np.ones(n, dtype=bool)
    from sklearn.model_selection import train_test_split

    k = max(2, int(round(fraction * n)))
    idx = np.arange(n)
    try:
        chosen, _ = train_test_split(idx, train_size=k, random_state=seed,
                                     stratify=y if task == "classification" else None)
    except ValueError:
        chosen, _ = train_test_split(idx, train_size=k, random_state=seed)
    mask = np.zeros(n, dtype=bool)
    mask[chosen] = True
    return mask


def distill(teacher, data: CompressData, hidden: tuple[int, ...], activation: str, *, temperature: float = 4.0,
            alpha: float = 0.7, label_fraction: float = 1.0, epochs: int = 60, seed: int = 0,
            progress: Progress = _quiet) -> tuple[object, object]:
    """(distilled student, the same student trained without distillation on the same label budget).

    Both start from the same seeded weights and take the same number of optimizer steps. The distilled one
    also sees every training row as an unlabelled transfer set through the teacher's softened outputs.
    """
    import torch

    from core.models.torch_mlp import build_mlp

    n_in, n_out = data.X_train.shape[1], teacher[-1].out_features
    labelled = label_budget(data.y_train, label_fraction, seed, data.head.task)
    with torch.inference_mode():
        teacher_out = teacher(torch.from_numpy(data.X_train)).float().numpy()
    steps = _steps(len(data.X_train), epochs)

    def student():
        return build_mlp(n_in, n_out, hidden, activation, generator=torch.Generator().manual_seed(int(seed)))

    distilled = fit_net(student(), data.X_train, data.y_train, data.head.task, steps=steps, seed=seed,
                        teacher_out=teacher_out, labelled=labelled, temperature=temperature, alpha=alpha,
                        progress=lambda f, m: progress(0.5 * f, f"distilled student: {m}"))
    plain = fit_net(student(), data.X_train, data.y_train, data.head.task, steps=steps, seed=seed,
                    labelled=labelled, progress=lambda f, m: progress(0.5 + 0.5 * f, f"plain student: {m}"))
    return distilled, plain


# ---------------------------------------------------------------- building the variants
def _mlp_network(pipeline):
    model = pipeline.named_steps["model"]
    net = getattr(model, "net_", None)
    if net is None:
        raise ModelDeckError("This run's model has no PyTorch network to compress.")
    return copy.deepcopy(net).cpu().eval(), model._net_arch["activation"]


def _fmt_layers(hidden) -> str:
    return "×".join(str(h) for h in hidden)


def mlp_variants(pipeline, data: CompressData, options: CompressOptions, folder: Path,
                 progress: Progress = _quiet) -> list[Variant]:
    """The PyTorch variants of a run's MLP (all built from copies)."""
    import torch

    net, activation = _mlp_network(pipeline)
    seed = options.seed
    torch.manual_seed(seed)
    variants = [_torch_variant("fp32 (PyTorch)", "baseline", net, folder, "the trained network as is")]
    progress(0.05, "Quantizing to int8")
    variants.append(_torch_variant("int8 dynamic (PyTorch)", "quantize", quantize_int8(net), folder,
                                   f"Linear weights int8 ({DEFAULT_QUANT_BACKEND}), activations quantized per batch"))
    if options.half:
        for dtype in ("fp16", "bf16"):
            variants.append(_torch_variant(f"{dtype} weights (PyTorch)", "half", half_precision(net, dtype), folder,
                                           f"weights stored and computed in {dtype}"))
    for i, sparsity in enumerate(options.sparsities):
        progress(0.1 + 0.15 * i / max(1, len(options.sparsities)), f"Pruning {sparsity:.0%} of the weights")
        pruned = prune_unstructured(net, sparsity, data, epochs=max(1, options.finetune_epochs // 2), seed=seed)
        variants.append(_torch_variant(f"pruned {sparsity:.0%} unstructured", "prune", pruned, folder,
                                       "zeros stay in a dense file: only the gzip size shrinks"))
    progress(0.25, "Removing neurons (structured pruning) and fine-tuning")
    slim = prune_structured(net, options.keep_fraction, data, activation, options.finetune_epochs, seed)
    slim_hidden = [m.out_features for m in slim if isinstance(m, torch.nn.Linear)][:-1]
    slim_name = f"structured {options.keep_fraction:.0%} neurons kept"
    variants.append(_torch_variant(slim_name, "structured", slim, folder,
                                   f"hidden layers {_fmt_layers(slim_hidden)} after fine-tuning"))
    variants.append(_torch_variant("structured + int8 (PyTorch)", "combo", quantize_int8(slim), folder,
                                   "prune then quantize"))
    progress(0.4, "Distilling a student")
    distilled, plain = distill(net, data, options.student_hidden, activation, temperature=options.temperature,
                               alpha=options.alpha, label_fraction=options.label_fraction,
                               epochs=options.distill_epochs, seed=seed,
                               progress=lambda f, m: progress(0.4 + 0.25 * f, m))
    budget = f"{options.label_fraction:.0%} of the labels"
    arch = _fmt_layers(options.student_hidden)
    variants.append(_torch_variant(f"student {arch} distilled", "distill", distilled, folder,
                                   f"T={options.temperature:g}, α={options.alpha:g}, {budget}"))
    variants.append(_torch_variant(f"student {arch} no distillation", "student", plain, folder,
                                   f"same student, same steps, {budget}, no teacher"))
    variants.append(_torch_variant("distilled + int8 (PyTorch)", "combo", quantize_int8(distilled), folder,
                                   "distill then quantize"))
    return variants


def onnx_variants(base: Variant, variants: list[Variant], data: CompressData, options: CompressOptions,
                  folder: Path, progress: Progress = _quiet) -> list[Variant]:
    """Export every fp32 PyTorch variant (parity checked), plus ONNX Runtime fp32 / int8 dynamic / int8 static rows."""
    from core.compress import _export as export

    classification = data.head.task == "classification"
    for i, v in enumerate(variants):
        if v.engine != "PyTorch" or v.method in ("quantize", "half", "combo"):
            continue
        progress(i / len(variants), f"Exporting '{v.name}' to ONNX")
        path = export.export_torch(v.module, data.X_train.shape[1], folder / f"{_slug(v.name)}.onnx")
        onnx_model = export.OnnxModel(path, options.threads)
        check = export.parity(v.run(data.X_test), onnx_model.raw(data.X_test), classification)
        v.onnx_file, v.parity = path.name, asdict(check) | {"ok": check.ok}
    fp32_path = folder / base.onnx_file
    rows = [("fp32 (ONNX Runtime)", "baseline", fp32_path, "the same network through ONNX Runtime")]
    progress(0.9, "Quantizing the ONNX model with ONNX Runtime")
    dyn = export.quantize_onnx_dynamic(fp32_path, folder / "int8_dynamic_onnx_runtime.onnx")
    rows.append(("int8 dynamic (ONNX Runtime)", "quantize", dyn, "ORT quantize_dynamic, weights int8"))
    calib = data.X_train[np.random.default_rng(options.seed).permutation(len(data.X_train))[:256]]
    static = export.quantize_onnx_static(fp32_path, folder / "int8_static_qdq_onnx_runtime.onnx", calib)
    rows.append(("int8 static QDQ (ONNX Runtime)", "quantize", static,
                 f"ORT quantize_static, calibrated on {len(calib)} training rows"))
    out = []
    for name, method, path, note in rows:
        model = export.OnnxModel(path, options.threads)
        out.append(Variant(name, method, "ONNX Runtime", model.raw, path, base.params, base.nonzero, note=note,
                           onnx_file=path.name))
    return out


def _tree_nodes(est) -> int:
    if hasattr(est, "estimators_"):
        return int(sum(t.tree_.node_count for t in np.ravel(est.estimators_)))
    if hasattr(est, "_predictors"):
        return int(sum(len(p.nodes) for it in est._predictors for p in it))
    return 0


def _sklearn_runner(est, task: str) -> Callable[[np.ndarray], np.ndarray]:
    if task == "classification":
        return est.predict_proba
    return lambda X: np.asarray(est.predict(X), dtype=np.float64).reshape(len(X), -1)


def _tree_settings(est) -> tuple[str, str, int]:
    if hasattr(est, "n_estimators"):
        return "n_estimators", "max_depth", int(est.n_estimators)
    return "max_iter", "max_depth", int(est.max_iter)


def _save_sklearn(est, path: Path) -> Path:
    import skops.io as sio

    tmp = path.with_name(path.name + ".tmp")
    sio.dump(est, tmp)
    os.replace(tmp, path)
    return path


def _sklearn_variant(name: str, method: str, est, data: CompressData, folder: Path, note: str) -> Variant:
    path = _save_sklearn(est, folder / f"{_slug(name)}.skops")
    nodes = _tree_nodes(est)
    return Variant(name, method, "scikit-learn", _sklearn_runner(est, data.head.task), path, nodes, nodes,
                   scaled=False, note=note, module=est)


def tree_variants(pipeline, data: CompressData, options: CompressOptions, folder: Path,
                  progress: Progress = _quiet) -> list[Variant]:
    """Fewer and shallower trees (refitted copies on the same rows) next to the original ensemble."""
    from sklearn.base import clone

    original = copy.deepcopy(pipeline.named_steps["model"])
    if "n_jobs" in original.get_params():
        original.set_params(n_jobs=options.threads)
    count_name, depth_name, count = _tree_settings(original)
    variants = [_sklearn_variant("original ensemble", "baseline", original, data, folder,
                                 f"{count} trees, depth {original.get_params()[depth_name] or 'unlimited'}")]
    counts = sorted({max(2, count // 10), max(2, count // 4), max(2, count // 2)} - {count})
    grid = [(c, None) for c in counts] + [(count, 8), (count, 4), (counts[0] if counts else count, 4)]
    y = data.y_train if data.head.task == "classification" else data.y_train * data.head.y_scale + data.head.y_mean
    for i, (c, depth) in enumerate(grid):
        progress(i / len(grid), f"Refitting with {c} trees, depth {depth or 'as before'}")
        est = clone(original).set_params(**{count_name: c})
        if depth is not None:
            est.set_params(**{depth_name: depth})
        est.fit(data.X_train, y if data.head.task == "regression" else data.head.classes[y])
        depth_text = f"depth ≤ {depth}" if depth else "same depth"
        variants.append(_sklearn_variant(f"{c} trees, {depth_text}", "trees", est, data, folder,
                                         "refitted on the same training rows"))
    return variants


def tree_onnx_variants(variants: list[Variant], data: CompressData, options: CompressOptions,
                       folder: Path) -> list[Variant]:
    """Each ensemble through skl2onnx + ONNX Runtime, parity checked (none, with a note, when no converter exists)."""
    from core.compress import _export as export

    out = []
    for v in variants:
        try:
            path = export.export_sklearn(v.module, data.X_train.shape[1], folder / f"{_slug(v.name)}.onnx")
        except ModelDeckError as exc:
            v.note += f"; no ONNX export ({exc})"
            return out
        model = export.OnnxModel(path, options.threads)
        check = export.parity(v.run(data.X_test), model.raw(data.X_test), data.head.task == "classification")
        v.onnx_file, v.parity = path.name, asdict(check) | {"ok": check.ok}
        out.append(Variant(f"{v.name} (ONNX Runtime)", v.method, "ONNX Runtime", model.raw, path, v.params,
                           v.nonzero, scaled=False, note="skl2onnx export of the same trees", onnx_file=path.name,
                           parity=v.parity))
    return out


# ---------------------------------------------------------------- measurement
def cpu_info() -> dict:
    """CPU model and the instruction-set flags that change int8/bf16 conclusions (VNNI, AMX, AVX-512 BF16)."""
    flags, model = set(), platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("flags") and not flags:
                flags = set(line.split(":", 1)[1].split())
            elif line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
    except OSError:
        pass
    return {"model": model, "cores": os.cpu_count(), "flags": [f for f in _INTERESTING_FLAGS if f in flags]}


def _batch(X: np.ndarray, n: int) -> np.ndarray:
    reps = math.ceil(n / max(len(X), 1))
    return np.ascontiguousarray(np.tile(X, (reps, 1))[:n])


def time_variants(variants: list[Variant], X: np.ndarray, *, threads: int = 1, rounds: int = 5, repeats: int = 20,
                  progress: Progress = _quiet) -> dict[str, dict[str, list[float]]]:
    """Seconds per call at batch 1 and 256 for each variant: warm-up, fixed threads, variants alternated per round.

    Each round visits the variants in turn (reversed every other round), so a slow moment of a shared
    machine hits all of them rather than one. Slow variants get fewer calls per round (at least 3).
    """
    import torch

    one, big = np.ascontiguousarray(X[:1]), _batch(X, 256)
    previous = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        calls = {}
        for v in variants:                       # warm-up, and a call count that bounds each variant's time
            for _ in range(3):
                v.run(one)
                v.run(big)
            start = time.perf_counter()
            v.run(big)
            calls[v.name] = (int(np.clip(0.02 / max(time.perf_counter() - start, 1e-6), 3, repeats)),
                             int(np.clip(0.05 / max(time.perf_counter() - start, 1e-6), 3, max(3, repeats // 2))))
        samples = {v.name: {"b1": [], "b256": []} for v in variants}
        for r in range(rounds):
            progress(r / rounds, f"Timing round {r + 1}/{rounds}")
            for v in (variants if r % 2 == 0 else variants[::-1]):
                n1, n256 = calls[v.name]
                for _ in range(max(n1, 3)):
                    start = time.perf_counter()
                    v.run(one)
                    samples[v.name]["b1"].append(time.perf_counter() - start)
                for _ in range(n256):
                    start = time.perf_counter()
                    v.run(big)
                    samples[v.name]["b256"].append(time.perf_counter() - start)
        return samples
    finally:
        torch.set_num_threads(previous)


def _scores(head: Head, y_true: np.ndarray, y_pred: np.ndarray) -> dict[str, float]:
    from sklearn.metrics import accuracy_score, f1_score, mean_absolute_error, r2_score

    if head.task == "classification":
        return {"accuracy": float(accuracy_score(y_true, y_pred)),
                "f1_macro": float(f1_score(y_true, y_pred, average="macro"))}
    return {"r2": float(r2_score(y_true, y_pred)), "mae": float(mean_absolute_error(y_true, y_pred))}


def _agreement(head: Head, original: np.ndarray, pred: np.ndarray) -> float:
    """Share of test rows with the original's label; for regression, R² of the variant against the original."""
    if head.task == "classification":
        return float(np.mean(original == pred))
    from sklearn.metrics import r2_score
    return float(r2_score(original, pred))


def _gzip_bytes(path: Path) -> int:
    data = Path(path).read_bytes()
    extra = Path(str(path) + ".data")
    if extra.exists():
        data += extra.read_bytes()
    return len(gzip.compress(data, compresslevel=6, mtime=0))


def _row(v: Variant, data: CompressData, timing: dict,
         original_pred: np.ndarray | None) -> tuple[dict, np.ndarray]:
    from core.compress._export import artifact_bytes

    pred = data.head.predict(v.run(data.X_test), scaled=v.scaled)
    b1, b256 = np.asarray(timing["b1"]) * 1e3, np.asarray(timing["b256"]) * 1e3
    row = {"variant": v.name, "method": v.method, "engine": v.engine, "params": v.params, "nonzero": v.nonzero,
           "bytes": artifact_bytes(v.artifact), "gzip_bytes": _gzip_bytes(v.artifact), "artifact": v.artifact.name,
           "b1_ms": float(np.median(b1)), "b1_p90_ms": float(np.percentile(b1, 90)), "b1_runs": len(b1),
           "b256_ms": float(np.median(b256)), "b256_p90_ms": float(np.percentile(b256, 90)), "b256_runs": len(b256)}
    row["throughput_rows_s"] = 256.0 / (row["b256_ms"] / 1e3)
    row["noisy"] = bool(row["b1_p90_ms"] > 2 * row["b1_ms"] or row["b256_p90_ms"] > 2 * row["b256_ms"])
    row.update(_scores(data.head, data.y_test, pred))
    row["agreement"] = 1.0 if original_pred is None else _agreement(data.head, original_pred, pred)
    row["onnx_file"] = v.onnx_file
    row["parity_max_abs_diff"] = v.parity["max_abs_diff"] if v.parity else None
    row["parity_labels_equal"] = v.parity["labels_equal"] if v.parity else None
    row["note"] = v.note
    return row, pred


def _add_ratios(rows: list[dict], metric: str) -> str:
    """Ratios against the fastest fp32 baseline row (batch 1); score change in points against the original."""
    baselines = [r for r in rows if r["method"] == "baseline"]
    base = min(baselines, key=lambda r: r["b1_ms"])
    original = rows[0][metric]
    for r in rows:
        r["size_x"] = base["bytes"] / r["bytes"]
        r["speed_b1_x"] = base["b1_ms"] / r["b1_ms"]
        r["speed_b256_x"] = base["b256_ms"] / r["b256_ms"]
        sign = -1.0 if metric in ("mae", "rmse") else 1.0
        r["delta_points"] = sign * (r[metric] - original) * (100.0 if metric != "mae" else 1.0)
    return base["variant"]


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


# ---------------------------------------------------------------- the result
@dataclass
class TradeoffTable:
    """Every variant measured on the same test split, with the context needed to read the numbers."""

    run_id: str
    family: str
    task: str
    metric: str
    baseline: str
    rows: list[dict]
    threads: int
    cpu: dict
    options: dict
    test_rows: int
    seconds: float = 0.0
    notes: list[str] = field(default_factory=list)
    torch_version: str = ""
    ort_version: str = ""

    def frame(self) -> pd.DataFrame:
        return pd.DataFrame(self.rows)

    def row(self, name: str) -> dict:
        for r in self.rows:
            if r["variant"] == name:
                return r
        raise ModelDeckError(f"There is no variant called '{name}'. Choose one of: "
                             f"{', '.join(r['variant'] for r in self.rows)}.")

    def to_json(self) -> str:
        return json.dumps(asdict(self), indent=1)

    @classmethod
    def from_json(cls, text: str) -> "TradeoffTable":
        return cls(**json.loads(text))


def pareto_front(cost: np.ndarray, score: np.ndarray) -> np.ndarray:
    """Boolean mask of rows not dominated: no other row is at least as cheap and as good, and better in one."""
    cost, score = np.asarray(cost, dtype=float), np.asarray(score, dtype=float)
    front = np.ones(len(cost), dtype=bool)
    for i in range(len(cost)):
        dominated = (cost <= cost[i]) & (score >= score[i]) & ((cost < cost[i]) | (score > score[i]))
        front[i] = not dominated.any()
    return front


def _fmt_bytes(n: float) -> str:
    for unit, size in (("MB", 1e6), ("KB", 1e3)):
        if n >= size:
            return f"{n / size:.1f} {unit}"
    return f"{n:.0f} B"


def times(ratio: float, more: str, less: str) -> str:
    """'2.1× smaller' / '1.5× larger' / 'about the same': a ratio (baseline / variant) said the right way round."""
    if ratio >= 1.05:
        return f"{ratio:.1f}× {more}"
    if ratio <= 0.95:
        return f"{1 / ratio:.1f}× {less}"
    return f"about as {more.replace('er', '')} as"


def pick_variant(table: TradeoffTable, max_bytes: float | None = None, max_ms: float | None = None,
                 max_loss_points: float | None = None) -> tuple[dict | None, str]:
    """The variant to ship under a budget (smallest file among those meeting every limit) and one sentence why."""
    limits = {"size": (lambda r: r["bytes"], max_bytes), "latency": (lambda r: r["b1_ms"], max_ms),
              "accuracy loss": (lambda r: -r["delta_points"], max_loss_points)}

    def misses(r):
        return [name for name, (get, limit) in limits.items() if limit is not None and get(r) > limit]

    ok = [r for r in table.rows if not misses(r)]
    if not ok:
        closest = min(table.rows, key=lambda r: (len(misses(r)), -r["delta_points"]))
        return None, (f"No variant meets every limit; the closest is '{closest['variant']}', which misses the "
                      f"{' and '.join(misses(closest))} limit. Loosen that limit or keep the original.")
    best = min(ok, key=lambda r: (r["bytes"], r["b1_ms"]))
    loss = -best["delta_points"]
    change = f"loses {loss:.1f} points of {table.metric}" if loss > 0.05 else \
        f"keeps {table.metric} within 0.1 point" if loss > -0.05 else f"gains {-loss:.1f} points of {table.metric}"
    return best, (f"Ship '{best['variant']}': it is the smallest of the {len(ok)} variants within your limits "
                  f"({_fmt_bytes(best['bytes'])}, {best['b1_ms']:.3f} ms per request; "
                  f"{times(best['size_x'], 'smaller', 'larger')} than the baseline) and {change}.")


def headline(table: TradeoffTable) -> str:
    """The sentence a person reads first: the best compressed variant that stays within 1 point."""
    close = [r for r in table.rows if r["method"] not in ("baseline", "student") and r["delta_points"] >= -1.0]
    if not close:
        return "Every compressed variant lost more than 1 point; on this model, keep the original."
    best = max(close, key=lambda r: r["size_x"] * r["speed_b1_x"])
    return (f"'{best['variant']}' is {times(best['size_x'], 'smaller', 'larger')} ({_fmt_bytes(best['bytes'])}) "
            f"and {times(best['speed_b1_x'], 'faster', 'slower')} per request than '{table.baseline}', and "
            + (f"gives the same answer on {best['agreement']:.1%} of the {table.test_rows} test rows."
               if table.task == "classification" else
               f"its predictions track the original's with R² {best['agreement']:.3f} on {table.test_rows} test rows."))


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


def slow_notes(table: TradeoffTable) -> list[str]:
    """Plain warnings where compression made things slower (common for small models at batch 1) or timing was noisy."""
    base = table.row(table.baseline)
    slower = [f"'{r['variant']}' ({r['b1_ms'] / base['b1_ms']:.1f}×)" for r in table.rows
              if r["method"] in ("quantize", "half", "combo") and r["b1_ms"] > 1.05 * base["b1_ms"]]
    notes = []
    if slower:
        notes.append(f"Slower than '{table.baseline}' at batch 1: {', '.join(slower)}. On a model this small the "
                     "conversions cost more than the cheaper arithmetic saves (and fp16 on a CPU is slower than fp32).")
    noisy = [r["variant"] for r in table.rows if r["noisy"]]
    if noisy:
        notes.append(f"Timing was noisy (p90 over twice the median) for: {', '.join(noisy)}; rerun on a quiet machine.")
    return notes


# ---------------------------------------------------------------- orchestration and persistence
def compress_folder(run_id: str, store=None) -> Path:
    from core.runs import RunStore
    return (store or RunStore()).folder(run_id) / "compress"


def supported(family: str) -> bool:
    return family == "mlp" or family in TREE_FAMILIES


def compress_run(run_id: str, options: CompressOptions | None = None, *, pipeline=None, split=None, store=None,
                 progress: Progress | None = None) -> TradeoffTable:
    """Build, export and measure every variant of a run's model; save the table and artifacts with the run.

    `pipeline` and `split` may be passed (e.g. from a cache); the pipeline is never modified.
    """
    from core.data import load_dataset
    from core.data import PrepOptions, split_dataset
    from core.runs import RunStore

    options = (options or CompressOptions()).check()
    progress = progress or _quiet
    store = store or RunStore()
    run = store.get(run_id)
    fam = run.spec.get("family", "")
    if not supported(fam):
        raise ModelDeckError(f"Compression covers the neural network (PyTorch MLP) and tree ensembles (random forest, "
                             f"gradient boosting); this run is '{fam}'. Train one of those on the Train page.")
    start = time.perf_counter()
    pipeline = pipeline if pipeline is not None else store.load_model(run_id)
    split = split if split is not None else split_dataset(load_dataset(run.dataset_key), PrepOptions.from_dict(run.prep))
    data = prepare_data(pipeline, split)
    folder = compress_folder(run_id, store)
    work = folder.with_name("compress.tmp")
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)

    def stage(lo, hi):
        return lambda f, m, *_: progress(lo + (hi - lo) * min(max(f, 0.0), 1.0), m)

    if fam == "mlp":
        variants = mlp_variants(pipeline, data, options, work, stage(0.0, 0.45))
        extra = onnx_variants(variants[0], variants, data, options, work, stage(0.45, 0.55)) if options.onnx else []
        variants = variants[:1] + extra + variants[1:]
    else:
        variants = tree_variants(pipeline, data, options, work, stage(0.0, 0.45))
        variants = variants + (tree_onnx_variants(variants, data, options, work) if options.onnx else [])
    timing = time_variants(variants, data.X_test, threads=options.threads, rounds=options.rounds,
                           repeats=options.repeats, progress=stage(0.55, 0.95))
    progress(0.96, "Scoring every variant on the test split")
    rows, original = [], None
    for v in variants:
        row, pred = _row(v, data, timing[v.name], original)
        original = pred if original is None else original
        rows.append(row)
    if options.shap_check:
        progress(0.97, "Checking whether each variant still has the same reasons (SHAP ranks)")
        add_shap_agreement(rows, variants, data, seed=options.seed)
    metric = "accuracy" if data.head.task == "classification" else "r2"
    baseline = _add_ratios(rows, metric)
    import onnxruntime
    import torch
    table = TradeoffTable(run_id=run_id, family=fam, task=data.head.task, metric=metric, baseline=baseline, rows=rows,
                          threads=options.threads, cpu=cpu_info(), options=options.to_dict(), test_rows=len(data.X_test),
                          seconds=time.perf_counter() - start, torch_version=torch.__version__,
                          ort_version=onnxruntime.__version__)
    table.notes = slow_notes(table) + [note for note in [reasons_note(table)] if note]
    _write_serving(work, data, variants)
    (work / RESULT_FILE).write_text(table.to_json())
    shutil.rmtree(folder, ignore_errors=True)
    os.replace(work, folder)
    progress(1.0, f"Measured {len(rows)} variants in {table.seconds:.0f} s")
    return table


def output_kind(task: str, scaled: bool) -> str:
    """What a model's raw output is: logits / scaled (our MLPs) or proba / value (scikit-learn exports)."""
    if task == "classification":
        return "logits" if scaled else "proba"
    return "scaled" if scaled else "value"


def _write_serving(folder: Path, data: CompressData, variants: list[Variant]) -> None:
    """What a server needs beside the ONNX files: how to decode outputs, and which variant is which file."""
    head = data.head
    info = {"task": head.task, "classes": None if head.classes is None else [str(c) for c in head.classes],
            "y_mean": head.y_mean, "y_scale": head.y_scale,
            "variants": {v.name: {"file": v.onnx_file, "output": output_kind(head.task, v.scaled)}
                         for v in variants if v.onnx_file}}
    (folder / SERVING_FILE).write_text(json.dumps(info, indent=1))


def load_result(run_id: str, store=None) -> TradeoffTable | None:
    """The saved table of a run, or None when the run has not been compressed yet."""
    path = compress_folder(run_id, store) / RESULT_FILE
    if not path.exists():
        return None
    return TradeoffTable.from_json(path.read_text())


def artifact_path(run_id: str, filename: str, store=None) -> Path:
    """A saved artifact of a run's compression (file names come from the table; no path tricks)."""
    folder = compress_folder(run_id, store)
    path = folder / Path(filename).name
    if not path.exists():
        raise ModelDeckError(f"The file '{filename}' is not among this run's compressed models; compress it again.")
    return path
