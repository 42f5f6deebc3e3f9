"""One measured model: `Variant` (how to run it, where its artifact is, how many parameters it has), and how
PyTorch networks and scikit-learn ensembles become variants: run functions, parameter counts, artifact files
written atomically in safe formats (safetensors for float networks, a torch state dict for quantized ones, skops
for estimators), and the parity record of a variant's ONNX export."""
from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Callable

import numpy as np

from core.common import atomic_open, atomic_write
from core.compress._data import CompressData
from core.compress._export import OnnxModel, parity


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


def _slug(name: str) -> str:
    """A variant name as a file name: 'int8 dynamic (PyTorch)' -> 'int8_dynamic__pytorch'."""
    return "".join(c if c.isalnum() else "_" for c in name.lower()).strip("_")[:60]


def _attach_onnx(v: Variant, path: Path, data: CompressData, threads: int) -> OnnxModel:
    """Open `v`'s ONNX export with ONNX Runtime, compare it with `v` on the test rows, record file and parity on `v`."""
    model = OnnxModel(path, threads)
    check = parity(v.run(data.X_test), model.raw(data.X_test), data.head.task == "classification")
    v.onnx_file, v.parity = path.name, asdict(check) | {"ok": check.ok}
    return model


# ---------------------------------------------------------------- PyTorch networks
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
    from safetensors.torch import save

    state = net.state_dict()
    quantized = any(not isinstance(v, torch.Tensor) or v.is_quantized for v in state.values())
    path = folder / f"{_slug(name)}.{'pt' if quantized else 'safetensors'}"
    if quantized:
        with atomic_open(path, "wb") as handle:
            torch.save(state, handle)
    else:
        atomic_write(path, save({k: v.detach().contiguous() for k, v in state.items()}))
    return path


def _torch_variant(name: str, method: str, net, folder: Path, note: str = "") -> Variant:
    net = net.eval()
    path = _save_torch(net, folder, name)
    params, nonzero = count_params(net)
    return Variant(name, method, "PyTorch", _torch_runner(net), path, params, nonzero, note=note, module=net)


# ---------------------------------------------------------------- scikit-learn ensembles
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


def _sklearn_variant(name: str, method: str, est, data: CompressData, folder: Path, note: str) -> Variant:
    """An estimator saved with skops; its 'parameters' are its tree nodes."""
    import skops.io as sio

    path = folder / f"{_slug(name)}.skops"
    atomic_write(path, sio.dumps(est))
    nodes = _tree_nodes(est)
    return Variant(name, method, "scikit-learn", _sklearn_runner(est, data.head.task), path, nodes, nodes,
                   scaled=False, note=note, module=est)
