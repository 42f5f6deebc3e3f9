"""The variants of a run's CNN: fp16 / bf16 weights, int8 dynamic (PyTorch quantizes only the dense layers),
structured pruning (whole convolution filters removed by L1 norm, then fine-tuned), and a half-width student
distilled from the network beside the same student trained without it — all built from copies. The ONNX exports,
their parity, and the ONNX Runtime rows (fp32, int8 dynamic, int8 static QDQ calibrated on training pictures: the
fastest int8 for small CNNs) come from the same code as the MLP's (`_mlp.onnx_variants`): the CNN reads flat pixel
rows, so export, timing and scoring treat it like any network.

A CNN epoch costs far more than an MLP epoch, so fine-tuning and distillation take a quarter of the options' epochs.
"""
from __future__ import annotations

import copy
from pathlib import Path

from core.common import ModelDeckError, Progress, no_progress
from core.compress._data import CompressData, CompressOptions
from core.compress._distill import label_budget
from core.compress._fit import _steps, fit_net
from core.compress._quantize import half_precision, quantize_int8
from core.compress._variant import Variant, _torch_variant

CNN_EPOCH_SHARE = 4     # fine-tuning / distillation epochs = the options' epochs // this


def _cnn_of(pipeline):
    model = pipeline.named_steps["model"]
    if not hasattr(model, "arch_") or getattr(model, "net_", None) is None:
        raise ModelDeckError("This run's model has no convolutional network to compress.")
    return copy.deepcopy(model.net_).cpu().float().eval(), dict(model.arch_)


def cnn_params(net) -> tuple[int, int]:
    """(parameters, non-zero parameters) of a float, half or dynamically quantized CNN (convolutions included)."""
    import torch
    from torch.ao.nn.quantized import dynamic as qdyn

    total = nonzero = 0
    for module in net.modules():
        if isinstance(module, qdyn.Linear):
            tensors = [module.weight().int_repr(), module.bias()]
        elif isinstance(module, (torch.nn.Conv2d, torch.nn.Linear, torch.nn.BatchNorm2d)):
            tensors = list(module.parameters(recurse=False))
        else:
            continue
        for t in (t for t in tensors if t is not None):
            total += t.numel()
            nonzero += int(torch.count_nonzero(t.detach()))
    return total, nonzero


def _variant(name: str, method: str, net, folder: Path, note: str) -> Variant:
    v = _torch_variant(name, method, net, folder, note)
    v.params, v.nonzero = cnn_params(net)
    return v


def _convs(net) -> list:
    import torch
    return [i for i, m in enumerate(net) if isinstance(m, torch.nn.Conv2d)]


def prune_filters(net, arch: dict, keep_fraction: float, data: CompressData, epochs: int, seed: int = 0):
    """Keep the `keep_fraction` of each convolution's filters with the largest L1 norm (a copy), rebuilt as a
    genuinely smaller CNN (the next convolution and the dense layer lose the matching inputs), then fine-tuned."""
    import torch

    from core.models import build_cnn

    conv_idx = _convs(net)
    keeps, previous = [], None
    for i in conv_idx:
        w = net[i].weight.detach()
        k = max(1, int(round(keep_fraction * w.shape[0])))
        keeps.append(torch.sort(torch.topk(w.abs().sum(dim=(1, 2, 3)), k).indices).values)
    slim = build_cnn(**(arch | {"convs": [len(k) for k in keeps]}), seed=seed)
    with torch.no_grad():
        for (i, keep) in zip(conv_idx, keeps):
            conv, bn, new_conv, new_bn = net[i], net[i + 1], slim[i], slim[i + 1]
            w = conv.weight[keep] if previous is None else conv.weight[keep][:, previous]
            new_conv.weight.copy_(w)
            new_conv.bias.copy_(conv.bias[keep])
            for name in ("weight", "bias", "running_mean", "running_var"):
                getattr(new_bn, name).copy_(getattr(bn, name)[keep])
            previous = keep
        slim[1].load_state_dict(net[1].state_dict())                     # the input normalisation
        dense = conv_idx[-1] + 5                                          # Conv, BN, ReLU, MaxPool, Flatten
        old = net[dense].weight.reshape(net[dense].out_features, len(net[conv_idx[-1]].weight), -1)
        slim[dense].weight.copy_(old[:, previous].reshape(slim[dense].weight.shape))
        slim[dense].bias.copy_(net[dense].bias)
        slim[-1].load_state_dict(net[-1].state_dict())
    if epochs > 0:
        fit_net(slim, data.X_train, data.y_train, "classification", steps=_steps(len(data.X_train), epochs), lr=5e-4,
                seed=seed)
    return slim.eval()


def distill_cnn(teacher, arch: dict, data: CompressData, options: CompressOptions, epochs: int,
                progress: Progress = no_progress):
    """(half-width student distilled from the teacher, the same student trained on the labels alone)."""
    import numpy as np
    import torch

    from core.models import build_cnn

    student_arch = arch | {"convs": [max(2, c // 2) for c in arch["convs"]], "dense": max(8, arch["dense"] // 2)}
    labelled = label_budget(data.y_train, options.label_fraction, options.seed, "classification")
    with torch.inference_mode():
        teacher_out = np.concatenate([teacher(torch.from_numpy(data.X_train[lo:lo + 2048])).float().numpy()
                                      for lo in range(0, len(data.X_train), 2048)])
    steps = _steps(len(data.X_train), epochs)
    common = dict(steps=steps, seed=options.seed, labelled=labelled)
    distilled = fit_net(build_cnn(**student_arch, seed=options.seed), data.X_train, data.y_train, "classification",
                        teacher_out=teacher_out, temperature=options.temperature, alpha=options.alpha,
                        progress=lambda f, m: progress(0.5 * f, f"distilled student: {m}"), **common)
    plain = fit_net(build_cnn(**student_arch, seed=options.seed), data.X_train, data.y_train, "classification",
                    progress=lambda f, m: progress(0.5 + 0.5 * f, f"plain student: {m}"), **common)
    return distilled, plain, student_arch


def cnn_variants(pipeline, data: CompressData, options: CompressOptions, folder: Path,
                 progress: Progress = no_progress) -> list[Variant]:
    """The PyTorch variants of a run's CNN (all built from copies), the original first."""
    net, arch = _cnn_of(pipeline)
    epochs = max(1, options.finetune_epochs // CNN_EPOCH_SHARE)
    variants = [_variant("fp32 (PyTorch)", "baseline", net, folder, "the trained network as is")]
    if options.half:
        for dtype in ("fp16", "bf16"):
            variants.append(_variant(f"{dtype} weights (PyTorch)", "half", half_precision(net, dtype), folder,
                                     f"weights stored and computed in {dtype}"))
    progress(0.05, "Quantizing the dense layers to int8")
    variants.append(_variant("int8 dynamic (PyTorch)", "quantize", quantize_int8(net), folder,
                             "only the dense layers become int8 (PyTorch's dynamic mode skips convolutions); "
                             "see the ONNX Runtime static row for int8 convolutions"))
    progress(0.15, "Removing convolution filters (structured pruning) and fine-tuning")
    slim = prune_filters(net, arch, options.keep_fraction, data, epochs, options.seed)
    kept = "→".join(str(c) for c in [m.out_channels for m in slim.modules() if hasattr(m, "out_channels")])
    variants.append(_variant(f"structured {options.keep_fraction:.0%} filters kept", "structured", slim, folder,
                             f"filters per convolution {kept}, fine-tuned {epochs} epochs"))
    progress(0.4, "Distilling a half-width student CNN")
    distilled, plain, student = distill_cnn(net, arch, data, options, max(1, options.distill_epochs // CNN_EPOCH_SHARE),
                                            progress=lambda f, m: progress(0.4 + 0.55 * f, m))
    shape = "→".join(map(str, student["convs"]))
    budget = f"{options.label_fraction:.0%} of the labels"
    variants.append(_variant(f"student CNN {shape} distilled", "distill", distilled, folder,
                             f"T={options.temperature:g}, α={options.alpha:g}, {budget}"))
    variants.append(_variant(f"student CNN {shape} no distillation", "student", plain, folder,
                             f"same student, same steps, {budget}, no teacher"))
    return variants
