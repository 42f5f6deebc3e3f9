"""The convolutional network itself: `cnn_arch` chooses its size from the picture size, `build_cnn` builds it.

Layout (an `nn.Sequential`, every activation its own module so SHAP's DeepExplainer can follow it):
``Unflatten`` (pixel rows -> pictures) · ``BatchNorm2d`` (the input normalisation, learned from the training
pictures, so raw pixel values of any range work) · per block ``Conv2d 3×3 · BatchNorm2d · ReLU · MaxPool2d 2``
· ``Flatten`` · ``Linear · ReLU · Dropout`` · ``Linear`` to the class logits. The blocks up to ``Flatten`` are the
*features* (what transfer learning copies); the rest is the *head*. Because the network reads flat pixel rows,
the pipeline, ONNX export, timing and scoring treat it like the MLP. Torch is imported inside functions only.
"""
from __future__ import annotations

import math
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # pragma: no cover - typing only
    from torch import nn


def infer_image_shape(n_features: int) -> tuple[int, int, int]:
    """(channels, height, width) of square pictures flattened to `n_features` columns (grey, else colour)."""
    side = math.isqrt(n_features)
    if side * side == n_features:
        return 1, side, side
    side = math.isqrt(n_features // 3)
    if n_features % 3 == 0 and side * side * 3 == n_features:
        return 3, side, side
    raise ValueError(f"{n_features} input columns are not the pixels of a square picture (grey or colour). The CNN "
                     "needs an image data set; pass image_shape=(channels, height, width) for other sizes.")


def auto_blocks(height: int, width: int) -> int:
    """Conv blocks for a picture size: halve until about 2-3 pixels remain (8×8: 2, 28×28: 3, 32×32 and up: 4)."""
    return int(min(4, max(1, math.floor(math.log2(max(min(height, width), 2) / 2)))))


def cnn_arch(image_shape, n_out: int, width: int = 16, blocks: int = 0, dense: int = 64,
             dropout: float = 0.25) -> dict:
    """Everything `build_cnn` needs, as plain values (stored with a fitted model)."""
    channels, height, width_px = (int(v) for v in image_shape)
    n_blocks = int(blocks) or auto_blocks(height, width_px)
    if min(height, width_px) >> n_blocks < 1:
        raise ValueError(f"{n_blocks} pooling blocks are too many for {height}×{width_px} pictures; "
                         f"use at most {auto_blocks(height, width_px)} (or 0 = automatic).")
    convs = [min(int(width) * 2 ** b, 4 * int(width)) for b in range(n_blocks)]
    return {"image_shape": [channels, height, width_px], "convs": convs, "dense": int(dense),
            "dropout": float(dropout), "n_out": int(n_out)}


def build_cnn(image_shape, convs, dense: int, dropout: float, n_out: int, seed: int | None = None) -> "nn.Sequential":
    """The network for `cnn_arch(...)`, initialised from `seed` (the caller's global RNG state is left as it was)."""
    import torch
    from torch import nn

    channels, height, width = image_shape
    with torch.random.fork_rng(devices=[]):
        if seed is not None:
            torch.manual_seed(int(seed))
        layers: list[nn.Module] = [nn.Unflatten(1, (channels, height, width)), nn.BatchNorm2d(channels)]
        c_in, h, w = channels, height, width
        for c_out in convs:
            layers += [nn.Conv2d(c_in, c_out, 3, padding=1), nn.BatchNorm2d(c_out), nn.ReLU(), nn.MaxPool2d(2)]
            c_in, h, w = c_out, h // 2, w // 2
        layers += [nn.Flatten(), nn.Linear(c_in * h * w, dense), nn.ReLU(), nn.Dropout(dropout), nn.Linear(dense, n_out)]
        return nn.Sequential(*layers)


def head_start(net: "nn.Sequential") -> int:
    """Index of the first head layer (the one after Flatten): modules before it are the features."""
    from torch import nn

    return next(i for i, m in enumerate(net) if isinstance(m, nn.Flatten)) + 1


def feature_names(net: "nn.Sequential") -> list[str]:
    """State-dict keys of the feature layers (convolutions and their batch norms, input norm included)."""
    cut = head_start(net)
    return [k for k in net.state_dict() if int(k.split(".", 1)[0]) < cut]


def conv_parameters(net: "nn.Sequential") -> list:
    """The convolution weights and biases (what 'frozen features' freezes; batch norms keep adapting)."""
    from torch import nn

    return [p for m in net[:head_start(net)] if isinstance(m, nn.Conv2d) for p in m.parameters()]


def count_cnn_params(net) -> int:
    return int(sum(p.numel() for p in net.parameters()))
