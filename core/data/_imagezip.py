"""Reading an uploaded zip of images (one folder per class) without trusting it.

The zip is never extracted: its directory is checked first (member count, declared sizes, compression ratio,
overlapping entries, encrypted members, ``..``/absolute paths/backslashes), then each member is read into memory
with a bounded read. Each picture is opened by Pillow restricted to PNG and JPEG, with a pixel limit far below
Pillow's (the app only needs small pictures), Pillow's decompression-bomb warning turned into an error, and a
``verify()`` pass before the real decode (which catches truncated files). Pictures are converted to grey or RGB
and resized to the chosen square size. Every problem ends as a ``ModelDeckError`` that says what to fix.
"""
from __future__ import annotations

import io
import warnings
import zipfile
from collections import Counter
from dataclasses import dataclass, field
from pathlib import PurePosixPath

import numpy as np

from core.common import ModelDeckError, fmt_bytes

MAX_ZIP_BYTES = 100 * 1024**2            # the upload itself
MAX_MEMBERS = 20_000                     # entries in the zip directory
MAX_MEMBER_BYTES = 20 * 1024**2          # declared uncompressed size of one file
MAX_TOTAL_BYTES = 400 * 1024**2          # declared uncompressed size of all files together
MAX_RATIO = 200                          # uncompressed / compressed, per file (PNG/JPEG barely compress)
MAX_PIXELS = 4096 * 4096                 # per picture, checked from the header before decoding
MAX_CELLS = 40_000_000                   # images × channels × size² kept in memory
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg")
SIZES = (8, 16, 28, 32, 48, 64)
_IGNORED = ("__MACOSX/", ".DS_Store", "Thumbs.db", "desktop.ini")


@dataclass
class ImageZipRead:
    """The pictures found in a zip, resized, with their class (folder) names and what was noticed on the way."""

    images: np.ndarray                       # uint8 (n, channels, size, size)
    labels: list[str]
    notes: list[str] = field(default_factory=list)
    original_sizes: Counter = field(default_factory=Counter)   # (width, height) -> pictures

    @property
    def classes(self) -> Counter:
        return Counter(self.labels)


def _fail(message: str) -> None:
    raise ModelDeckError(message)


def _open_zip(data: bytes, filename: str) -> zipfile.ZipFile:
    if len(data) > MAX_ZIP_BYTES:
        _fail(f"'{filename}' is {fmt_bytes(len(data))}; the limit is {fmt_bytes(MAX_ZIP_BYTES)}. "
              "Upload fewer or smaller pictures.")
    if not zipfile.is_zipfile(io.BytesIO(data)):
        _fail(f"'{filename}' is not a zip archive. Put one folder per class (e.g. cat/, dog/) with PNG or JPEG "
              "pictures in a .zip file and upload that.")
    try:
        return zipfile.ZipFile(io.BytesIO(data))
    except (zipfile.BadZipFile, OSError, ValueError) as exc:
        _fail(f"'{filename}' is a damaged zip archive ({exc}). Create the zip again and upload it.")


def _check_path(name: str) -> None:
    if "\\" in name or name.startswith("/") or (len(name) > 1 and name[1] == ":") or ".." in name.split("/"):
        _fail(f"The zip contains the unsafe path '{name}' (absolute, with '..' or with backslashes). ModelDeck "
              "only accepts relative paths like 'cat/001.png'; create the zip again from the folders themselves.")


def _check_directory(infos: list[zipfile.ZipInfo]) -> None:
    """Limits on the zip's directory, checked before any member is decompressed."""
    if len(infos) > MAX_MEMBERS:
        _fail(f"The zip has {len(infos):,} entries; the limit is {MAX_MEMBERS:,}. Upload fewer pictures.")
    total = 0
    for info in infos:
        _check_path(info.filename)
        if info.flag_bits & 0x1:
            _fail(f"'{info.filename}' is encrypted. Upload a zip without a password.")
        if info.file_size > MAX_MEMBER_BYTES:
            _fail(f"'{info.filename}' would expand to {fmt_bytes(info.file_size)}; each picture may be at most "
                  f"{fmt_bytes(MAX_MEMBER_BYTES)}. This looks like a zip bomb or a very large picture.")
        if info.file_size > 1024 and info.file_size > MAX_RATIO * max(info.compress_size, 1):
            _fail(f"'{info.filename}' expands {info.file_size / max(info.compress_size, 1):,.0f}× "
                  f"(from {fmt_bytes(info.compress_size)} to {fmt_bytes(info.file_size)}); pictures never compress "
                  "that well. This looks like a zip bomb, so it was not opened.")
        total += info.file_size
    if total > MAX_TOTAL_BYTES:
        _fail(f"The zip would expand to {fmt_bytes(total)}; the limit is {fmt_bytes(MAX_TOTAL_BYTES)}. This looks "
              "like a zip bomb, or the pictures are too many or too large.")
    # a local header is at least 30 bytes plus the name: a lower bound, so honest zips never look overlapping
    spans = sorted((i.header_offset, i.header_offset + 30 + len(i.filename) + i.compress_size, i.filename)
                   for i in infos if not i.is_dir())
    for (start, end, name), (next_start, _e, next_name) in zip(spans, spans[1:]):
        if next_start < end and next_start >= start:
            _fail(f"The zip entries '{name}' and '{next_name}' overlap (they share compressed data), a trick zip "
                  "bombs use. Create the zip again with an ordinary zip tool.")


def _read_member(archive: zipfile.ZipFile, info: zipfile.ZipInfo) -> bytes:
    """Read one member into memory, never more than its declared size (a lying header cannot blow up)."""
    try:
        with archive.open(info) as handle:
            data = handle.read(info.file_size + 1)
    except (zipfile.BadZipFile, OSError, EOFError, RuntimeError, NotImplementedError) as exc:
        _fail(f"'{info.filename}' cannot be read from the zip ({exc}). Create the zip again and upload it.")
    if len(data) > info.file_size:
        _fail(f"'{info.filename}' holds more data than the zip declares. This looks like a zip bomb, so the "
              "upload was stopped.")
    return data


def decode_image(data: bytes, name: str, size: int, channels: int) -> tuple[np.ndarray, tuple[int, int]]:
    """One PNG/JPEG file as uint8 (channels, size, size) plus its original (width, height)."""
    from PIL import Image, UnidentifiedImageError

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data), formats=["PNG", "JPEG"]) as probe:
                width, height = probe.size
                if width * height > MAX_PIXELS:
                    _fail(f"'{name}' is {width:,}×{height:,} pixels, a decompression bomb or far larger than "
                          f"needed (the limit is {MAX_PIXELS:,} pixels). Shrink it or leave it out.")
                probe.verify()              # catches truncated and corrupt files; the image must be reopened after
            with Image.open(io.BytesIO(data), formats=["PNG", "JPEG"]) as picture:
                picture.load()
                converted = picture.convert("L" if channels == 1 else "RGB")
    except ModelDeckError:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        _fail(f"'{name}' is a decompression bomb (it claims far more pixels than a picture needs). Leave it out.")
    except UnidentifiedImageError:
        _fail(f"'{name}' is not a readable PNG or JPEG picture (other formats are not accepted). Convert it to "
              "PNG or leave it out.")
    except (OSError, SyntaxError, ValueError) as exc:
        _fail(f"'{name}' is damaged or truncated ({exc}). Export it again or leave it out.")
    resized = converted.resize((size, size), Image.Resampling.BILINEAR, reducing_gap=2.0)
    pixels = np.asarray(resized, dtype=np.uint8)
    pixels = pixels[None] if channels == 1 else pixels.transpose(2, 0, 1)
    return pixels, (width, height)


def _ignored(name: str) -> bool:
    parts = name.split("/")
    return name.startswith(_IGNORED) or parts[-1] in _IGNORED or parts[-1].startswith(".")


def _class_of(parts: tuple[str, ...], strip_root: bool) -> tuple[str, ...]:
    return parts[1:] if strip_root else parts


def _plan(infos: list[zipfile.ZipInfo]) -> tuple[list[tuple[zipfile.ZipInfo, str]], list[str], list[str]]:
    """(picture members with their class, skipped non-picture files, class folders) from the zip's directory."""
    files = [i for i in infos if not i.is_dir() and not _ignored(i.filename)]
    folders = {PurePosixPath(i.filename.rstrip("/")).parts for i in infos if i.is_dir() and not _ignored(i.filename)}
    paths = [PurePosixPath(i.filename).parts for i in files]
    tops = {p[0] for p in paths if len(p) > 1}
    strip_root = len(tops) == 1 and all(len(p) >= 3 for p in paths) and bool(paths)
    loose = [i.filename for i, p in zip(files, paths) if len(_class_of(p, strip_root)) < 2]
    if loose:
        _fail(f"Put every picture in a folder named after its class (e.g. cat/001.png); these are not in a class "
              f"folder: {', '.join(repr(n) for n in loose[:5])}{' …' if len(loose) > 5 else ''}.")
    pictures, skipped = [], []
    for info, parts in zip(files, paths):
        (skipped if not info.filename.lower().endswith(IMAGE_SUFFIXES) else pictures).append(
            (info, _class_of(parts, strip_root)[0]))
    classes = sorted({label for _i, label in pictures})
    empty = sorted({_class_of(f, strip_root)[0] for f in folders if len(_class_of(f, strip_root)) == 1}
                   - set(classes) - {""})
    if empty:
        _fail(f"The class folder(s) {', '.join(repr(e + '/') for e in empty)} hold no PNG or JPEG pictures. "
              "Add pictures to them or remove the empty folders.")
    return pictures, [info.filename for info, _label in skipped], classes


def _check_classes(labels: list[str]) -> None:
    counts = Counter(labels)
    if len(counts) < 2:
        only = next(iter(counts), "none")
        _fail(f"The zip has only one class folder ('{only}'). A classifier needs at least 2 classes: add a folder "
              "per class, e.g. cat/ and dog/.")
    rare = [c for c, n in counts.items() if n < 2]
    if rare:
        _fail(f"Class folder(s) {', '.join(repr(c + '/') for c in sorted(rare))} hold only 1 picture; each class "
              "needs at least 2 (one to train on, one to test on). Add pictures or remove the folder.")


def read_image_zip(data: bytes, filename: str = "images.zip", size: int = 32, colour: bool = False) -> ImageZipRead:
    """Every picture of a zip with one folder per class, resized to size×size, grey (default) or RGB."""
    if size not in SIZES:
        _fail(f"Choose an image size of {', '.join(map(str, SIZES))} pixels.")
    archive = _open_zip(data, filename)
    with archive:
        infos = archive.infolist()
        _check_directory(infos)
        pictures, skipped, _classes = _plan(infos)
        if not pictures:
            _fail(f"'{filename}' holds no PNG or JPEG pictures. Put one folder per class with PNG or JPEG files in it.")
        channels = 3 if colour else 1
        if len(pictures) * channels * size * size > MAX_CELLS:
            _fail(f"{len(pictures):,} pictures of {size}×{size}{' in colour' if colour else ''} are too many to keep "
                  "in memory here. Choose a smaller size or greyscale, or upload fewer pictures.")
        images = np.empty((len(pictures), channels, size, size), dtype=np.uint8)
        labels, sizes = [], Counter()
        for k, (info, label) in enumerate(pictures):
            images[k], original = decode_image(_read_member(archive, info), info.filename, size, channels)
            labels.append(label)
            sizes[original] += 1
    _check_classes(labels)
    read = ImageZipRead(images, labels, original_sizes=sizes)
    read.notes = _notes(read, skipped, size, colour)
    return read


def _notes(read: ImageZipRead, skipped: list[str], size: int, colour: bool) -> list[str]:
    notes = []
    if skipped:
        notes.append(f"Skipped {len(skipped)} file(s) that are not PNG or JPEG pictures: "
                     f"{', '.join(repr(s) for s in skipped[:5])}{' …' if len(skipped) > 5 else ''}.")
    sizes = read.original_sizes
    if len(sizes) > 1:
        areas = sorted(sizes, key=lambda s: s[0] * s[1])
        notes.append(f"The pictures came in {len(sizes)} different sizes (from {areas[0][0]}×{areas[0][1]} to "
                     f"{areas[-1][0]}×{areas[-1][1]}); all were resized to {size}×{size}.")
    elif sizes and next(iter(sizes)) != (size, size):
        (w, h), = sizes
        notes.append(f"All pictures were {w}×{h}; they were resized to {size}×{size}.")
    stretched = sum(n for (w, h), n in sizes.items() if w != h)
    if stretched:
        notes.append(f"{stretched:,} picture(s) were not square and were stretched to {size}×{size}.")
    notes.append(f"Read as {'colour (RGB)' if colour else 'greyscale'}, pixel values 0-255.")
    return notes
