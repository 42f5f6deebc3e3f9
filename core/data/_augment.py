"""Image augmentation in plain PyTorch, drawn per picture from an explicit seeded generator.

``Augment`` holds one strength per transform (0 = off): random shift / crop (share of the side), rotation
(degrees), flips, brightness and contrast (share of the pixel range), Gaussian noise (share of the range) and
Gaussian blur (largest sigma in pixels). ``augment_batch`` applies them to a float batch (n, c, h, w), each
picture with its own random draw (a batch-wide draw, as a torchvision transform on a batch would do, teaches
much less), keeps the shape, the dtype and the pixel range, and never touches the labels. Shift, crop and
rotation are one affine resampling (``affine_grid`` + ``grid_sample``); the border is filled with the
darkest pixel value, as the background of digits and most scans. The CNN calls it on each training batch
(training split only); ``preview`` draws the grid the Data and Train pages show.
"""
from __future__ import annotations

import math
from dataclasses import asdict, dataclass, fields
from typing import TYPE_CHECKING

import numpy as np

from core.common import ModelDeckError

if TYPE_CHECKING:  # pragma: no cover - typing only
    import torch

FLIPS = ("none", "horizontal", "vertical", "both")
_LIMITS = {"shift": 0.5, "rotation": 180.0, "brightness": 1.0, "contrast": 1.0, "noise": 1.0, "blur": 5.0}


@dataclass(frozen=True)
class Augment:
    """Strength of each random transform; all zero (the default) means no augmentation."""

    shift: float = 0.0          # largest shift, as a share of the side (0.1 = up to 10% of the width/height)
    rotation: float = 0.0       # largest rotation in degrees, either way
    flip: str = "none"          # none | horizontal | vertical | both (each applied to half of the pictures)
    brightness: float = 0.0     # largest brightness change, as a share of the pixel range
    contrast: float = 0.0       # largest contrast change (0.2 = ×0.8 to ×1.2 around the picture's mean)
    noise: float = 0.0          # largest Gaussian noise sigma, as a share of the pixel range
    blur: float = 0.0           # largest Gaussian blur sigma in pixels

    @classmethod
    def from_params(cls, params: dict) -> "Augment":
        """From estimator / spec parameters named ``aug_<field>``."""
        values = {f.name: params[f"aug_{f.name}"] for f in fields(cls) if f"aug_{f.name}" in params}
        return cls(**values).check()

    def to_params(self) -> dict:
        return {f"aug_{k}": v for k, v in asdict(self).items()}

    def check(self) -> "Augment":
        if self.flip not in FLIPS:
            raise ModelDeckError(f"Flip must be one of {', '.join(FLIPS)}, not '{self.flip}'.")
        for name, limit in _LIMITS.items():
            value = float(getattr(self, name))
            if not 0.0 <= value <= limit:
                raise ModelDeckError(f"Augmentation '{name}' must be between 0 and {limit:g}, not {value:g}.")
        return self

    @property
    def active(self) -> bool:
        return self.flip != "none" or any(float(getattr(self, name)) > 0 for name in _LIMITS)

    def describe(self) -> str:
        """'shift ≤10%, rotation ≤15°, horizontal flips' or 'no augmentation'."""
        parts = []
        if self.shift:
            parts.append(f"shift ≤{self.shift:.0%}")
        if self.rotation:
            parts.append(f"rotation ≤{self.rotation:g}°")
        if self.flip != "none":
            parts.append(f"{self.flip} flips" if self.flip != "both" else "horizontal and vertical flips")
        if self.brightness:
            parts.append(f"brightness ±{self.brightness:.0%}")
        if self.contrast:
            parts.append(f"contrast ±{self.contrast:.0%}")
        if self.noise:
            parts.append(f"noise σ ≤{self.noise:.0%} of the range")
        if self.blur:
            parts.append(f"blur σ ≤{self.blur:g} px")
        return ", ".join(parts) or "no augmentation"


def _uniform(n: int, limit: float, generator, device) -> "torch.Tensor":
    import torch
    return (torch.rand(n, generator=generator, device=device) * 2 - 1) * float(limit)


def _affine(x, aug: Augment, generator, fill: float):
    """Shift and rotation as one resampling per picture (bilinear), border filled with `fill`."""
    import torch
    import torch.nn.functional as F

    n = x.shape[0]
    angle = _uniform(n, math.radians(aug.rotation), generator, x.device)
    tx, ty = (_uniform(n, 2 * aug.shift, generator, x.device) for _ in range(2))   # grid units: side = 2
    cos, sin = torch.cos(angle), torch.sin(angle)
    theta = torch.stack([torch.stack([cos, -sin, tx], 1), torch.stack([sin, cos, ty], 1)], 1)
    grid = F.affine_grid(theta, list(x.shape), align_corners=False)
    moved = F.grid_sample(x - fill, grid, mode="bilinear", padding_mode="zeros", align_corners=False)
    return moved + fill


def _flip(x, aug: Augment, generator):
    import torch

    n = x.shape[0]
    for kind, dim in (("horizontal", 3), ("vertical", 2)):
        if aug.flip in (kind, "both"):
            chosen = (torch.rand(n, generator=generator, device=x.device) < 0.5).view(n, 1, 1, 1)
            x = torch.where(chosen, x.flip(dim), x)
    return x


def _blur(x, sigma_max: float, generator):
    """Gaussian blur with a random sigma per picture (0 to sigma_max), one grouped convolution for the batch."""
    import torch
    import torch.nn.functional as F

    n, c, h, w = x.shape
    radius = max(1, int(math.ceil(2 * sigma_max)))
    sigma = torch.rand(n, generator=generator, device=x.device) * float(sigma_max)
    offsets = torch.arange(-radius, radius + 1, device=x.device, dtype=x.dtype)
    kernel = torch.exp(-(offsets[None] ** 2) / (2 * sigma.clamp_min(1e-3)[:, None] ** 2))
    kernel = kernel / kernel.sum(dim=1, keepdim=True)                    # (n, k): sigma≈0 gives a unit impulse
    kernel = kernel.repeat_interleave(c, dim=0)                          # one kernel per picture and channel
    flat = x.reshape(1, n * c, h, w)
    flat = F.pad(flat, (radius, radius, radius, radius), mode="replicate")
    flat = F.conv2d(flat, kernel.view(n * c, 1, 1, -1), groups=n * c)
    flat = F.conv2d(flat, kernel.view(n * c, 1, -1, 1), groups=n * c)
    return flat.reshape(n, c, h, w)


def augment_batch(x: "torch.Tensor", aug: Augment, generator: "torch.Generator",
                  value_range: tuple[float, float]) -> "torch.Tensor":
    """A randomly transformed copy of a float batch (n, c, h, w): same shape, dtype and range; one draw per picture."""
    import torch

    if not x.is_floating_point():
        raise ModelDeckError("Augmentation needs float pixels; convert the batch with .float() first.")
    lo, hi = (float(v) for v in value_range)
    dtype = x.dtype
    span = max(hi - lo, 1e-12)
    n = x.shape[0]
    if n == 0 or not aug.active:
        return x
    if aug.shift or aug.rotation:
        x = _affine(x, aug, generator, fill=lo)
    x = _flip(x, aug, generator)
    if aug.contrast:
        factor = 1 + _uniform(n, aug.contrast, generator, x.device).view(n, 1, 1, 1)
        mean = x.mean(dim=(1, 2, 3), keepdim=True)
        x = (x - mean) * factor + mean
    if aug.brightness:
        x = x + _uniform(n, aug.brightness * span, generator, x.device).view(n, 1, 1, 1)
    if aug.blur:
        x = _blur(x, aug.blur, generator)
    if aug.noise:
        sigma = torch.rand(n, generator=generator, device=x.device).view(n, 1, 1, 1) * aug.noise * span
        x = x + torch.randn(x.shape, generator=generator, device=x.device, dtype=x.dtype) * sigma
    return x.clamp(lo, hi).to(dtype)


def preview(images: np.ndarray, aug: Augment, seed: int, copies: int = 3,
            value_range: tuple[float, float] | None = None) -> np.ndarray:
    """(n, copies, c, h, w): ``copies`` augmented versions of each picture, the same for the same seed."""
    import torch

    images = np.asarray(images, dtype=np.float32)
    value_range = value_range or (float(images.min()), float(images.max()))
    generator = torch.Generator().manual_seed(int(seed))
    batch = torch.from_numpy(np.repeat(images, copies, axis=0))
    out = augment_batch(batch, aug, generator, value_range).numpy()
    return out.reshape(len(images), copies, *images.shape[1:])
