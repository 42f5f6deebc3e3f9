"""Lower precision for a PyTorch network, always on a copy: dynamic int8 Linear layers through `QUANT_BACKENDS`
(one small adapter, so the backend can change, e.g. to torchao) and fp16 / bf16 weights with float32 in and out."""
from __future__ import annotations

import copy
from typing import Callable

from core.common import ModelDeckError


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
