"""The variants of a run's PyTorch MLP: int8, fp16/bf16, unstructured and structured pruning, distilled and plain
students, prune/distill + int8 combos (all built from copies), then the ONNX exports of the fp32 ones with their
parity, and ONNX Runtime rows (fp32, int8 dynamic, int8 static QDQ calibrated on training rows)."""
from __future__ import annotations

import copy
from pathlib import Path

import numpy as np

from core.common import ModelDeckError, Progress, no_progress
from core.compress._data import CompressData, CompressOptions
from core.compress._distill import distill
from core.compress._export import export_torch, quantize_onnx_dynamic, quantize_onnx_static, OnnxModel
from core.compress._prune import prune_structured, prune_unstructured
from core.compress._quantize import DEFAULT_QUANT_BACKEND, half_precision, quantize_int8
from core.compress._variant import Variant, _attach_onnx, _slug, _torch_variant


def _mlp_network(pipeline):
    """A CPU copy of the run's network and its activation name."""
    model = pipeline.named_steps["model"]
    net = getattr(model, "net_", None)
    if net is None:
        raise ModelDeckError("This run's model has no PyTorch network to compress.")
    return copy.deepcopy(net).cpu().eval(), model._net_arch["activation"]


def _fmt_layers(hidden) -> str:
    return "×".join(str(h) for h in hidden)


def mlp_variants(pipeline, data: CompressData, options: CompressOptions, folder: Path,
                 progress: Progress = no_progress) -> list[Variant]:
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
                  folder: Path, progress: Progress = no_progress) -> list[Variant]:
    """Export every fp32 PyTorch variant (parity checked), plus ONNX Runtime fp32 / int8 dynamic / int8 static rows."""
    for i, v in enumerate(variants):
        if v.engine != "PyTorch" or v.method in ("quantize", "half", "combo"):
            continue
        progress(i / len(variants), f"Exporting '{v.name}' to ONNX")
        _attach_onnx(v, export_torch(v.module, data.X_train.shape[1], folder / f"{_slug(v.name)}.onnx"), data,
                     options.threads)
    fp32_path = folder / base.onnx_file
    rows = [("fp32 (ONNX Runtime)", "baseline", fp32_path, "the same network through ONNX Runtime")]
    progress(0.9, "Quantizing the ONNX model with ONNX Runtime")
    dyn = quantize_onnx_dynamic(fp32_path, folder / "int8_dynamic_onnx_runtime.onnx")
    rows.append(("int8 dynamic (ONNX Runtime)", "quantize", dyn, "ORT quantize_dynamic, weights int8"))
    calib = data.X_train[np.random.default_rng(options.seed).permutation(len(data.X_train))[:256]]
    static = quantize_onnx_static(fp32_path, folder / "int8_static_qdq_onnx_runtime.onnx", calib)
    rows.append(("int8 static QDQ (ONNX Runtime)", "quantize", static,
                 f"ORT quantize_static, calibrated on {len(calib)} training rows"))
    out = []
    for name, method, path, note in rows:
        model = OnnxModel(path, options.threads)
        out.append(Variant(name, method, "ONNX Runtime", model.raw, path, base.params, base.nonzero, note=note,
                           onnx_file=path.name))
    return out
