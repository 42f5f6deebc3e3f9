"""The story's slides: one picture, one number, a headline generated from the measurements, a short text in plain
words, speaker notes that say where each number comes from, and the technical statement one click away.

`StoryStep` is one slide. The builders take plain results (a data set, the contenders' scores, a MetricReport, an
Explanation, a TradeoffTable, throughputs, advice), so the story run and a stored run (the report's summary) make
the same slides. Headlines never contradict their numbers: a compressed model that answers more slowly is called
slower, with whether a person would notice.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import plotly.graph_objects as go

from core.common.charts import BAD, CAUTION, GOOD, MUTED
from core.share import _slide_figures as figs
from core.share._words import model_phrase, out_of_100, plain_model, question_of

INSTANT_MS = 100.0          # below this a person does not notice the wait (a tenth of a second)


@dataclass
class StoryStep:
    """One slide."""

    key: str                 # data | best_model | how_good | why | smaller | cost | advice
    title: str               # short label above the headline ("The data")
    big: str                 # the headline, generated from the numbers
    sentence: str            # one or two short sentences in plain words
    figure: go.Figure | None = None
    number: str = ""         # the one number shown large
    number_label: str = ""   # what that number counts
    notes: list[str] = field(default_factory=list)    # speaker notes: where each number comes from
    technical: str = ""      # the same facts in the technical terms of the page behind the slide
    page: str = ""           # that page (a path under pages/)
    seconds: float = 0.0     # how long computing this step took

    def to_dict(self) -> dict:
        return {"key": self.key, "title": self.title, "headline": self.big, "number": self.number,
                "number_label": self.number_label, "text": self.sentence, "notes": list(self.notes),
                "technical": self.technical, "page": self.page, "seconds": round(self.seconds, 3),
                "has_picture": self.figure is not None}


@dataclass(frozen=True)
class Contender:
    """One model the story tried, as the contenders slide needs it."""

    family: str
    title: str
    cv_mean: float
    cv_std: float
    chosen: bool
    size_bytes: int = 0
    ms_per_row: float = 0.0

    def to_dict(self) -> dict:
        return dict(self.__dict__)


@dataclass(frozen=True)
class Words:
    """How this data set talks: one row, many rows, the target's name, column names -> labels."""

    one: str
    many: str
    target: str
    names: dict
    image_shape: tuple | None = None     # pictures: (height, width) of the pixel grid
    classes: dict = field(default_factory=dict)     # class code -> the name its owner gave (bare codes only)

    def col(self, column: str) -> str:
        return self.names.get(column, column.replace("_", " "))

    def cls(self, value) -> str:
        """A class as people read it (its given name, else the label): `core.data.class_name`."""
        from core.data import class_name
        return class_name(value, self.classes)


def words_for(dataset, owner: str | None = None) -> Words:
    """The data set's own words for `owner`: its column labels, the class names given for bare codes."""
    from core.data import load_class_names, load_labels
    from core.explain import entity_words
    one, many = entity_words(dataset.key)
    labels = {c: label for c, (label, _unit) in load_labels(dataset.key, owner).items() if label}
    shape = getattr(dataset, "image_shape", None)
    if shape:        # pixel columns px_<row>_<col>: say where the pixel is (row, column from the top left)
        for column in dataset.features:
            parts = column.split("_")
            if len(parts) == 3 and parts[1].isdigit() and parts[2].isdigit() and column not in labels:
                labels[column] = f"pixel ({int(parts[1]) + 1}, {int(parts[2]) + 1})"
    return Words(one, many, labels.get(dataset.target, dataset.target.replace("_", " ")), labels,
                 tuple(shape[:2]) if shape else None, load_class_names(dataset.key, owner))


def join(items: list[str]) -> str:
    """'a', 'a and b', 'a, b and c'."""
    return items[0] if len(items) == 1 else f"{', '.join(items[:-1])} and {items[-1]}"


def _yes(label: str) -> bool:
    return str(label).strip().lower() in ("yes", "1", "true", "y")


def _case(positive: str, words: Words) -> str:
    """How to name the class a binary problem is about: 'malignant', its given name, or the target's label for
    yes / 1 / true."""
    if str(positive) in words.classes:
        return f"'{words.cls(positive)}'"
    return f"'{words.target}'" if _yes(positive) else f"'{positive}'"


# ---------------------------------------------------------------- 1 the data
def data_slide(dataset, n_train: int, n_test: int, seed: int, words: Words) -> StoryStep:
    rows, cols = len(dataset.frame), len(dataset.features)
    question = question_of(dataset.description, words.target)
    notes = [f"{rows:,} rows in '{dataset.name}': {n_train:,} to learn from, {n_test:,} kept aside to check "
             f"the model once at the end (drawn at random with seed {seed}, same mix of answers)."]
    if dataset.task == "classification":
        counts = dataset.frame[dataset.target].astype(str).value_counts()
        shares = out_of_100(counts.to_dict())
        yes = next((c for c in counts.index if _yes(c)), None)
        if yes is not None and len(counts) == 2:
            mix = f"{shares[yes]} in 100 {words.many} have {_case(yes, words)}"
        elif len(counts) > 2 and counts.iloc[0] < 1.5 * counts.iloc[-1]:
            mix = f"the {len(counts)} answers are about equally common"
        elif len(counts) > 3:
            mix = (f"the most common answer, '{counts.index[0]}', is {shares[counts.index[0]]} in 100, and the rarest, "
                   f"'{counts.index[-1]}', is {shares[counts.index[-1]]} in 100")
        else:
            mix = " and ".join(f"{shares[c]} in 100 are '{c}'" for c in list(counts.index[:2]))
        text = f"The question: {question[0].lower() + question[1:]} Here, {mix}."
        fig = figs.balance_figure(counts.to_dict(), words.many)
    else:
        y = dataset.frame[dataset.target].astype(float)
        text = (f"The question: {question[0].lower() + question[1:]} The answers run from {y.min():,.3g} to "
                f"{y.max():,.3g}; half are below {y.median():,.3g}.")
        fig = figs.target_figure(y.to_numpy(), words.target, words.many)
    if words.image_shape:          # pictures: show some, one row per answer
        from core.data import image_charts
        fig = image_charts.sample_grid_figure(dataset, per_class=6)
    each = (f"{words.image_shape[0]} × {words.image_shape[1]} pixels each" if words.image_shape
            else f"{cols} facts about each")
    return StoryStep("data", "The data", f"{rows:,} {words.many}, {each}.", text, fig,
                     f"{rows:,}", words.many, notes, f"{dataset.name}: {dataset.description}", "pages/data.py")


# ---------------------------------------------------------------- 2 the contenders
SCORE_AXES = {"accuracy": "right answers out of 100", "balanced_accuracy": "right out of 100, each answer counted "
              "the same", "r2": "share of the ups and downs explained (%)"}


def contenders_slide(board: list[Contender], metric: str, task: str, folds: int, n_train: int, n_test: int,
                     seed: int, words: Words) -> StoryStep:
    percent = metric in ("accuracy", "balanced_accuracy", "r2", "f1_macro", "roc_auc")
    ranked = sorted(board, key=lambda c: c.cv_mean, reverse=metric not in ("mae", "rmse"))
    chosen = next(i for i, c in enumerate(ranked) if c.chosen)
    win = ranked[chosen]
    shown = lambda v: f"{v * 100:.1f}" if percent else f"{v:,.3g}"    # noqa: E731
    name = plain_model(win.family)
    head = f"The {name.lower()} did best: {shown(win.cv_mean)} out of 100 on rows held back."
    if metric == "r2":
        head = f"The {name.lower()} did best: it explains {win.cv_mean:.0%} of the ups and downs."
    others = [c for c in ranked if not c.chosen]
    if others and abs(win.cv_mean - others[0].cv_mean) < max(win.cv_std, 0.005):
        head += f" The {plain_model(others[0].family).lower()} came close."
    text = (f"We tried {len(board)} kinds of model. Each learned from part of the {n_train:,} {words.many} and was "
            f"checked on the rest, {folds} times over. We kept the best. The {n_test:,} {words.many} set aside "
            "played no part.")
    fig = figs.contenders_figure([plain_model(c.family) for c in ranked], [c.cv_mean for c in ranked], chosen,
                                 SCORE_AXES.get(metric, "score (higher is better)"), percent)
    notes = [f"Each score is the average of {folds} checks; each check learns on {folds - 1} parts of the "
             f"{n_train:,} learning rows and scores the part left out (split with seed {seed}).",
             f"Kept: the highest average. The kept model is a {name.lower()}: it {model_phrase(win.family)}."]
    technical = "; ".join(f"{c.title}: {metric} {c.cv_mean:.4f} ± {c.cv_std:.4f} ({folds}-fold cross-validation)"
                          for c in ranked) + ". Chosen by the highest cross-validated mean; the test rows are not used."
    return StoryStep("best_model", "The contenders", head, text, fig, str(len(board)), "kinds of model tried", notes,
                     technical, "pages/train.py")


# ---------------------------------------------------------------- 3 how good
def how_good_slide(report, words: Words, guess_mae: float | None = None) -> StoryStep:
    n = report.n_test
    notes = [f"All from the {n:,} {words.many} kept aside, scored once after the model was chosen; "
             "counts are scaled to 100."]
    technical = f"{report.headline()} {report.test_label()}"
    if report.task != "classification":
        mae = report.test.get("mae", float("nan"))
        guess = guess_mae if guess_mae is not None else float("nan")
        head = f"Off by {mae:,.3g} on average, on {words.many} it never saw."
        text = (f"Always guessing the average would be off by {guess:,.3g}. The model's miss is "
                f"{max(0.0, 1 - mae / guess):.0%} smaller." if np.isfinite(guess) and guess > 0 else
                "There is nothing to compare it with.")
        return StoryStep("how_good", "How good is it?", head, text, figs.misses_figure(guess, mae, ""),
                         f"{mae:,.3g}", f"average miss in {words.target}", notes, technical, "pages/metrics.py")
    labels, conf = list(report.labels or []), np.asarray(report.confusion or [[0]])
    pos = report.positive_label
    if pos is not None and pos in labels and conf.size > 1:
        p = labels.index(pos)
        tp, fn = conf[p, p], conf[p].sum() - conf[p, p]
        fp = conf[:, p].sum() - conf[p, p]
        tn = conf.sum() - tp - fn - fp
        case = _case(pos, words)
        icons = out_of_100({"caught": tp, "missed": fn, "false": fp, "cleared": tn})
        right = icons["caught"] + icons["cleared"]
        groups = [(f"{case} found", icons["caught"], GOOD, "circle"), (f"{case} missed", icons["missed"], BAD, "x"),
                  ("false alarm" if icons["false"] == 1 else "false alarms", icons["false"], CAUTION, "triangle-up"),
                  ("rightly cleared", icons["cleared"], MUTED, "circle")]
        alarms = "no false alarm" if icons["false"] == 0 else \
            f"{icons['false']} false alarm{'s' if icons['false'] != 1 else ''}"
        text = (f"Out of 100 {words.many} like these, {icons['caught'] + icons['missed']} have {case}. It finds "
                f"{icons['caught']} and misses {icons['missed']}. It raises {alarms}.")
        notes.append(f"Found {tp} of {tp + fn} {case} cases; {fp} false alarm{'s' if fp != 1 else ''} among "
                     f"{fp + tn} others.")
    else:
        right_n = int(np.trace(conf))
        icons = out_of_100({"right": right_n, "wrong": conf.sum() - right_n})
        right = icons["right"]
        groups = [("right", icons["right"], GOOD, "circle"), ("wrong", icons["wrong"], BAD, "x")]
        text = f"Out of 100 {words.many} it never saw, it gets {right} right and {icons['wrong']} wrong."
        off = conf - np.diag(np.diag(conf))
        if off.sum():
            t, q = np.unravel_index(off.argmax(), off.shape)
            text += f" The most common mix-up: '{words.cls(labels[t])}' taken for '{words.cls(labels[q])}'."
    head = f"Right {right} times out of 100 on {words.many} it never saw."
    return StoryStep("how_good", "How good is it?", head, text, figs.icon_figure(groups, words.many),
                     f"{right} / 100", f"right on new {words.many}", notes, technical, "pages/metrics.py")


# ---------------------------------------------------------------- 4 why
def why_slide(expl, words: Words, task: str, positive: str | None, top: int = 6) -> StoryStep:
    from core.explain import feature_direction, global_summary
    binary = len(expl.output_names) <= 2 and task == "classification" and positive is not None
    k = len(expl.output_names) - 1
    if task == "classification" and not binary:
        imp = np.abs(expl.values).mean(axis=0).sum(axis=1)
        importance = dict(zip(expl.features, imp))
        directions = {f: 0 for f in expl.features}
        up = down = ""
    else:
        series = expl.importance(k)
        importance = series.to_dict()
        directions = {f: (1 if d >= 0.3 else -1 if d <= -0.3 else 0)
                      for f in list(series.index[:top]) for d in [feature_direction(expl, f, k)]}
        up, down = ((f"{_case(positive, words)} more likely", f"{_case(positive, words)} less likely") if binary
                    else (f"a higher {words.target}", f"a lower {words.target}"))
    total = float(sum(importance.values())) or 1.0
    ranked = sorted(importance, key=importance.get, reverse=True)[:top]
    shares = [importance[f] / total for f in ranked]
    names = [words.col(f) for f in ranked]
    three = shares[:3]
    first = join(names[:3])
    head = f"{first[0].upper() + first[1:]} matter{'s' if len(names) == 1 else ''} most."
    said = []
    for sign, effect, push in ((1, up, "up"), (-1, down, "down")):
        facts = [words.col(f) for f in ranked[:3] if directions.get(f) == sign]
        if facts and effect:
            verb = "make" if len(facts) > 1 else "makes"
            said.append(f"Higher {join(facts)} {verb} {effect}." if binary else
                        f"Higher {join(facts)} {'push' if len(facts) > 1 else 'pushes'} it {push}.")
    text = " ".join(said) if said else "Which way each fact pushes depends on the case."
    text += f" These three carry {sum(three):.0%} of the weight."
    if words.image_shape:
        head = f"It looks hardest at pixels {join([n.removeprefix('pixel ') for n in names[:3]])}."
        text = f"These three pixels carry {sum(three):.0%} of the weight. Darker squares matter more."
        grid = np.zeros(words.image_shape)
        for f, value in importance.items():
            parts = f.split("_")
            if len(parts) == 3 and parts[1].isdigit() and parts[2].isdigit():
                grid[int(parts[1]), int(parts[2])] = value / total
        fig = figs.pixels_figure(grid)
    else:
        fig = figs.drivers_figure(names, shares, [directions.get(f, 0) for f in ranked], up or "one answer",
                                  down or "another")
    notes = [f"From {expl.n_rows:,} {words.many} (a fixed random sample, seed {expl.seed}): for each one we measured "
             "how much each fact moved its answer, then averaged.",
             "A share is that fact's part of all those moves. The arrow says which way a higher value pushes."]
    technical = f"{global_summary(expl, k, (words.one, words.many))} ({expl.fidelity()})"
    return StoryStep("why", "Why does it decide?", head, text, fig, f"{sum(three):.0%}",
                     "of the weight rests on the top 3 facts", notes, technical, "pages/explain.py")


def picture_why_slide(looks, words: Words) -> StoryStep:
    """Why, for a network on pictures: where in the picture the evidence for its answers sits (`WhereItLooks`)."""
    zones = [(name, share) for name, share in looks.zones[:2] if share >= 0.1] or looks.zones[:1]
    places = join([f"the {name}" for name, _share in zones])
    share = sum(s for _name, s in zones)
    h, w = looks.shares.shape
    head = f"It looks hardest at {places} of each picture."
    text = (f"{share:.0%} of what moves its answers sits there. Half of it comes from {looks.half} of the {h * w} "
            "pixels. Darker squares matter more.")
    notes = [f"From {looks.pictures:,} {words.many} set aside: for each one we measured how much each pixel pushed the "
             "network towards its answer, compared with a blank picture, and took each pixel's share; then averaged.",
             "The picture is cut into a 3 × 3 grid of areas to say where the evidence sits."]
    technical = (f"Integrated Gradients (captum, blank baseline) for the predicted class on {looks.pictures:,} test "
                 "pictures; positive attributions as shares of each picture's total, averaged. Zones: "
                 + ", ".join(f"{name} {s:.1%}" for name, s in looks.zones[:4]) + ".")
    return StoryStep("why", "Why does it decide?", head, text, figs.pixels_figure(looks.shares), f"{share:.0%}",
                     f"of the evidence sits in {places}", notes, technical, "pages/explain.py")
