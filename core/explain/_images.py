"""Explanations drawn on the picture, for a run's CNN: which pixels pushed the network towards a class.

- `attribute`: captum's Integrated Gradients (default; baseline = a blank picture at the darkest pixel value) or
  GradientShap (baselines = training pictures), one map per picture for the class asked, on the pixels the
  network reads (the CNN's pipeline keeps raw pixel values, so the map lies on the picture itself).
- `deep_shap_check`: SHAP's DeepExplainer on the class logits as a cross-check; its values add up to
  logit(picture) − mean logit(background) (checked here), and `agreement` says how far the two maps agree.
- `lime_regions`: LIME on image regions with the segmentation that fits the size (a grid of square cells up to
  32×32 pixels, where quickshift finds a single segment; SLIC above), a fresh seeded explainer per call.
- `explain_picture` gathers the top-3 classes, the maps for the predicted and a chosen class and a plain
  caption (`where_caption`) of where the evidence sits; `confident_mistakes` picks the test pictures the
  network got wrong with the most confidence. Figures are in `core.explain.image_charts`.

torch, captum, shap and lime are imported inside the functions.
"""
from __future__ import annotations

import contextlib
import io
import time
from dataclasses import dataclass, field

import numpy as np

from core.common import ModelDeckError, softmax

METHODS = {"integrated_gradients": "Integrated Gradients (captum)", "gradient_shap": "GradientShap (captum)",
           "deep_shap": "DeepExplainer (SHAP)"}
ZONES = (("upper left", "top", "upper right"), ("left", "centre", "right"), ("lower left", "bottom", "lower right"))


# ---------------------------------------------------------------- the network behind a pipeline
@dataclass
class PictureModel:
    """A run's CNN seen from the picture side: its body takes (n, c, h, w) and returns class logits."""

    body: object              # torch module: pictures -> logits
    shape: tuple[int, int, int]
    classes: list[str]
    low: float                # darkest pixel value seen in training (the blank baseline)
    prep: object              # the pipeline's fitted preprocessing (raw rows -> pixel rows)

    def pixels(self, X) -> np.ndarray:
        """Raw rows (a frame) -> (n, c, h, w) float32 pictures as the network reads them."""
        flat = np.asarray(self.prep.transform(X), dtype=np.float32)
        return flat.reshape(len(flat), *self.shape)

    def logits(self, pictures: np.ndarray) -> np.ndarray:
        """Class logits, on one thread for pictures up to 32×32 (as the CNN trains: threads only add waiting)."""
        import torch

        from core.models import intra_op_threads
        small = self.shape[1] * self.shape[2] <= 32 * 32
        with torch.inference_mode(), intra_op_threads(1 if small else None):
            return self.body(torch.from_numpy(np.ascontiguousarray(pictures, dtype=np.float32))).numpy()

    def proba(self, pictures: np.ndarray) -> np.ndarray:
        return softmax(self.logits(pictures))


def picture_model(pipeline) -> PictureModel:
    """The CNN of a fitted pipeline as a `PictureModel` (a CPU copy; the run's model is not touched)."""
    import copy

    model = pipeline.named_steps["model"]
    if not hasattr(model, "arch_") or not hasattr(model, "net_"):
        raise ModelDeckError("Explanations on the picture need a run trained with the convolutional network (CNN). "
                             "Train one on the Train page.")
    net = copy.deepcopy(model.net_).cpu().float().eval()
    return PictureModel(net[1:], tuple(model.arch_["image_shape"]), [str(c) for c in model.classes_],
                        float(model.pixel_range_[0]), pipeline.named_steps["prep"])


def _class_index(pm: PictureModel, targets, n: int | None = None) -> np.ndarray:
    """Class positions for class names (one name is repeated for `n` pictures)."""
    index = {c: i for i, c in enumerate(pm.classes)}
    try:
        idx = np.asarray([index[str(t)] for t in np.atleast_1d(targets)], dtype=np.int64)
    except KeyError as exc:
        raise ModelDeckError(f"The model has no class {exc}; choose one of {', '.join(pm.classes)}.") from None
    return np.repeat(idx, n) if n is not None and len(idx) == 1 and n > 1 else idx


# ---------------------------------------------------------------- attributions
def attribute(pm: PictureModel, pictures: np.ndarray, targets, method: str = "integrated_gradients",
              background: np.ndarray | None = None, seed: int = 0, steps: int = 32) -> np.ndarray:
    """Attribution maps (n, c, h, w) for each picture's target class (class names)."""
    import torch
    from captum.attr import GradientShap, IntegratedGradients

    from core.models import intra_op_threads

    x = torch.from_numpy(np.ascontiguousarray(pictures, dtype=np.float32))
    target = torch.from_numpy(_class_index(pm, targets, len(x)))
    with intra_op_threads(1), torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        if method == "integrated_gradients":
            values = IntegratedGradients(pm.body).attribute(x, baselines=torch.full_like(x, pm.low), target=target,
                                                            n_steps=steps, internal_batch_size=512)
        elif method == "gradient_shap":
            if background is None:
                raise ModelDeckError("GradientShap needs background pictures (a sample of the training pictures).")
            base = torch.from_numpy(np.ascontiguousarray(background, dtype=np.float32))
            values = GradientShap(pm.body).attribute(x, baselines=base, target=target, n_samples=steps)
        elif method == "deep_shap":
            return deep_shap_check(pm, pictures, targets, background, seed).values
        else:
            raise ModelDeckError(f"Unknown attribution method '{method}'; choose one of {', '.join(METHODS)}.")
    return values.detach().numpy()


@dataclass
class ShapCheck:
    """DeepExplainer's maps for the asked classes and how well they add up to the logits."""

    values: np.ndarray          # (n, c, h, w)
    sums: np.ndarray            # per picture: sum of the map
    expected: np.ndarray        # per picture: logit(picture) − mean logit over the background, same class
    background: int

    @property
    def max_error(self) -> float:
        return float(np.max(np.abs(self.sums - self.expected))) if len(self.sums) else 0.0


def deep_shap_check(pm: PictureModel, pictures: np.ndarray, targets, background: np.ndarray, seed: int = 0) -> ShapCheck:
    """SHAP DeepExplainer on the logits of every class (the additivity is checked here, class by class)."""
    import shap
    import torch

    if background is None or len(background) < 2:
        raise ModelDeckError("DeepExplainer needs at least 2 background pictures (a sample of the training pictures).")
    idx = _class_index(pm, targets, len(pictures))
    x = torch.from_numpy(np.ascontiguousarray(pictures, dtype=np.float32))
    bg = torch.from_numpy(np.ascontiguousarray(background, dtype=np.float32))
    from core.models import intra_op_threads

    with torch.random.fork_rng(devices=[]), intra_op_threads(1):   # 1 thread: 26 ms a picture, ~5 s on 2 busy cores
        torch.manual_seed(seed)
        explainer = shap.DeepExplainer(pm.body, bg)
        raw = explainer.shap_values(x, check_additivity=False)
    raw = np.asarray(raw)                                   # (n, c, h, w, classes) in shap 0.51
    if raw.ndim == 4:
        raw = raw[..., None]
    values = np.stack([raw[i, ..., k] for i, k in enumerate(idx)])
    logits, base = pm.logits(pictures), pm.logits(background).mean(axis=0)
    expected = np.asarray([logits[i, k] - base[k] for i, k in enumerate(idx)])
    return ShapCheck(values, values.reshape(len(values), -1).sum(axis=1), expected, len(background))


def reference(pm: PictureModel, method: str, background: np.ndarray | None, size: int = 20) -> np.ndarray:
    """DeepExplainer's background matching a captum method's reference, so the cross-check compares like with
    like: the blank picture for Integrated Gradients, the same training pictures for GradientShap."""
    if method == "integrated_gradients" or background is None:
        return np.full((2, *pm.shape), pm.low, dtype=np.float32)     # DeepExplainer wants at least 2 rows
    return np.asarray(background[:size], dtype=np.float32)


def agreement(a: np.ndarray, b: np.ndarray) -> float:
    """Mean Pearson correlation between two sets of maps, picture by picture."""
    rs = []
    for x, y in zip(np.asarray(a).reshape(len(a), -1), np.asarray(b).reshape(len(b), -1)):
        if x.std() > 0 and y.std() > 0:
            rs.append(float(np.corrcoef(x, y)[0, 1]))
    return float(np.mean(rs)) if rs else float("nan")


def agreement_sentence(r: float, first: str, second: str, pictures: int) -> str:
    if not np.isfinite(r):
        return f"{first} and {second} could not be compared (one map is flat)."
    word = "agree closely" if r >= 0.8 else "mostly agree" if r >= 0.5 else "disagree"
    return (f"{first} and {second} {word} on where the evidence is: correlation {r:.2f} between their maps"
            f" ({pictures} picture{'s' if pictures != 1 else ''}).")


# ---------------------------------------------------------------- LIME regions
def grid_segments(height: int, width: int, cell: int) -> np.ndarray:
    """Square cells of `cell` pixels numbered 0…K−1 row by row (LIME expects ids 0…K−1)."""
    rows, cols = np.arange(height) // cell, np.arange(width) // cell
    return rows[:, None] * (cols.max() + 1) + cols[None, :]


def segmentation_for(height: int, width: int, seed: int = 0):
    """(function, description): a grid for pictures up to 32 px (2-px cells on 8×8, 4-px cells up to 32 px), SLIC above."""
    side = min(height, width)
    if side <= 32:
        cell = 2 if side <= 12 else 4
        segments = grid_segments(height, width, cell)
        return (lambda _image: segments), f"a grid of {cell}×{cell}-pixel cells ({segments.max() + 1} regions)"
    from skimage.segmentation import slic

    def slic_segments(image):
        return slic(image, n_segments=64, compactness=10, start_label=0, channel_axis=-1)
    return slic_segments, "SLIC superpixels (about 64 regions)"


@dataclass
class LimeRegions:
    segments: np.ndarray        # (h, w) region id per pixel
    weights: dict[int, float]   # region -> LIME weight for the class
    target: str
    description: str
    seconds: float

    @property
    def n_segments(self) -> int:
        return int(len(np.unique(self.segments)))

    def weight_map(self) -> np.ndarray:
        """(h, w): each pixel carries its region's weight."""
        return np.vectorize(lambda s: self.weights.get(int(s), 0.0))(self.segments).astype(float)


def lime_regions(pm: PictureModel, picture: np.ndarray, target: str, seed: int = 0, samples: int = 1000) -> LimeRegions:
    """LIME's weight for each region of one picture (c, h, w), towards class `target`."""
    from lime.lime_image import LimeImageExplainer

    start = time.perf_counter()
    channels, height, width = pm.shape
    k = int(_class_index(pm, [target])[0])
    segment, description = segmentation_for(height, width, seed)
    image = np.moveaxis(np.asarray(picture, dtype=np.float64), 0, -1)
    image = image[..., 0] if channels == 1 else image

    def classify(batch: np.ndarray) -> np.ndarray:
        pictures = batch[..., :1] if channels == 1 else batch
        return pm.proba(np.moveaxis(pictures, -1, 1).astype(np.float32))

    explainer = LimeImageExplainer(random_state=seed)      # a fresh one per explanation: repeatable
    with contextlib.redirect_stderr(io.StringIO()):          # LIME draws a tqdm bar on stderr
        result = explainer.explain_instance(image, classify, labels=(k,), top_labels=None, hide_color=pm.low,
                                            num_samples=samples, batch_size=256, segmentation_fn=segment,
                                            random_seed=seed)
    return LimeRegions(np.asarray(result.segments), {int(s): float(w) for s, w in result.local_exp[k]}, str(target),
                       description, time.perf_counter() - start)


# ---------------------------------------------------------------- one picture, in words
def probability_text(p: float) -> str:
    """'97.3%', never a rounded 100.0% or 0.0% (a network is rarely that sure)."""
    return "over 99.9%" if p >= 0.9995 else "under 0.1%" if p < 0.0005 else f"{p:.1%}"


def zone_shares(heat: np.ndarray) -> list[tuple[str, float]]:
    """Each zone of a 3×3 grid over a (h, w) map ('the top', 'the centre') with its share of the positive mass,
    largest first (empty when nothing is positive)."""
    positive = np.clip(np.asarray(heat, dtype=float), 0, None)
    total = positive.sum()
    if total <= 0:
        return []
    h, w = positive.shape
    rows, cols = np.array_split(np.arange(h), 3), np.array_split(np.arange(w), 3)
    shares = {ZONES[i][j]: positive[np.ix_(r, c)].sum() / total for i, r in enumerate(rows) for j, c in enumerate(cols)}
    return sorted(shares.items(), key=lambda kv: -kv[1])


def pixels_for_half(heat: np.ndarray) -> int:
    """How few pixels hold half of a map's positive mass."""
    flat = np.sort(np.clip(np.asarray(heat, dtype=float), 0, None).ravel())[::-1]
    return int(np.searchsorted(np.cumsum(flat), flat.sum() / 2)) + 1


def where_caption(attribution: np.ndarray, target: str, predicted: bool = True) -> str:
    """Where the evidence for `target` sits, in zones of a 3×3 grid ('the top', 'the centre'), with shares."""
    heat = np.asarray(attribution, dtype=float).sum(axis=0)
    positive = np.clip(heat, 0, None)
    total = positive.sum()
    ranked = zone_shares(heat)
    if not ranked:
        return f"No pixel pushed the network towards '{target}'."
    h, w = heat.shape
    rows, cols = np.array_split(np.arange(h), 3), np.array_split(np.arange(w), 3)
    top = [f"the {name} ({share:.0%})" for name, share in ranked[:2] if share >= 0.1]
    half = pixels_for_half(heat)
    lead = "The network looked mostly at" if predicted else f"The evidence for '{target}' sits mostly in"
    text = f"{lead} {' and '.join(top) or 'the whole picture evenly'} of the picture"
    text += f" for '{target}'" if predicted else ""
    text += f"; half of that evidence comes from {half} of the {h * w} pixels ({half / (h * w):.0%})."
    negative = np.clip(-heat, 0, None)
    if negative.sum() > 0.2 * total:
        against = {ZONES[i][j]: negative[np.ix_(r, c)].sum() for i, r in enumerate(rows) for j, c in enumerate(cols)}
        zone = max(against, key=against.get)
        also = " also" if zone in dict(ranked[:2]) else ""
        text += f" The strongest evidence against it{also} sits in the {zone}."
    return text


@dataclass
class PictureExplanation:
    """One picture: its top classes, the map for the predicted class and for a chosen class, and the words."""

    picture: np.ndarray              # (c, h, w) as the network reads it
    truth: str | None
    top3: list[tuple[str, float]]
    predicted: str
    chosen: str
    maps: dict[str, np.ndarray] = field(default_factory=dict)    # class -> (c, h, w)
    method: str = "integrated_gradients"
    seconds: float = 0.0

    def caption(self) -> str:
        guess, p = self.top3[0]
        verdict = "" if self.truth is None else (" — correct." if guess == self.truth else
                                                 f" — wrong: it is a '{self.truth}'.")
        runners = ", ".join(f"'{c}' {probability_text(q)}" for c, q in self.top3[1:])
        return (f"The network says '{guess}' with {probability_text(p)}{verdict} Next: {runners}. "
                + where_caption(self.maps[self.predicted], self.predicted))


def explain_picture(pm: PictureModel, picture: np.ndarray, truth: str | None = None, chosen: str | None = None,
                    method: str = "integrated_gradients", background: np.ndarray | None = None,
                    seed: int = 0) -> PictureExplanation:
    start = time.perf_counter()
    proba = pm.proba(picture[None])[0]
    order = np.argsort(-proba)[:3]
    top3 = [(pm.classes[i], float(proba[i])) for i in order]
    predicted = top3[0][0]
    chosen = str(chosen) if chosen is not None else (top3[1][0] if len(top3) > 1 else predicted)
    wanted = list(dict.fromkeys([predicted, chosen]))
    maps = attribute(pm, np.repeat(picture[None], len(wanted), axis=0), wanted, method, background, seed)
    return PictureExplanation(picture, truth, top3, predicted, chosen, dict(zip(wanted, maps)), method,
                              time.perf_counter() - start)


@dataclass
class Mistake:
    position: int             # row position in the split given
    truth: str
    predicted: str
    confidence: float
    picture: np.ndarray
    attribution: np.ndarray


def confident_mistakes(pm: PictureModel, pictures: np.ndarray, truths, k: int = 8, method: str = "integrated_gradients",
                       background: np.ndarray | None = None, seed: int = 0) -> list[Mistake]:
    """The `k` wrong predictions made with the highest probability, with the map of the (wrong) predicted class."""
    truths = np.asarray(truths).astype(str)
    proba = pm.proba(pictures)
    guess = np.asarray(pm.classes)[proba.argmax(axis=1)]
    wrong = np.flatnonzero(guess != truths)
    wrong = wrong[np.argsort(-proba[wrong].max(axis=1))][:k]
    if not len(wrong):
        return []
    maps = attribute(pm, pictures[wrong], guess[wrong], method, background, seed)
    return [Mistake(int(i), truths[i], str(guess[i]), float(proba[i].max()), pictures[i], m)
            for i, m in zip(wrong, maps)]


@dataclass
class WhereItLooks:
    """Where a CNN looks across many pictures: each pixel's average share of the evidence for the class it chose."""

    shares: np.ndarray        # (h, w), sums to 1
    zones: list[tuple[str, float]]
    half: int                 # pixels that hold half of the evidence
    pictures: int
    method: str


def where_it_looks(pm: PictureModel, pictures: np.ndarray, method: str = "integrated_gradients",
                   seed: int = 0) -> WhereItLooks:
    """Attribution maps for the predicted class of every picture; the positive part of each, as shares of its own
    total, averaged over the pictures (each picture counts the same)."""
    predicted = np.asarray(pm.classes)[pm.proba(pictures).argmax(axis=1)]
    heat = np.clip(attribute(pm, pictures, predicted, method, seed=seed).sum(axis=1), 0, None)
    totals = heat.sum(axis=(1, 2), keepdims=True)
    shares = (heat / np.where(totals > 0, totals, 1.0)).mean(axis=0)
    shares = shares / shares.sum() if shares.sum() > 0 else shares
    return WhereItLooks(shares, zone_shares(shares), pixels_for_half(shares), len(pictures), method)
