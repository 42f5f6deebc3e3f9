"""Image data sets as the pages see them: the zip upload, the Data page's picture view (samples per class, class
balance, pixel and size statistics, live augmentation preview) and the augmentation settings shared with Train.
Training and explanation views for pictures are in `ui.image_training`, `ui.image_transfer` and `ui.image_explain`."""
from __future__ import annotations

import streamlit as st

from core.data import Augment, FLIPS, IMAGE_SIZES, is_image
from core.data import image_charts
from ui.common import caption, chart, empty_uploader, select, uploader_key, user_errors
from ui.data import dataset as cached_dataset
from ui.runs import require_write

__all__ = ["is_image", "zip_upload_section", "data_view", "augment_widgets", "current_augment"]


# ---------------------------------------------------------------- upload
def store_image_upload(images, labels, name: str, description: str, notes: list[str]) -> str:
    """Validate and save an uploaded image set (after the one permission check); returns its key."""
    from core.data import make_image_dataset, save_image_upload
    owner = require_write().owner
    dataset = make_image_dataset(images, labels, name=name, description=description, notes=notes)
    return save_image_upload(dataset, owner=owner)      # listed for this user (browser) only


def zip_upload_section() -> None:
    """Upload a zip with one folder per class (PNG/JPEG), resized to a chosen size, grey or colour."""
    from core.data import read_image_zip
    with st.expander("Upload pictures (a zip with one folder per class)", icon=":material/photo_library:"):
        st.caption("E.g. cat/001.png, cat/002.jpg, dog/001.png … PNG and JPEG only; every picture is resized to a "
                   "square of the chosen size. The zip is checked before anything is unpacked.")
        uploaded = st.file_uploader("Zip file", type=["zip"], key=uploader_key("image_zip"))
        size_col, colour_col = st.columns(2)
        size = size_col.selectbox("Picture size (pixels per side)", IMAGE_SIZES, index=IMAGE_SIZES.index(32),
                                  key="image_zip_size")
        colour = colour_col.radio("Colours", ["greyscale", "colour (RGB)"], horizontal=True,
                                  key="image_zip_colour") != "greyscale"
        if uploaded is None:
            return
        with user_errors():
            read = read_image_zip(uploaded.getvalue(), uploaded.name, size=size, colour=colour)
        counts = ", ".join(f"'{c}' {n:,}" for c, n in sorted(read.classes.items()))
        caption(f"Found {len(read.labels):,} pictures in {len(read.classes)} classes: {counts}.")
        for note in read.notes:
            st.info(note)
        if st.button("Use these pictures", type="primary", key="image_zip_use"):
            name = uploaded.name.rsplit(".", 1)[0]
            description = (f"Uploaded from {uploaded.name}: {len(read.labels):,} pictures in {len(read.classes)} "
                           f"classes, {size}×{size} {'colour' if colour else 'grey'}.")
            with user_errors():
                select("data", store_image_upload(read.images, read.labels, name, description, read.notes))
                empty_uploader("image_zip")
                st.toast(f"Now using '{name}'.", icon=":material/check:")
            select("run", None)
            st.rerun()


# ---------------------------------------------------------------- the Data page for pictures
@st.cache_data(max_entries=16, show_spinner="Measuring the pictures…")
def stats(key: str):
    return image_charts.image_stats(cached_dataset(key))


AUG_DEFAULTS = {"shift": 0.1, "rotation": 10.0, "flip": "none", "brightness": 0.0, "contrast": 0.0, "noise": 0.0,
                "blur": 0.0}


def augment_widgets() -> Augment:
    """One strength per augmentation, drawn once per page (the Data page's preview tab, the Train page's comparison
    tab); the same session keys everywhere, so a choice made on one reaches the other and `current_augment`."""
    a, b, c = st.columns(3)
    d = AUG_DEFAULTS
    values = dict(
        shift=a.slider("Random shift / crop (share of the side)", 0.0, 0.3, d["shift"], 0.01, key="aug_shift",
                       persist_state="session"),
        rotation=a.slider("Random rotation (degrees)", 0.0, 45.0, d["rotation"], 1.0, key="aug_rotation",
                          persist_state="session"),
        flip=a.selectbox("Random flips", FLIPS, index=FLIPS.index(d["flip"]), key="aug_flip", persist_state="session",
                         help="Flips change the meaning of digits and letters: leave them off for those."),
        brightness=b.slider("Brightness (share of the range)", 0.0, 0.5, d["brightness"], 0.01, key="aug_brightness",
                            persist_state="session"),
        contrast=b.slider("Contrast (share)", 0.0, 0.5, d["contrast"], 0.01, key="aug_contrast",
                          persist_state="session"),
        noise=c.slider("Gaussian noise (share of the range)", 0.0, 0.3, d["noise"], 0.01, key="aug_noise",
                       persist_state="session"),
        blur=c.slider("Gaussian blur (sigma, pixels)", 0.0, 2.0, d["blur"], 0.1, key="aug_blur", persist_state="session"),
    )
    with user_errors():
        return Augment(**values).check()


def current_augment() -> Augment:
    """The augmentation chosen with `augment_widgets` (its defaults before any choice), without drawing widgets."""
    with user_errors():
        return Augment(**{name: st.session_state.get(f"aug_{name}", default)
                          for name, default in AUG_DEFAULTS.items()}).check()


def augment_preview_section(dataset, aug: Augment, key: str = "aug_preview") -> None:
    """A grid of originals next to augmented versions for a fixed seed (the same seed gives the same grid)."""
    import numpy as np

    from core.data import augment_preview, images_of, pixel_range
    left, right = st.columns(2)
    seed = int(left.number_input("Preview seed", 0, 10_000, 0, key=f"{key}_seed"))
    count = int(right.slider("Pictures", 2, 8, 4, key=f"{key}_count"))
    rows = np.random.default_rng(seed).choice(len(dataset.frame), size=count, replace=False)
    originals = images_of(dataset, dataset.frame.index[rows])
    value_range = pixel_range(dataset)
    augmented = augment_preview(originals, aug, seed, copies=5, value_range=value_range)
    chart(image_charts.augment_preview_figure(originals, augmented, value_range, aug.describe(), seed))
    caption("Each training picture gets its own random draw every epoch (training split only); validation, test and "
            "prediction see the pictures as they are. Pick strengths that keep every picture recognisable.")


def data_view(dataset) -> None:
    """The Data page for an image set: what is in it, then how it is split."""
    st.markdown(f"**{dataset.name}** — {dataset.description}")
    for note in dataset.notes:
        st.info(note)
    s = stats(dataset.key)
    c1, c2, c3, c4 = st.columns(4)
    c1.metric("Pictures", f"{s.pictures:,}")
    c2.metric("Classes", f"{s.classes}")
    c3.metric("Size", f"{s.height}×{s.width} px")
    c4.metric("Channels", "3 (colour)" if s.channels == 3 else "1 (grey)")
    caption(s.sentence())
    samples, balance, pixels, augment = st.tabs(["Samples per class", "Class balance", "Pixels and sizes",
                                                 "Augmentation preview"])
    with samples:
        per_class = st.slider("Pictures per class", 4, 16, 8, key="image_per_class")
        seed = int(st.number_input("Sample seed", 0, 10_000, 0, key="image_sample_seed"))
        chart(image_charts.sample_grid_figure(dataset, per_class=per_class, seed=seed))
    with balance:
        chart(image_charts.class_balance_figure(dataset))
        counts = dataset.y.astype(str).value_counts()
        caption(f"The largest class has {counts.max():,} pictures, the smallest {counts.min():,} "
                f"({counts.max() / max(counts.min(), 1):.1f}× apart)." +
                (" Accuracy alone can flatter a model on data this unbalanced: look at per-class recall on Metrics."
                 if counts.max() > 3 * counts.min() else ""))
    with pixels:
        chart(image_charts.pixel_histogram_figure(dataset))
        chart(image_charts.mean_image_figure(dataset))
        caption("Every picture has the same size here (uploads are resized when read, and the notes above say so). "
                "The average pictures show where each class puts its strokes or its light.")
    with augment:
        augment_preview_section(dataset, augment_widgets())
    split_section()


def split_section() -> None:
    """Test split and seed: the only cleaning choices that apply to pictures (the CNN normalises pixels itself)."""
    from ui.common import current_prep
    st.subheader("Train/test split")
    caption("Pictures need no cleaning: the convolutional network normalises pixel values itself, and other models "
            "read each pixel as a number with the scaling chosen for tables.")
    defaults = current_prep()
    a, b = st.columns(2)
    a.select_slider("Test split (share of pictures held out)", [round(0.05 * i, 2) for i in range(2, 11)],
                    value=round(defaults.test_size, 2), key="prep_test_size", persist_state="session",
                    format_func=lambda v: f"{v:.0%}")
    b.number_input("Random seed", 0, 2**31 - 1, defaults.seed, key="prep_seed", persist_state="session")
    st.page_link("pages/train.py", label="Next: train a CNN on these pictures →", icon=":material/model_training:")
