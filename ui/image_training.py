"""The Train page for pictures: train a CNN (live curves, background jobs), the same CNN with and without
augmentation, the CNN against the MLP on the same pixels, and transfer learning against training from scratch.

Comparisons decide on the validation pictures held out inside the training split (the test split is scored once,
for the chosen model only); the transfer chart is a measurement on the test pictures, labelled as such."""
from __future__ import annotations

import pandas as pd
import streamlit as st

from core.data import Augment, image_charts
from core.models import FAMILIES, IMAGE_FAMILIES, ModelSpec
from ui._shelf import shelf as shelf_named
from ui.common import caption, chart, param_widgets, to_json, user_errors
from ui.images import augment_preview_section, augment_widgets, current_augment
from ui.training import processes_picker, train_controls, trained_for

ALL_FAMILIES = {**IMAGE_FAMILIES, **FAMILIES}
AUG_PARAMS = tuple(f"aug_{k}" for k in Augment().__dataclass_fields__)


def estimate_seconds(dataset, spec: ModelSpec, cv_folds: int) -> float:
    """Rough training time on one CPU core: a 64-picture CNN step costs about 4 µs per pixel (28×28: ~13 ms)."""
    rows, cols = dataset.frame.shape
    fits = 1 + max(cv_folds, 0)
    if spec.family == "cnn":
        return fits * spec.params["epochs"] * 0.6 * rows * cols * 4e-6 / 64 * (spec.params["width"] / 16)
    from ui.training import estimate_seconds as table_estimate
    return table_estimate(dataset, spec, cv_folds)


def train_view(dataset, prep) -> None:
    caption(f"Train models on the {len(dataset.frame):,} pictures of **{dataset.name}** to predict "
            f"'{dataset.target}'. The convolutional network (CNN) looks at small patches and normalises pixels itself; "
            f"other models read every pixel as a column. Test split {prep.test_size:.0%}, seed {prep.seed} "
            "(change them on the Data page).")
    one, augment, versus, transfer = st.tabs(["Train a model", "Augmentation: with and without",
                                              "CNN against the MLP", "Transfer learning"])
    with one:
        _train_one(dataset, prep)
    with augment:
        _augmentation_comparison(dataset, prep)
    with versus:
        _cnn_against_mlp(dataset, prep)
    with transfer:
        from ui.image_transfer import transfer_view
        transfer_view(dataset, prep)


# ---------------------------------------------------------------- one model
def _train_one(dataset, prep) -> None:
    family_key = st.selectbox("Model", list(ALL_FAMILIES), format_func=lambda k: ALL_FAMILIES[k].title[dataset.task],
                              key="img_train_family", persist_state="session")
    caption(ALL_FAMILIES[family_key].summary)
    with st.expander("Settings", expanded=family_key == "cnn"):
        params = param_widgets(family_key, "img", skip=AUG_PARAMS)
        cv_folds = st.slider("Cross-validation folds (0 = skip; each fold trains the model again)", 0, 10, 0,
                             key="img_train_cv", persist_state="session")
    if family_key == "cnn":
        use_aug = st.checkbox("Augment the training pictures on the fly", False, key="img_train_use_aug",
                              persist_state="session")
        if use_aug:
            aug = current_augment()
            caption(f"Each training picture gets its own random draw per epoch: {aug.describe()} (set the strengths "
                    "and see a preview in the 'Augmentation: with and without' tab or on the Data page).")
            params |= aug.to_params()
    with user_errors():
        spec = ModelSpec.create(family_key, seed=prep.seed, **params)
    estimate = estimate_seconds(dataset, spec, cv_folds)
    train_controls(dataset, spec, prep, cv_folds, estimate=estimate, key="img_train",
                   note=" (with 5-fold cross-validation)", processes=processes_picker(dataset, family_key))


# ---------------------------------------------------------------- two trainings side by side
def _train_pair(dataset, prep, specs: dict[str, ModelSpec], label: str) -> dict:
    """Train each spec (cached), one progress bar for all; name -> TrainedModel."""
    bar = st.progress(0.0, text=label)
    models = {}
    for i, (name, spec) in enumerate(specs.items()):
        models[name] = trained_for(dataset, spec, prep, 0, lambda f, m, h=None, i=i, n=name: bar.progress(
            min((i + f) / len(specs), 1.0), text=f"{n}: {m}"))
    bar.empty()
    return models


def _best_validation(trained) -> float:
    scores = [h["val_score"] for h in trained.history if h.get("val_score") is not None]
    return max(scores) if scores else float("nan")


def _pair_table(models: dict) -> pd.DataFrame:
    return pd.DataFrame([{"model": name, "best validation accuracy": _best_validation(m), "epochs": len(m.history),
                          "fit (s)": m.fit_seconds} for name, m in models.items()])


def _verdict(models: dict, n_val: int, question: str = "", candidate: str | None = None) -> str:
    """The sentence, decided on validation accuracy (a tie keeps the first, simpler model), with the chosen one's
    test score, measured once. With `question`, it opens with the answer: does `candidate` win?"""
    (a, ma), (b, mb) = models.items()
    va, vb = _best_validation(ma), _best_validation(mb)
    tie = abs(va - vb) < 0.005
    chosen, other = (a, b) if tie or va > vb else (b, a)
    if question:
        answer = "not measurably" if tie else "yes" if chosen == candidate else "no"
        opening = f"{question}? {answer.capitalize()}: "
    else:
        opening = ""
    if tie:
        text = (f"{opening}the two end within {abs(va - vb) * 100:.1f} points on the {n_val:,} validation pictures "
                f"held out from training ({va:.1%} against {vb:.1%}); on this data the difference is noise, so the "
                f"simpler '{chosen}' is kept.")
    else:
        text = (f"{opening}'{chosen}' reached {max(va, vb):.1%} on the {n_val:,} validation pictures held out from "
                f"training, {abs(va - vb) * 100:.1f} points above '{other}' ({min(va, vb):.1%}).")
    test = models[chosen].report.test["accuracy"]
    text = text[0].upper() + text[1:]
    return text + f" '{chosen}' scores {test:.1%} on the test pictures (measured once, for it only)."


def _validation_pictures(dataset, prep) -> int:
    n_train = int(round(len(dataset.frame) * (1 - prep.test_size)))
    return int(round(0.1 * n_train))


def _cnn_spec(prep, **params) -> ModelSpec:
    with user_errors():
        return ModelSpec.create("cnn", seed=prep.seed, **params)


def _augmentation_comparison(dataset, prep) -> None:
    caption("The same CNN, the same seed and the same pictures, trained once as they are and once with each training "
            "picture randomly transformed every epoch. Choose the transforms, check the preview, then compare.")
    aug = augment_widgets()
    with st.expander("Preview", expanded=False):
        augment_preview_section(dataset, aug, key="img_aug_preview")
    if not aug.active:
        st.info("Every strength is 0: there is nothing to compare yet. Raise at least one.")
        return
    epochs = st.slider("Epochs (at most, with early stopping)", 5, 100, 30, key="img_aug_epochs")
    specs = {"without augmentation": _cnn_spec(prep, epochs=epochs),
             "with augmentation": _cnn_spec(prep, epochs=epochs, **aug.to_params())}
    key = (dataset.key, to_json(prep.to_dict()), tuple(s.to_json() for s in specs.values()))
    if st.button("Train with and without augmentation", type="primary", key="img_aug_go"):
        st.session_state["img_aug_pair"] = key
    if st.session_state.get("img_aug_pair") != key:
        return
    models = _train_pair(dataset, prep, specs, "Training the CNN with and without augmentation")
    chart(image_charts.curves_side_by_side_figure({n: m.history for n, m in models.items()}))
    st.dataframe(_pair_table(models).style.format({"best validation accuracy": "{:.1%}", "fit (s)": "{:.1f}"}),
                 hide_index=True)
    caption(_verdict(models, _validation_pictures(dataset, prep), f"Did augmentation ({aug.describe()}) help",
                     candidate="with augmentation"))


def _cnn_against_mlp(dataset, prep) -> None:
    caption("The CNN and the PyTorch MLP (which reads every pixel as a separate column) on the same pixels, the same "
            "split and the same seed, with their default settings.")
    if st.button("Train the CNN and the MLP", type="primary", key="img_vs_go"):
        st.session_state["img_vs"] = (dataset.key, to_json(prep.to_dict()))
    if st.session_state.get("img_vs") != (dataset.key, to_json(prep.to_dict())):
        return
    with user_errors():
        specs = {"MLP": ModelSpec.create("mlp", seed=prep.seed), "CNN": ModelSpec.create("cnn", seed=prep.seed)}
    models = _train_pair(dataset, prep, specs, "Training the CNN and the MLP")
    histories = {n: m.history for n, m in models.items()}
    chart(image_charts.curves_side_by_side_figure(histories, title="Validation accuracy per epoch: CNN and MLP"))
    chart(image_charts.curves_side_by_side_figure(histories, "val_loss", title="Validation loss per epoch: CNN and MLP"))
    st.dataframe(_pair_table(models).style.format({"best validation accuracy": "{:.1%}", "fit (s)": "{:.1f}"}),
                 hide_index=True)
    caption(_verdict(models, _validation_pictures(dataset, prep)))


def shelf():
    return shelf_named("image_studies", 8)



__all__ = ["train_view", "estimate_seconds", "shelf"]
