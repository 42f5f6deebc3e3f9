"""The one-minute story, timed (issue 15: story < 10 s from the click; home page first paint < 3 s).

Rows, each measured in this run with its baseline beside it:
- story (in process, imports done, as in the app's server): `run_story` against the path the story took before
  (three models trained one after another, the full compression of the chosen model with every variant exported
  by the dynamo exporter and checked for "same reasons", no serving cost), on breast cancer (a simple formula wins:
  nothing to compress) and on the 8×8 digits (the network wins: the story compresses it);
- the compression step alone on a breast-cancer network: `compress_shortlist` (the versions the story shows, the fastest
  exporter that passes parity, "same reasons" on the version shown) against the story's old `compress_run` options;
- the training step alone: the three story models side by side in threads against one after another (the story
  trains them one after another: threads measured no faster on 2 cores, the fits are bound by Python's lock);
- `python -m core story --dataset breast_cancer --json` from a fresh process (imports included);
- the home page's first paint in Chromium after the server answers: a fresh server's first visit (its imports
  included) and a second visit (when Chromium and playwright are installed).
Medians over REPEATS; the machine's load average is printed, since other jobs on a shared box slow every row.
"""
from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

from benchmarks.common import ROOT

REPEATS = int(os.environ.get("BENCH_STORY_REPEATS", "3"))
DATASET = "builtin:breast_cancer"
NETWORK_DATASET = "builtin:digits"       # the neural network wins here, so the story compresses it
OLD_OPTIONS = dict(sparsities=(0.5,), half=False, finetune_epochs=5, distill_epochs=20, rounds=3, repeats=10)


def _preload() -> None:
    """What the app's server has imported by the time someone clicks (so the rows time the work, not imports)."""
    import onnxruntime  # noqa: F401
    import shap  # noqa: F401
    import sklearn.ensemble  # noqa: F401
    import torch  # noqa: F401

    import core.compress  # noqa: F401
    import core.explain  # noqa: F401
    import core.share  # noqa: F401
    import core.train  # noqa: F401


def old_story(key: str = DATASET) -> float:
    """The story as it ran before issue 15: sequential training, full compression, SHAP check on every variant."""
    from core.compress import CompressOptions, compress_run, supported
    from core.data import PrepOptions, load_dataset
    from core.models import ModelSpec
    from core.runs import RunStore, save_trained
    from core.share import advise, evidence_for
    from core.share._story import STORY_FOLDS, STORY_MODELS, _explain
    from core.train import choose_best, train_many
    start = time.perf_counter()
    store = RunStore()
    dataset = load_dataset(key)
    models = train_many(dataset, [ModelSpec.create(f, **p) for f, p in STORY_MODELS], PrepOptions(), STORY_FOLDS)
    best, _rule = choose_best(models, models[0].report.primary)
    run = save_trained(store, best, dataset.name)
    _explain(best, dataset, store.folder(run.id))
    if supported(best.spec.family):
        compress_run(run.id, CompressOptions(**OLD_OPTIONS), pipeline=best.pipeline, store=store)
    advise(evidence_for(dataset, best.report, best.history))
    return time.perf_counter() - start


def _network_run():
    from core.data import PrepOptions, load_dataset
    from core.models import ModelSpec
    from core.runs import RunStore, save_trained
    from core.share._story import STORY_MODELS
    from core.train import train_model
    dataset = load_dataset(DATASET)
    trained = train_model(dataset, ModelSpec.create("mlp", **dict(STORY_MODELS)["mlp"]), PrepOptions(), cv_folds=0)
    return save_trained(RunStore(), trained, dataset.name), trained


def _training(parallel: bool) -> float:
    from concurrent.futures import ThreadPoolExecutor

    from core.data import PrepOptions, load_dataset
    from core.models import ModelSpec
    from core.share._story import STORY_FOLDS, STORY_MODELS
    from core.train import train_model
    dataset = load_dataset(DATASET)
    specs = [ModelSpec.create(f, **p) for f, p in STORY_MODELS]
    start = time.perf_counter()
    if parallel:
        with ThreadPoolExecutor(len(specs)) as pool:
            list(pool.map(lambda s: train_model(dataset, s, PrepOptions(), STORY_FOLDS), specs))
    else:
        [train_model(dataset, s, PrepOptions(), STORY_FOLDS) for s in specs]
    return time.perf_counter() - start


def _cli_cold() -> tuple[float, dict]:
    env = {**os.environ, "MODELDECK_HOME": tempfile.mkdtemp(prefix="modeldeck-bench-cli-")}
    start = time.perf_counter()
    out = subprocess.run([sys.executable, "-m", "core", "story", "--dataset", DATASET, "--json"], cwd=ROOT, env=env,
                         capture_output=True, text=True, check=True).stdout
    return time.perf_counter() - start, json.loads(out)


def first_paint(visits: int = 2) -> list[float] | None:
    """Seconds from navigation to the home page's title, on a fresh server (first visit, then later visits);
    `python -m benchmarks firstpaint` times it against a bare Streamlit page."""
    from benchmarks.bench_firstpaint import available, visits_of
    return visits_of("streamlit_app.py", "ModelDeck", visits) if available() else None


def paired(new, old, repeats: int = REPEATS) -> tuple[float, float, object]:
    """(median seconds of `new`, of `old`, new's last result), the two alternated so a busy moment of a shared
    machine hits both."""
    new_s, old_s, result = [], [], None
    for i in range(repeats):
        for which in ((new, new_s), (old, old_s)) if i % 2 == 0 else ((old, old_s), (new, new_s)):
            fn, times = which
            start = time.perf_counter()
            out = fn()
            times.append(time.perf_counter() - start)
            result = out if fn is new else result
    return statistics.median(new_s), statistics.median(old_s), result


def main() -> None:
    from core.compress import CompressOptions, compress_run, compress_shortlist
    from core.share import run_story
    print(f"load average before: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores; medians of {REPEATS}, "
          "new and old alternated")
    _preload()
    rows = []
    new, old, story = paired(lambda: run_story(DATASET), old_story)
    rows.append((f"story, in process ({story.dataset_name})", new, old, "target < 10 s"))
    new, old, wide = paired(lambda: run_story(NETWORK_DATASET), lambda: old_story(NETWORK_DATASET),
                            max(1, REPEATS // 2))
    rows.append((f"story, in process ({wide.dataset_name})", new, old, "the network wins here"))
    run, trained = _network_run()
    new, old, _ = paired(lambda: compress_shortlist(run.id, pipeline=trained.pipeline),
                         lambda: compress_run(run.id, CompressOptions(**OLD_OPTIONS), pipeline=trained.pipeline))
    rows.append(("compression step (when the network wins)", new, old, "short list vs full"))
    new, old, _ = paired(lambda: _training(True), lambda: _training(False))
    rows.append(("training: threads (not used) vs one by one", new, old, "the story trains one by one"))
    cli, out = _cli_cold()
    rows.append(("python -m core story (fresh process)", cli, float("nan"), f"story itself {out['seconds']:.1f} s"))
    print(f"\n{'what':42} {'new (s)':>8} {'old (s)':>8} {'× faster':>9}  note")
    for name, new, base, note in rows:
        ratio = base / new if base == base else float("nan")
        print(f"{name:42} {new:8.2f} {base:8.2f} {ratio:9.2f}  {note}")
    chosen = story.step("best_model").big if story.step("best_model") else ""
    print(f"\nstory (last run): {chosen} Steps: " + ", ".join(f"{k} {v:.2f} s" for k, v in story.timings.items()))
    paint = first_paint(3)
    if paint is None:
        print("home page first paint: skipped (no Chromium / playwright)")
    else:
        print(f"home page first paint (target < 3 s after the server answers): first visit of a fresh server "
              f"{paint[0]:.2f} s, later visits {statistics.median(paint[1:]):.2f} s")
    print(f"load average after: {os.getloadavg()[0]:.1f}")
