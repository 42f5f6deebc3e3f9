"""The Explain page for a CNN run on pictures: heat maps on one test picture (predicted and chosen class), its top-3
classes and a plain caption, LIME's regions, SHAP's DeepExplainer as a cross-check, and the most confident mistakes.

The network is copied once per run (a `PictureModel` on the shelf); maps are computed on request per picture."""
from __future__ import annotations

import numpy as np
import streamlit as st

from core import explain as ex
from core.data import is_image, pixel_range
from core.explain import image_charts
from ui._shelf import shelf as shelf_named
from ui.common import caption, chart, user_errors
from ui.data import dataset as cached_dataset
from ui.runs import run_model, run_split

BACKGROUND = 50     # training pictures GradientShap and DeepExplainer average over


def is_picture_run(run) -> bool:
    """A finished run whose data set is pictures and whose model is the CNN."""
    if run is None or run.status != "done" or run.spec.get("family") != "cnn":
        return False
    try:
        return is_image(cached_dataset(run.dataset_key))
    except Exception:  # noqa: BLE001 - a data set that no longer loads: the regular page says why
        return False


def picture_view_instead(run, view) -> None:
    """A picture run is shown by `view(run)` and the page stops there (issue 13); tables go on."""
    if is_picture_run(run):
        view(run)
        st.stop()


def _context(run):
    """(PictureModel, test pictures, test labels, background pictures, pixel range), shared per run version."""
    version = run.updated_at.isoformat()

    def make():
        with user_errors():
            pm = ex.picture_model(run_model(run.id, version))
        split = run_split(run.id, version)
        rows = np.random.default_rng(0).permutation(len(split.X_train))[:BACKGROUND]
        return (pm, pm.pixels(split.X_test), split.y_test.astype(str).to_numpy(),
                pm.pixels(split.X_train.iloc[rows]), pixel_range(cached_dataset(run.dataset_key)))
    return shelf_named("picture_models", 8).get_or_make((run.id, version), make)


def explain_view(run) -> None:
    pm, pictures, truths, background, value_range = _context(run)
    caption(f"Run '{run.name}' is a convolutional network on pictures: the heat maps below are drawn on the "
            f"{len(pictures):,} test pictures it never saw while training.")
    one, check, mistakes = st.tabs(["One picture", "Cross-check with SHAP", "Most confident mistakes"])
    with one:
        method = _one_picture(run, pm, pictures, truths, background, value_range)
    with check:
        _cross_check(run, pm, pictures, truths, background, value_range, method)
    with mistakes:
        _mistakes(pm, pictures, truths, background, value_range, method)


def _method_choice(run) -> str:
    methods = ["integrated_gradients", "gradient_shap"]
    return st.selectbox("Attribution method", methods, format_func=ex.IMAGE_METHODS.get,
                        key=f"img_explain_method_{run.id}", persist_state="session",
                        help="Integrated Gradients compares the picture with a blank one; GradientShap with "
                             f"{BACKGROUND} training pictures.")


def _one_picture(run, pm, pictures, truths, background, value_range) -> str:
    a, b, c = st.columns(3)
    with a:
        method = _method_choice(run)
    position = int(b.number_input(f"Test picture (0–{len(pictures) - 1})", 0, len(pictures) - 1, 0,
                                  key=f"img_explain_pos_{run.id}"))
    proba = pm.proba(pictures[position:position + 1])[0]
    ranked = [pm.classes[i] for i in np.argsort(-proba)]
    chosen = c.selectbox("Also show the evidence for class", ranked[1:] + ranked[:1], key=f"img_explain_class_{run.id}",
                         help="By default the runner-up: what would have made the network say that instead?")
    with user_errors():
        explained = ex.explain_picture(pm, pictures[position], truths[position], chosen, method, background)
        lime = ex.lime_regions(pm, pictures[position], explained.predicted, seed=0)
    chart(image_charts.picture_figure(explained, value_range, lime, ex.IMAGE_METHODS[method]))
    caption(explained.caption())
    if explained.chosen != explained.predicted:
        caption(ex.where_caption(explained.maps[explained.chosen], explained.chosen, predicted=False))
    positive = sorted(((w, s) for s, w in lime.weights.items() if w > 0), reverse=True)[:3]
    caption(f"LIME ({lime.description}, 1,000 perturbed copies, {lime.seconds:.1f} s): "
            f"{len(positive)} region(s) raise the probability of '{lime.target}' most; red regions support it, "
            "blue ones argue against it. Red and blue on the heat maps: pixels that pushed towards or away from the class.")
    chart(image_charts.top_classes_figure(explained))
    return method


def _cross_check(run, pm, pictures, truths, background, value_range, method: str) -> None:
    caption("SHAP's DeepExplainer shares out the same logit in its own way. It uses the same reference as the captum "
            "method (the blank picture for Integrated Gradients, the training pictures for GradientShap), so the two "
            "should agree; its values must add up to the logit gap exactly.")
    count = st.slider("Test pictures to compare", 4, 32, 8, key=f"img_check_n_{run.id}")
    chosen = pictures[:count]
    predicted = np.asarray(pm.classes)[pm.proba(chosen).argmax(axis=1)]
    with user_errors(), st.spinner("Running DeepExplainer…"):
        check = ex.deep_shap_check(pm, chosen, predicted, ex.reference(pm, method, background))
        captum = ex.attribute(pm, chosen, predicted, method, background)
    r = ex.agreement(captum, check.values)
    chart(image_charts.compare_methods_figure(chosen[0], {ex.IMAGE_METHODS[method]: captum[0],
                                                           ex.IMAGE_METHODS["deep_shap"]: check.values[0]}, value_range))
    caption(ex.agreement_sentence(r, ex.IMAGE_METHODS[method], ex.IMAGE_METHODS["deep_shap"], count))
    reference = "the logit of the blank picture" if method == "integrated_gradients" else \
        f"the mean logit of the {check.background} training pictures"
    caption(f"DeepExplainer's values add up to each picture's logit minus {reference} to within "
            f"{check.max_error:.1e} (logits explained, every class computed).")


def _mistakes(pm, pictures, truths, background, value_range, method: str) -> None:
    k = st.slider("Mistakes to show", 4, 16, 8, step=4, key="img_mistakes_k")
    with user_errors(), st.spinner("Finding the most confident mistakes…"):
        found = ex.confident_mistakes(pm, pictures, truths, k=k, method=method, background=background)
    wrong = int((np.asarray(pm.classes)[pm.proba(pictures).argmax(axis=1)] != truths).sum())
    if not found:
        st.success(f"The network gets every one of the {len(pictures):,} test pictures right: no mistakes to show.")
        return
    chart(image_charts.mistakes_figure(found, value_range))
    caption(f"{wrong:,} of the {len(pictures):,} test pictures ({wrong / len(pictures):.1%}) are wrong; these are the "
            f"{len(found)} the network was surest about. Red marks the pixels that pushed it to the wrong class: "
            "look for smudges, unusual strokes or labels that look wrong themselves.")


def predict_view(run) -> None:
    """The Predict page for a CNN run: one uploaded PNG/JPEG, read as the training pictures were, with its top
    classes and where the network looked."""
    from core.data import decode_image
    pm, _pictures, _truths, background, value_range = _context(run)
    channels, height, width = pm.shape
    caption(f"Run '{run.name}' reads {height}×{width} {'colour' if channels == 3 else 'grey'} pictures: upload one "
            "(PNG or JPEG); it is resized the way the training pictures were, then classified.")
    uploaded = st.file_uploader("A picture", type=["png", "jpg", "jpeg"], key="predict_picture")
    if uploaded is None:
        st.info("Upload a picture to classify it.", icon=":material/upload_file:")
        return
    with user_errors():
        pixels, original = decode_image(uploaded.getvalue(), uploaded.name, height, channels)
        explained = ex.explain_picture(pm, pixels.astype(np.float32), background=background)
    if original != (width, height):
        caption(f"'{uploaded.name}' is {original[0]}×{original[1]} pixels; it was resized to {width}×{height}.")
    chart(image_charts.picture_figure(explained, value_range, method_title=ex.IMAGE_METHODS[explained.method]))
    caption(explained.caption())
    chart(image_charts.top_classes_figure(explained))
