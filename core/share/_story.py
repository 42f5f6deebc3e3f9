"""The one-minute demo story: data -> best model -> how good -> why -> smaller and faster -> advice.

Each step returns a `StoryStep`: a title, one big statement a non-engineer reads, a sentence with the evidence,
and optionally a figure. The same steps drive the home page, its presentation mode and the CLI.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field

import plotly.graph_objects as go

from typing import Callable

from core.common import Progress
from core.data import load_dataset

STORY_MODELS = (("linear", {}), ("hist_gb", {"max_iter": 100}), ("mlp", {"hidden": (64, 32), "epochs": 60}))


@dataclass
class StoryStep:
    key: str
    title: str
    big: str
    sentence: str
    figure: go.Figure | None = None


@dataclass
class Story:
    dataset_name: str
    steps: list[StoryStep] = field(default_factory=list)
    run_id: str | None = None
    seconds: float = 0.0

    def summary(self) -> str:
        return " ".join(step.big for step in self.steps if step.key in ("how_good", "why", "smaller"))


def _quiet(*_a, **_k) -> None:
    return None


def _slice(progress: Progress, lo: float, hi: float) -> Callable:
    return lambda f, m="", *_: progress(lo + (hi - lo) * min(max(float(f), 0.0), 1.0), m)


def data_step(dataset) -> StoryStep:
    rows, cols = len(dataset.frame), len(dataset.features)
    if dataset.task == "classification":
        share = dataset.frame[dataset.target].astype(str).value_counts(normalize=True)
        detail = ", ".join(f"{share[c]:.0%} '{c}'" for c in share.index[:3])
        big = f"{rows:,} examples, {cols} facts about each."
        sentence = f"{dataset.description} The answers to learn: {detail}."
    else:
        big = f"{rows:,} examples, {cols} facts about each."
        sentence = f"{dataset.description} The model learns to predict '{dataset.target}'."
    return StoryStep("data", "The data", big, sentence)


def train_step(dataset, progress: Progress):
    """Train the story's models and choose one by cross-validation of the training rows (never the test rows)."""
    from core.train.charts import leaderboard_figure
    from core.models import ModelSpec
    from core.data import PrepOptions
    from core.train import choose_best, leaderboard_table, train_many
    specs = [ModelSpec.create(family, **params) for family, params in STORY_MODELS]
    models = train_many(dataset, specs, PrepOptions(), cv_folds=3, progress=lambda f, m, *_: progress(f, m))
    metric = models[0].report.primary
    best, rule = choose_best(models, metric)
    table = leaderboard_table(models, metric)
    mean = best.report.cv[metric][0]
    step = StoryStep("best_model", "The best model", f"{best.title} wins.",
                     f"We trained {len(models)} kinds of model on the same rows; {best.title} was {rule}: "
                     f"{_score_text(best.report, metric, mean)} on rows held out in turn. Its test score below is "
                     f"measured once, on rows no model was chosen with.",
                     leaderboard_figure(table, metric, percent=dataset.task == "classification"))
    return step, best, models


def _score_text(report, metric: str, value: float) -> str:
    return f"{value:.1%} {metric.replace('_', ' ')}" if report.task == "classification" else f"R² {value:.3f}"


def how_good_step(trained) -> StoryStep:
    report = trained.report
    if report.task == "classification":
        big = f"Right {round(report.test['accuracy'] * 100)} times out of 100."
    else:
        big = f"Explains {report.test['r2']:.0%} of the variation."
    return StoryStep("how_good", "How good is it?", big, f"{report.headline()} {report.test_label()}")


def why_step(trained, dataset, max_rows: int = 300, folder=None) -> StoryStep:
    """Top drivers by mean |SHAP|; the values are stored in the run's `folder` (if given) for the report."""
    from core.explain import ShapEngine, entity_words, explain_split, explanation_stem, global_summary, save_explanation
    from core.data import split_dataset
    split = split_dataset(dataset, trained.prep)
    engine = ShapEngine(trained.pipeline, split.X_train, dataset.task, dataset.target)
    expl = explain_split(engine, split, max_rows=max_rows, seed=0)
    if folder is not None:
        save_explanation(expl, explanation_stem(folder, expl.method, max_rows, 0))
    k = len(expl.output_names) - 1
    importance = expl.importance(k)
    top = list(importance.index[:3])
    fig = go.Figure(go.Bar(x=importance.values[:8][::-1], y=list(importance.index[:8][::-1]), orientation="h",
                           marker_color="#1f77b4"))
    fig.update_layout(template="plotly_white", height=360, title=f"What drives the prediction ({expl.title})",
                      xaxis_title=f"Mean |SHAP| push on the {expl.output_labels[k]}", margin=dict(l=40, r=20, t=60, b=40))
    sentence = global_summary(expl, k, entity_words(dataset.key)) + f" ({expl.fidelity()})"
    return StoryStep("why", "Why?", f"Top drivers: {', '.join(top)}.", sentence, fig)


def smaller_step(run_id: str, family: str, progress: Progress) -> StoryStep:
    from core.compress import CompressOptions, compress_run, headline, supported, times
    if not supported(family):
        return StoryStep("smaller", "Smaller and faster", "Already small.",
                         "This model is a weighted sum of the inputs: it is already tiny and fast, so there is nothing "
                         "worth compressing.")
    options = CompressOptions(sparsities=(0.5,), half=False, finetune_epochs=5, distill_epochs=20, rounds=3, repeats=10)
    table = compress_run(run_id, options, progress=lambda f, m, *_: progress(f, m))
    close = [r for r in table.rows if r["method"] not in ("baseline", "student") and r["delta_points"] >= -1.0]
    if not close:
        return StoryStep("smaller", "Smaller and faster", "Compression costs too much here.", headline(table))
    not_slower = [r for r in close if r["speed_b1_x"] >= 0.95]
    best = max(not_slower or close, key=lambda r: r["size_x"] * r["speed_b1_x"])
    same = (f"same answer on {best['agreement']:.0%} of test rows" if table.task == "classification"
            else f"predictions track the original (R² {best['agreement']:.3f})")
    big = f"{times(best['size_x'], 'smaller', 'larger').capitalize()}, {times(best['speed_b1_x'], 'faster', 'slower')}, {same}."
    sentence = (f"'{best['variant']}' against '{table.baseline}': a {best['bytes'] / 1024:,.1f} KB file, "
                f"{best['b1_ms']:.3f} ms per request; {same} ({table.test_rows} test rows, {table.threads} thread, "
                "measured in this run).")
    return StoryStep("smaller", "Smaller and faster", big, sentence)


def advice_step(dataset, trained) -> StoryStep:
    from core.share._advisor import advise, evidence_for
    advice = advise(evidence_for(dataset, trained.report, trained.history))
    if not advice:
        return StoryStep("advice", "What to do next", "Nothing stands out.", "No advisor rule fired on these results.")
    return StoryStep("advice", "What to do next", advice[0].action,
                     " ".join(f"{a.finding}" for a in advice[:3]))


def run_story(dataset_key: str = "builtin:breast_cancer", progress: Progress | None = None, store=None) -> Story:
    """Run the whole story on a data set; the best model is saved as a run and compressed with it."""
    from core.runs import RunStore, save_trained
    progress = progress or _quiet
    store = store or RunStore()
    start = time.perf_counter()
    dataset = load_dataset(dataset_key)
    story = Story(dataset.name, [data_step(dataset)])
    progress(0.02, "Reading the data")
    step, best, _models = train_step(dataset, _slice(progress, 0.02, 0.55))
    run = save_trained(store, best, dataset.name, name=f"Demo: {best.title} on {dataset.name}")
    story.run_id = run.id
    story.steps += [step, how_good_step(best)]
    progress(0.6, "Explaining the best model")
    story.steps.append(why_step(best, dataset, folder=store.folder(run.id)))
    progress(0.7, "Making it smaller and faster")
    story.steps.append(smaller_step(run.id, best.spec.family, _slice(progress, 0.7, 0.97)))
    story.steps.append(advice_step(dataset, best))
    story.seconds = time.perf_counter() - start
    progress(1.0, f"Story ready in {story.seconds:.0f} s")
    return story
