"""Transfer learning on the Train page: pick where the CNN starts (a saved run's CNN, a CNN pretrained here on
another picture set, or safetensors weights), then compare fine-tuning with training from scratch on the same
labelled pictures (e.g. 50 and 200 per class)."""
from __future__ import annotations

import numpy as np
import streamlit as st

from core.data import PrepOptions, flat_pixels, image_geometry, resize_images, split_dataset
from core.models import STARTS, ModelSpec
from core.models import charts as charts_models
from ui.common import caption, chart, dataset_options, to_json, user_errors
from ui.data import dataset as cached_dataset
from ui.common import progress_status
from ui.image_training import shelf
from ui.runs import finished_runs, run_model
from ui.training import trained_for

PRETRAIN_EPOCHS = 15
SOURCE_SETS = ("images:mnist", "builtin:digits", "images:faces", "images:textures")


def _source_choices(dataset) -> dict[str, str]:
    """key -> label: saved CNN runs, picture sets to pretrain on here, and uploaded weights."""
    options = {f"run:{r.id}": f"Saved run: {r.name}" for r in finished_runs() if r.spec.get("family") == "cnn"}
    names = dataset_options()
    for key in (k for k in SOURCE_SETS if k != dataset.key):
        options[f"pretrain:{key}"] = f"Pretrain a CNN here on {names.get(key, key)} ({PRETRAIN_EPOCHS} epochs)"
    options["upload"] = "Weights from a safetensors file"
    return options


def _pretrained(source_key: str, progress):
    """A CNN trained on another picture set with default settings (cached, shared, read-only)."""
    source_set = cached_dataset(source_key)
    spec = ModelSpec.create("cnn", seed=0, epochs=PRETRAIN_EPOCHS)
    trained = trained_for(source_set, spec, PrepOptions(), 0, progress)
    return trained.pipeline.named_steps["model"], source_set.name


def _source(choice: str, dataset):
    """(fitted CNN or weights, name) for the chosen start; None while weights are not uploaded yet."""
    if choice.startswith("run:"):
        from ui.runs import run_store
        run = run_store().get(choice[4:])
        return run_model(run.id, run.updated_at.isoformat()).named_steps["model"], f"run '{run.name}'"
    if choice.startswith("pretrain:"):
        key = choice.removeprefix("pretrain:")
        return progress_status(f"Pretraining a CNN on {key}", lambda p: _pretrained(key, p))
    from core.models import weights_from_safetensors
    channels, height, width = image_geometry(dataset)
    uploaded = st.file_uploader("Weights (.safetensors; pickles are never loaded)", type=["safetensors"],
                                key="img_transfer_weights")
    a, b, c = st.columns(3)
    width_px = a.number_input("Filters in the first convolution", 4, 128, 16, key="img_transfer_width")
    blocks = b.number_input("Conv blocks (0 = from the picture size)", 0, 5, 0, key="img_transfer_blocks")
    dense = c.number_input("Units in the dense layer", 8, 1024, 64, key="img_transfer_dense")
    if uploaded is None:
        st.info(f"Upload weights saved from a ModelDeck CNN for {height}×{width} pictures with {channels} channel(s); "
                "their shapes are checked against that network before anything is used.")
        return None
    with user_errors():
        return (weights_from_safetensors(uploaded.getvalue(), (channels, height, width), int(width_px), int(blocks),
                                         int(dense), name=uploaded.name), f"'{uploaded.name}'")


def _target_arrays(dataset, prep, shape) -> tuple:
    """The data set's own split, its pictures brought to the source's size and channels."""
    split = split_dataset(dataset, prep)
    channels, height, width = image_geometry(dataset)

    def pictures(X):
        return flat_pixels(resize_images(X.to_numpy(np.float32).reshape(-1, channels, height, width),
                                         tuple(shape[1:]), int(shape[0])))
    return pictures(split.X_train), split.y_train.to_numpy(), pictures(split.X_test), split.y_test.to_numpy()


def transfer_view(dataset, prep) -> None:
    caption("Start the CNN from one trained on other pictures, then train on a few labelled pictures of this set: "
            "with the convolutions frozen, at a tenth of the learning rate, or all fine-tuned. Each is compared with "
            "the same CNN trained from scratch on exactly the same labelled pictures.")
    choices = _source_choices(dataset)
    choice = st.selectbox("Start from", list(choices), format_func=choices.get, key="img_transfer_source")
    budgets = st.multiselect("Labelled pictures per class", [10, 20, 50, 100, 200], default=[50, 200],
                             key="img_transfer_budgets")
    starts = st.multiselect("Pretrained starts", [s for s in STARTS if s != "scratch"],
                            default=["frozen", "lower_lr", "all"], format_func=STARTS.get, key="img_transfer_starts")
    if not budgets or not starts:
        st.info("Choose at least one label budget and one pretrained start.")
        return
    study_key = (dataset.key, to_json(prep.to_dict()), choice, tuple(sorted(budgets)), tuple(starts))
    if st.button("Compare fine-tuning with training from scratch", type="primary", key="img_transfer_go"):
        st.session_state["img_transfer"] = study_key
    if st.session_state.get("img_transfer") != study_key and choice != "upload":
        return
    source = _source(choice, dataset)
    if source is None or st.session_state.get("img_transfer") != study_key:
        return
    model, source_name = source
    result = shelf().get(study_key) if choice != "upload" else None
    if result is None:
        from core.models import transfer_study
        arrays = _target_arrays(dataset, prep, model.arch_["image_shape"])
        counts = dataset.y.astype(str).value_counts()
        if max(budgets) > int(counts.min() * (1 - prep.test_size)):
            st.info(f"The smallest class has about {int(counts.min() * (1 - prep.test_size)):,} training pictures: "
                    "larger budgets use all of a class's pictures.")
        with user_errors():
            result = progress_status("Fine-tuning and training from scratch", lambda p: transfer_study(
                model, *arrays, budgets=tuple(sorted(budgets)), starts=tuple(starts), seed=prep.seed,
                source_name=source_name, target_name=dataset.name, progress=p))
        if choice != "upload":
            shelf().put(study_key, result)
    chart(charts_models.transfer_figure(result))
    caption(result.sentence())
    table = result.table().assign(start=lambda t: t["start"].map(STARTS))
    st.dataframe(table.style.format({"accuracy": "{:.1%}", "seconds": "{:.1f}"}), hide_index=True)
