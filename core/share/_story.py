"""The one-minute demo story: data -> the contenders -> how good -> why -> smaller and faster -> cost -> advice.

`run_story` trains the story's models, chooses one by cross-validation of the training rows (never the test rows),
saves it as a run, then explains it and builds a short list of compressed versions side by side in two threads
(their timings wait until the explanation is done, so they are taken on a quiet machine), prices the shipped one and
asks the advisor. Every step becomes a slide (`StoryStep`, see `core.share._slides`) and records its seconds.
`run_slides` makes the same slides from what a run stored (the report's one-page summary).

On pictures the contenders are a simple formula, the neural network and the picture network (CNN); when the CNN
wins, "why" says where in the pictures its evidence sits (Integrated Gradients averaged over test pictures) and the
data slide shows sample pictures of each answer.
"""
from __future__ import annotations

import json
import threading
import time
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from typing import Callable

from core.common import Progress, atomic_write
from core.data import load_class_names
from core.share._ship_slides import advice_slide, already_small_slide, cost_slide, smaller_slide
from core.share._slides import (Contender, StoryStep, contenders_slide, data_slide, how_good_slide,
                                picture_why_slide, why_slide, words_for)
from core.share._words import plain_model

STORY_MODELS = (("linear", {}), ("hist_gb", {"max_iter": 100}), ("mlp", {"hidden": (64, 32), "epochs": 60}))
#: On pictures the picture network (CNN) replaces the trees (which read each pixel alone and train slowly on many)
PICTURE_MODELS = (("linear", {}), ("mlp", {"hidden": (64, 32), "epochs": 60}), ("cnn", {"epochs": 12}))
PICTURES_EXPLAINED = 200                # test pictures the picture network's "why" averages over
STORY_FOLDS = 3
EXPLAIN_ROWS = 300
WIDE = 100                              # inputs x outputs above which the story explains a third as many rows
BOARD_FILE = "story_board.json"         # the contenders' scores, kept with the run for the report's summary
SHORTLIST_FAMILIES = ("mlp", "hist_gb", "random_forest")   # what `compress_shortlist` covers


@dataclass
class Story:
    dataset_name: str
    steps: list[StoryStep] = field(default_factory=list)
    run_id: str | None = None
    seconds: float = 0.0
    dataset_key: str = ""
    timings: dict[str, float] = field(default_factory=dict)   # wall seconds of each stage

    def summary(self) -> str:
        return " ".join(step.big for step in self.steps if step.key in ("how_good", "why", "smaller"))

    def step(self, key: str) -> StoryStep | None:
        return next((s for s in self.steps if s.key == key), None)

    def to_dict(self) -> dict:
        return {"dataset": self.dataset_name, "dataset_key": self.dataset_key, "run_id": self.run_id,
                "seconds": round(self.seconds, 3), "timings": {k: round(v, 3) for k, v in self.timings.items()},
                "slides": [s.to_dict() for s in self.steps]}


def _quiet(*_a, **_k) -> None:
    return None


class _Relay:
    """Progress from worker threads, passed on by the calling thread only (Streamlit draws from its own thread)."""

    def __init__(self, progress: Progress):
        self.progress, self.lock, self.latest = progress, threading.Lock(), None

    def part(self, lo: float, hi: float, message: str | None = None) -> Progress:
        """A callback for one worker, mapped onto [lo, hi]; `message` replaces the worker's own (plain words)."""
        def report(f, m="", *_):
            with self.lock:
                self.latest = (lo + (hi - lo) * min(max(float(f), 0.0), 1.0), message or m)
        return report

    def flush(self) -> None:
        with self.lock:
            latest, self.latest = self.latest, None
        if latest is not None:
            self.progress(*latest)

    def wait(self, futures: list[Future]) -> None:
        pending = set(futures)
        while pending:
            _done, pending = wait(pending, timeout=0.2, return_when=FIRST_COMPLETED)
            self.flush()
        for f in futures:
            f.result()          # raise the first error here


def _timed(timings: dict, key: str, fn: Callable, *args, **kwargs):
    start = time.perf_counter()
    try:
        return fn(*args, **kwargs)
    finally:
        timings[key] = time.perf_counter() - start


def _train(dataset, relay: _Relay) -> list:
    """The story's models on the same split with cross-validation, one after the other (side by side in threads
    measured no faster on 2 cores: 1.08 s against 1.00 s, `python -m benchmarks story`)."""
    from core.data import PrepOptions
    from core.models import ModelSpec
    from core.train import train_model
    from core.data import is_image
    specs = [ModelSpec.create(family, **params) for family, params in (PICTURE_MODELS if is_image(dataset)
                                                                       else STORY_MODELS)]
    n = len(specs)
    models = []
    for i, spec in enumerate(specs):
        part = relay.part(0.03 + 0.5 * i / n, 0.03 + 0.5 * (i + 1) / n, f"Training the {plain_model(spec.family).lower()}")
        models.append(train_model(dataset, spec, PrepOptions(), STORY_FOLDS,
                                  lambda f, m="", *_, part=part: (part(f, m), relay.flush())))
    return models


def _board(models: list, best, metric: str) -> list[Contender]:
    return [Contender(m.spec.family, m.title, float(m.report.cv[metric][0]), float(m.report.cv[metric][1]),
                      m is best, int(m.size_bytes), float(m.predict_ms_per_row)) for m in models]


def _explain(trained, dataset, folder):
    from core.data import split_dataset
    from core.explain import ShapEngine, explain_split, explanation_stem, save_explanation
    split = split_dataset(dataset, trained.prep)
    engine = ShapEngine(trained.pipeline, split.X_train, dataset.task, dataset.target)
    outputs = len(trained.report.labels or []) if dataset.task == "classification" else 1
    rows = EXPLAIN_ROWS if len(dataset.features) * max(outputs - 1, 1) <= WIDE else EXPLAIN_ROWS // 3
    expl = explain_split(engine, split, max_rows=rows, seed=0)
    save_explanation(expl, explanation_stem(folder, expl.method, rows, 0))
    return expl


def _where_it_looks(trained, dataset, _folder=None):
    """For the picture network: where in the pictures its evidence sits, over a fixed set of test pictures."""
    from core.data import split_dataset
    from core.explain import picture_model, where_it_looks
    pm = picture_model(trained.pipeline)
    split = split_dataset(dataset, trained.prep)
    return where_it_looks(pm, pm.pixels(split.X_test.iloc[:PICTURES_EXPLAINED]))


def _serving(run_id: str, trained, dataset, store) -> list:
    """Answers per second on one core for the servable versions (saved with the run's compression)."""
    from core.compress import measure_throughput, save_throughput
    from core.data import split_dataset
    split = split_dataset(dataset, trained.prep)
    throughputs = measure_throughput(run_id, trained.pipeline, split.X_test, store, seconds=0.1)
    save_throughput(run_id, throughputs, store)
    return throughputs


def _guess(y_train, y_test) -> float:
    """Average miss on the test rows of always guessing the training rows' mean (a number to predict)."""
    import numpy as np
    return float(np.mean(np.abs(np.asarray(y_test, dtype=float) - float(np.mean(np.asarray(y_train, dtype=float))))))


def run_story(dataset_key: str = "builtin:breast_cancer", progress: Progress | None = None, store=None) -> Story:
    """Run the whole story on a data set; the chosen model is saved as a run and compressed with it."""
    from core.compress import compress_shortlist
    from core.data import load_dataset
    from core.runs import RunStore, save_trained
    from core.share._advisor import advise, evidence_for
    from core.train import choose_best
    progress = progress or _quiet
    store = store or RunStore()
    start, timings = time.perf_counter(), {}
    relay = _Relay(progress)
    dataset = _timed(timings, "data", load_dataset, dataset_key)
    progress(0.02, "Training three kinds of model")
    models = _timed(timings, "best_model", _train, dataset, relay)
    metric = models[0].report.primary
    best, _rule = choose_best(models, metric)
    board = _board(models, best, metric)
    run = save_trained(store, best, dataset.name, name=f"Demo: {best.title} on {dataset.name}")
    folder = store.folder(run.id)
    atomic_write(folder / BOARD_FILE, json.dumps({"metric": metric, "folds": STORY_FOLDS,
                                                  "contenders": [c.to_dict() for c in board]}, indent=1))
    progress(0.55, "Explaining the best model and making it smaller, side by side")
    import torch  # noqa: F401  (before any thread: libraries that peek at sys.modules must not see it half-imported)
    with ThreadPoolExecutor(max_workers=3) as pool:
        explain = _where_it_looks if best.spec.family == "cnn" else _explain
        why = pool.submit(_timed, timings, "why", explain, best, dataset, folder)
        advice = pool.submit(_timed, timings, "advice", lambda: advise(evidence_for(
            dataset, best.report, best.history, class_names=load_class_names(dataset.key, store.owner))))
        shrink = None
        if best.spec.family in SHORTLIST_FAMILIES:      # its clock starts once the other two are done
            shrink = pool.submit(_timed, timings, "smaller", compress_shortlist, run.id, pipeline=best.pipeline,
                                 store=store, progress=relay.part(0.6, 0.9),
                                 before_timing=lambda: (why.result(), advice.result()))
        relay.wait([f for f in (why, advice, shrink) if f is not None])
    table = shrink.result() if shrink is not None else None
    progress(0.92, "Pricing the answers")
    throughputs = _timed(timings, "cost", _attempt, _serving, run.id, best, dataset, store)
    story = Story(dataset.name, run_id=run.id, dataset_key=dataset.key, timings=timings)
    guess = None if best.task == "classification" else _guess(best.train_pred.y_true, best.test_pred.y_true)
    story.steps = assemble(dataset, best.report, seed=best.prep.seed, network=bool(best.history), guess_mae=guess,
                           board=board, expl=why.result(), table=table, throughputs=throughputs,
                           advice=advice.result(), owner=store.owner)
    for step in story.steps:
        step.seconds = timings.get(step.key, 0.0)
    story.seconds = time.perf_counter() - start
    progress(1.0, f"Story ready in {story.seconds:.0f} s")
    return story


def _attempt(fn, *args):
    """A step the story can do without (serving cost): its result, or None when it cannot be measured here."""
    from core.common import ModelDeckError
    try:
        return fn(*args)
    except (ModelDeckError, OSError, RuntimeError, ValueError):
        return None


def assemble(dataset, report, *, seed: int, network: bool, guess_mae: float | None = None,
             board: list[Contender] | None = None, folds: int = STORY_FOLDS, expl=None, table=None,
             throughputs: list | None = None, advice: list | None = None, owner: str | None = None) -> list[StoryStep]:
    """The slides from plain results; a missing part (no contenders, no explanation, nothing compressed, no serving
    measurement) leaves its slide out, except that a model with nothing to shrink says so beside its contenders.
    Column and class names are `owner`'s."""
    from core.compress import story_versions
    from core.explain import WhereItLooks
    words = words_for(dataset, owner)
    steps = [data_slide(dataset, report.n_train, report.n_test, seed, words)]
    if board:
        steps.append(contenders_slide(board, report.primary, report.task, folds, report.n_train, report.n_test, seed,
                                      words))
    steps.append(how_good_slide(report, words, guess_mae))
    if isinstance(expl, WhereItLooks):
        steps.append(picture_why_slide(expl, words))
    elif expl is not None:
        steps.append(why_slide(expl, words, report.task, report.positive_label))
    pick, smallest = story_versions(table) if table is not None else (None, None)
    if table is not None:
        steps.append(smaller_slide(table, words, pick, smallest))
    elif board:
        steps.append(already_small_slide(board, words))
    if throughputs and (cost := cost_slide(throughputs, _served_name(pick, table), words)) is not None:
        steps.append(cost)
    steps.append(advice_slide(advice or [], report.task, network, words))
    return steps


def run_slides(run_id: str, store=None) -> list[StoryStep]:
    """The story's slides from what a finished run stored (the report's one-page summary): the contenders when the
    story saved them, the explanation, compression and serving measurement when they were made."""
    from core.common import ModelDeckError
    from core.compress import load_result, load_throughput
    from core.data import PrepOptions, load_dataset, split_dataset
    from core.evaluate import MetricReport
    from core.explain import latest_explanation
    from core.runs import RunStore
    from core.share._advisor import advise, run_evidence
    store = store or RunStore()
    run = store.get(run_id)
    dataset = load_dataset(run.dataset_key)
    report = MetricReport.from_dict(run.metrics)
    prep = PrepOptions.from_dict(run.prep)
    folder = store.folder(run_id, create=False)
    board, folds = None, STORY_FOLDS
    if (folder / BOARD_FILE).exists():
        saved = json.loads((folder / BOARD_FILE).read_text())
        board, folds = [Contender(**c) for c in saved["contenders"]], int(saved.get("folds", STORY_FOLDS))
    guess = None
    if report.task != "classification":
        try:
            preds = store.load_predictions(run_id)
            guess = _guess(preds["train"].y_true, preds["test"].y_true)
        except ModelDeckError:
            guess = None
    expl = latest_explanation(folder, split_dataset(dataset, prep)) if run.kind != "recommender" else None
    return assemble(dataset, report, seed=prep.seed, network=bool(run.history), guess_mae=guess, board=board,
                    folds=folds, expl=expl, table=load_result(run_id, store), throughputs=load_throughput(run_id, store),
                    advice=advise(run_evidence(run, store)), owner=run.owner)


def _served_name(pick: dict | None, table) -> str:
    """The name the serving measurement gives the shipped version (the original when nothing was shipped)."""
    if pick is None:
        return "original" if table is None else table.rows[0]["variant"]
    return pick["variant"]
