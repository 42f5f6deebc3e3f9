"""Lower precision for a PyTorch network, always on a copy: dynamic int8 Linear layers through `QUANT_BACKENDS`
(one small adapter, so the backend can change, e.g. to torchao) and fp16 / bf16 weights with float32 in and out.

The int8 network runs as a frozen TorchScript graph of itself (`FrozenGraph`): the very same quantized operators,
with bit-identical outputs, without the Python dispatch of torch.ao's eager modules. Measured on the 64-1024-1024-
256-10 benchmark network (1 thread, batch 1, AMD EPYC with AVX-512 VNNI, `python -m benchmarks compress`): eager
int8 was 1.25× faster than fp32 eager, the frozen graph 3.6-3.8×. Engines: x86 and fbgemm equally fast, onednn
2.5× and qnnpack 8× slower than them; per-channel weights neither faster nor slower; a second thread made batch 1
slower on a busy machine. torch.ao quantizes activations to 7 bits (`reduce_range`), a guard for CPUs without
VNNI; on this CPU the full 8 bits halved the largest output error and cost no accuracy (ONNX Runtime's int8 uses
8 bits too), so `full_range_int8` decides per CPU."""
from __future__ import annotations

import copy
from typing import Callable

from core.common import ModelDeckError
from core.compress._timing import cpu_info, quant_engine   # the engine: the fastest measured that torch has


def _frozen_graph_class():
    import torch

    class FrozenGraph(torch.nn.Module):
        """A network that runs as a frozen TorchScript trace of itself, built at the first call (same operators,
        same outputs; the Python dispatch of each layer is gone). `net` keeps the layers: state_dict, parameter
        counts and explanations read it; copies drop the trace and rebuild it."""

        def __init__(self, net):
            super().__init__()
            self.net = net
            object.__setattr__(self, "_graph", None)      # not a submodule: not saved, not counted

        def forward(self, x):
            graph = self._graph
            if graph is None:
                graph = _freeze(self.net, x)
                object.__setattr__(self, "_graph", graph)
            return graph(x) if graph is not False else self.net(x)

        def __getstate__(self):
            state = self.__dict__.copy()
            state["_graph"] = None
            return state

    return FrozenGraph


def _freeze(net, example):
    """The frozen TorchScript trace of `net` (False when tracing fails: then the eager network runs)."""
    import warnings

    import torch

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return torch.jit.freeze(torch.jit.trace(net.eval(), example[:1], check_trace=False))
    except Exception:  # noqa: BLE001 - any tracing failure: the eager network gives the same answers, slower
        return False


def frozen_graph(net):
    """`net` wrapped to run as a frozen TorchScript graph (see `FrozenGraph`)."""
    return _frozen_graph_class()(net)


def full_range_int8() -> bool:
    """Whether activations may use all 8 bits: yes on CPUs with VNNI (or AMX) int8 instructions, whose products
    cannot saturate; without them fbgemm's AVX2 kernels can, so torch.ao's 7-bit range is kept."""
    return any("vnni" in f or f == "amx_int8" for f in cpu_info()["flags"])


_LINEAR_CLASSES: dict = {}


def _dynamic_linear(reduce_range: bool):
    """torch.ao's dynamic int8 Linear with the activation range as a setting (torch.ao fixes reduce_range=True)."""
    if reduce_range not in _LINEAR_CLASSES:
        import torch
        from torch.ao.nn.quantized.dynamic import Linear

        class DynamicLinear(Linear):
            _reduce_range = reduce_range

            def forward(self, x):
                if self._packed_params.dtype != torch.qint8:
                    return super().forward(x)
                y = torch.ops.quantized.linear_dynamic(x, self._packed_params._packed_params, self._reduce_range)
                return y.to(x.dtype)

        _LINEAR_CLASSES[reduce_range] = DynamicLinear
    return _LINEAR_CLASSES[reduce_range]


def _quantize_ao(net, reduce_range: bool):
    """Dynamic int8 Linear layers through torch.ao (deprecated upstream but works on torch 2.13)."""
    import warnings

    import torch
    from torch.ao.quantization.quantization_mappings import get_default_dynamic_quant_module_mappings

    torch.backends.quantized.engine = quant_engine()
    mapping = get_default_dynamic_quant_module_mappings() | {torch.nn.Linear: _dynamic_linear(reduce_range)}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return torch.ao.quantization.quantize_dynamic(copy.deepcopy(net).eval(), {torch.nn.Linear},
                                                      dtype=torch.qint8, mapping=mapping)


def _quantize_torch_ao(net):
    """int8 weights, activations quantized per call on all 8 bits where the CPU allows it (`full_range_int8`), run as
    a frozen graph."""
    return frozen_graph(_quantize_ao(net, reduce_range=not full_range_int8())).eval()


def _quantize_torch_ao_eager(net):
    """torch.ao as it comes: 7-bit activations, eager modules (the slower, less exact way, kept for comparison)."""
    return _quantize_ao(net, reduce_range=True)


QUANT_BACKENDS: dict[str, Callable] = {"torch.ao": _quantize_torch_ao, "torch.ao eager": _quantize_torch_ao_eager}
# (the eager one is what `torch.ao.quantization.quantize_dynamic` gives by default)
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
