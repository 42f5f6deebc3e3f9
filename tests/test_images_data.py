"""Image data sets (issue 13): built-ins, the hardened zip upload with one message per bad input, augmentation."""
from __future__ import annotations

import io
import struct
import zipfile
import zlib

import numpy as np
import pytest

from core.common import ModelDeckError
from core.data import (Augment, augment_batch, augment_preview, image_geometry, images_of, is_image, load_dataset,
                       make_image_dataset, read_image_zip, save_image_upload)


# ---------------------------------------------------------------- helpers: pictures and zips built in memory
def png(size=(12, 12), value=128, mode="L") -> bytes:
    from PIL import Image
    rng = np.random.default_rng(value)
    shape = (size[1], size[0]) if mode == "L" else (size[1], size[0], 3)
    buffer = io.BytesIO()
    Image.fromarray(rng.integers(0, 255, shape, dtype=np.uint8), mode).save(buffer, format="PNG")
    return buffer.getvalue()


def make_zip(files: dict[str, bytes], dirs: tuple[str, ...] = ()) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name in dirs:
            archive.writestr(zipfile.ZipInfo(name), b"")
        for name, data in files.items():
            info = zipfile.ZipInfo(name)
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, data)
    return buffer.getvalue()


def class_zip(classes=("cat", "dog"), per_class=3, size=(12, 12)) -> bytes:
    return make_zip({f"{c}/{i}.png": png(size, value=10 * k + i) for k, c in enumerate(classes) for i in range(per_class)})


def png_header_only(width: int, height: int) -> bytes:
    """A PNG whose header claims width×height pixels but whose data is a few bytes (a decompression bomb's shape)."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
    ihdr = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\0" * 64)) + chunk(b"IEND", b"")


def overlapping_zip() -> bytes:
    """Two directory entries pointing at the same compressed data (the overlapping-entries zip bomb trick)."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("cat/a.png", png())
        first = archive.getinfo("cat/a.png")
        for name in ("cat/b.png", "dog/a.png", "dog/b.png"):
            twin = zipfile.ZipInfo(name, first.date_time)
            for attr in ("compress_type", "CRC", "compress_size", "file_size", "header_offset", "flag_bits",
                         "external_attr", "create_system", "extract_version"):
                setattr(twin, attr, getattr(first, attr))
            archive.filelist.append(twin)
            archive.NameToInfo[name] = twin
    return buffer.getvalue()


def message(data: bytes, **kwargs) -> str:
    with pytest.raises(ModelDeckError) as caught:
        read_image_zip(data, "upload.zip", **kwargs)
    return str(caught.value)


# ---------------------------------------------------------------- the good path
def test_a_zip_of_class_folders_becomes_an_image_set_resized_to_the_chosen_size():
    read = read_image_zip(class_zip(size=(20, 20)), "pets.zip", size=16)
    assert read.images.shape == (6, 1, 16, 16) and read.images.dtype == np.uint8
    assert read.labels == ["cat"] * 3 + ["dog"] * 3
    assert any("resized to 16×16" in n for n in read.notes)
    ds = make_image_dataset(read.images, read.labels, name="pets")
    assert is_image(ds) and image_geometry(ds) == (1, 16, 16) and ds.classes == ["cat", "dog"]
    np.testing.assert_array_equal(images_of(ds), read.images.astype(np.float32))


def test_colour_pictures_keep_three_channels_and_round_trip_through_storage(fresh_home):
    files = {f"{c}/{i}.png": png((10, 10), value=i + 7 * k, mode="RGB") for k, c in enumerate("ab") for i in range(2)}
    read = read_image_zip(make_zip(files), size=8, colour=True)
    assert read.images.shape == (4, 3, 8, 8)
    ds = make_image_dataset(read.images, read.labels, name="colours")
    key = save_image_upload(ds)
    back = load_dataset(key)
    assert back.key == key and back.image_shape == (8, 8, 3) and back.fingerprint == ds.fingerprint
    np.testing.assert_array_equal(images_of(back), images_of(ds))


def test_uploaded_image_sets_are_listed_for_their_owners(fresh_home):
    from core.data import image_set_options
    read = read_image_zip(class_zip(), size=8)
    key = save_image_upload(make_image_dataset(read.images, read.labels, name="pets"), owner="browser:a")
    assert key in image_set_options(owner="browser:a") and key in image_set_options()
    assert key not in image_set_options(owner="browser:b")
    save_image_upload(make_image_dataset(read.images, read.labels, name="pets"), owner="browser:b")
    assert key in image_set_options(owner="browser:a") and key in image_set_options(owner="browser:b")
    assert "images:mnist" in image_set_options(owner="browser:b")


def test_one_top_folder_around_the_class_folders_is_stripped():
    files = {f"pets/{c}/{i}.png": png(value=i) for c in ("cat", "dog") for i in range(2)}
    assert sorted(set(read_image_zip(make_zip(files), size=8).labels)) == ["cat", "dog"]


def test_mixed_sizes_are_resized_and_said_so():
    files = {"cat/a.png": png((10, 10)), "cat/b.png": png((30, 20)), "dog/a.png": png((12, 12)), "dog/b.png": png()}
    notes = " ".join(read_image_zip(make_zip(files), size=16).notes)
    assert "3 different sizes" in notes and "resized to 16×16" in notes and "not square" in notes


def test_non_image_files_are_skipped_with_a_note():
    files = {**{f"{c}/{i}.png": png(value=i) for c in ("cat", "dog") for i in range(2)}, "cat/notes.txt": b"hello"}
    read = read_image_zip(make_zip(files), size=8)
    assert len(read.labels) == 4 and any("notes.txt" in n and "not PNG or JPEG" in n for n in read.notes)


# ---------------------------------------------------------------- every bad input has its message
def test_not_a_zip():
    assert "is not a zip archive" in message(b"this is a csv,1,2\n")


def test_zip_bomb_by_compression_ratio():
    bomb = make_zip({"cat/a.png": b"\0" * (5 * 1024**2), "dog/a.png": png()})
    assert "zip bomb" in message(bomb) and "expands" in message(bomb)


def test_zip_bomb_by_overlapping_entries():
    assert "overlap" in message(overlapping_zip())


def test_path_traversal_absolute_paths_and_backslashes():
    for name in ("../evil.png", "cat/../../evil.png", "/etc/cat.png", "cat\\a.png"):
        assert "unsafe path" in message(make_zip({name: png(), "dog/a.png": png(), "dog/b.png": png()}))


def test_only_non_image_members():
    assert "holds no PNG or JPEG" in message(make_zip({"cat/a.txt": b"x", "dog/b.csv": b"y"}))


def test_a_file_named_png_that_is_not_a_picture():
    text = message(make_zip({"cat/a.png": b"not really a png", "cat/b.png": png(), "dog/a.png": png(), "dog/b.png": png()}))
    assert "'cat/a.png' is not a readable PNG or JPEG" in text


def test_truncated_picture():
    data = png((40, 40))
    text = message(make_zip({"cat/a.png": data[: len(data) // 2], "cat/b.png": png(), "dog/a.png": png(),
                             "dog/b.png": png()}))
    assert "'cat/a.png' is damaged or truncated" in text


@pytest.mark.parametrize("side", [5000, 20000])   # over our limit / over Pillow's own bomb limit
def test_decompression_bomb(side):
    text = message(make_zip({"cat/a.png": png_header_only(side, side), "cat/b.png": png(), "dog/a.png": png(),
                             "dog/b.png": png()}))
    assert "decompression bomb" in text and "cat/a.png" in text


def test_one_class_only():
    assert "only one class folder ('cat')" in message(class_zip(classes=("cat",)))


def test_empty_class_folder():
    data = make_zip({f"cat/{i}.png": png(value=i) for i in range(2)} | {f"dog/{i}.png": png(value=i) for i in range(2)},
                    dirs=("bird/",))
    assert "'bird/'" in message(data) and "hold no PNG or JPEG" in message(data)


def test_a_class_with_one_picture():
    assert "'dog/'" in message(make_zip({"cat/a.png": png(), "cat/b.png": png(), "dog/a.png": png()}))


def test_pictures_outside_class_folders():
    assert "not in a class folder" in message(make_zip({"a.png": png(), "cat/b.png": png(), "dog/c.png": png()}))


def test_an_unsupported_size():
    assert "image size" in message(class_zip(), size=13)


# ---------------------------------------------------------------- built-in image sets
@pytest.mark.parametrize("key,shape,classes", [("images:faces", (25, 25), 2), ("images:textures", (32, 32), 3),
                                               ("builtin:digits", (8, 8), 10)])
def test_built_in_image_sets_load_without_network(key, shape, classes):
    ds = load_dataset(key)
    assert ds.image_shape == shape and len(ds.classes) == classes and len(ds.features) == shape[0] * shape[1]
    assert images_of(ds).shape == (len(ds.frame), 1, *shape)


# ---------------------------------------------------------------- augmentation
STRONG = Augment(shift=0.15, rotation=20, flip="both", brightness=0.2, contrast=0.3, noise=0.1, blur=1.0)


@pytest.mark.parametrize("aug", [STRONG, Augment(shift=0.2), Augment(rotation=30), Augment(flip="horizontal"),
                                 Augment(brightness=0.5), Augment(contrast=0.5), Augment(noise=0.3), Augment(blur=2.0)])
def test_augmentations_keep_shape_dtype_range_and_labels(aug):
    import torch
    ds = load_dataset("builtin:digits")
    x = torch.from_numpy(images_of(ds)[:64])
    labels = ds.y.iloc[:64].to_numpy().copy()
    out = augment_batch(x, aug, torch.Generator().manual_seed(0), (0.0, 16.0))
    assert out.shape == x.shape and out.dtype == x.dtype
    assert float(out.min()) >= 0.0 and float(out.max()) <= 16.0
    assert not torch.equal(out, x)                                   # something happened
    np.testing.assert_array_equal(ds.y.iloc[:64].to_numpy(), labels)   # labels untouched


def test_seeded_augmentation_repeats_and_each_picture_gets_its_own_draw():
    ds = load_dataset("builtin:digits")
    pictures = np.repeat(images_of(ds)[:1], 4, axis=0)                 # four copies of the same picture
    first, again = augment_preview(pictures, STRONG, seed=3), augment_preview(pictures, STRONG, seed=3)
    np.testing.assert_array_equal(first, again)
    assert not np.array_equal(first, augment_preview(pictures, STRONG, seed=4))
    flat = first.reshape(-1, 64)
    assert len({row.tobytes() for row in flat}) == len(flat)          # no two copies transformed alike


def test_no_augmentation_is_the_identity_and_uint8_is_refused():
    import torch
    x = torch.rand(3, 1, 8, 8)
    assert torch.equal(augment_batch(x, Augment(), torch.Generator(), (0, 1)), x)
    with pytest.raises(ModelDeckError, match="float"):
        augment_batch(x.to(torch.uint8), STRONG, torch.Generator(), (0, 1))
    with pytest.raises(ModelDeckError, match="between 0 and"):
        Augment(rotation=500).check()
