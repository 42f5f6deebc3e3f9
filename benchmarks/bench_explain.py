"""Explain benchmarks, each against a baseline measured in the same run.

1. Exact Tree SHAP for 1,000 rows of breast cancer (569 rows resampled with replacement, seed 0), gradient
   boosting and a random forest (default sizes): ModelDeck's engine (preprocessing, SHAP, grouping,
   additivity check) against a bare shap.TreeExplainer pass. Target < 2 s each.
2. The PyTorch MLP: Deep SHAP against KernelExplainer on the same 200 rows with the same 50-row background,
   both explaining the same output (the log-odds): speed ratio (target >= 20x) and agreement of the global
   rankings (Spearman of mean |SHAP|, overlap of the top 5).
3. One LIME explanation at 5,000 samples (target < 1.5 s), against the model's own prediction of 5,000 rows.
4. Cold build of the whole Explain view (engine, SHAP of all rows, importance + beeswarm + dependence
   figures, one local explanation with waterfall and table, all sentences, figures serialised as Streamlit
   does) on make_classification (1,000 x 30, seed 0) with a 100-tree depth-8 random forest, against one bare
   exact TreeSHAP pass over the same rows. Target <= 1.3x.
5. Warm rerun of the Explain page (AppTest) after a row change. Target < 0.5 s.
"""
from __future__ import annotations

import statistics
import time
import warnings

from benchmarks.common import page_on_new_run, timed

warnings.filterwarnings("ignore")


def _timed(fn, repeats: int = 1):
    """Best of `repeats` wall times (the machine is shared: the minimum is the least disturbed run)."""
    return timed(fn, repeats, stat=min)


def _trained(key: str, family: str, **params):
    from core.data import load_dataset
    from core.models import ModelSpec
    from core.data import split_dataset
    from core.train import train_model
    dataset = load_dataset(key)
    model = train_model(dataset, ModelSpec.create(family, **params), cv_folds=0)
    return dataset, model, split_dataset(dataset, model.prep)


def bench_tree(repeats: int = 3) -> list[tuple]:
    import pandas as pd
    import shap

    from core.explain import ShapEngine
    rows = []
    for family in ("hist_gb", "random_forest"):
        dataset, model, split = _trained("builtin:breast_cancer", family)
        X = pd.concat([split.X_train, split.X_test]).sample(1000, replace=True, random_state=0)
        inner, prep = model.pipeline.named_steps["model"], model.pipeline.named_steps["prep"]
        bare, _ = _timed(lambda: shap.TreeExplainer(inner).shap_values(prep.transform(X), check_additivity=False),
                         repeats)
        ours, batch = _timed(lambda: ShapEngine(model.pipeline, split.X_train, dataset.task, dataset.target)
                             .explain(X), repeats)
        status = "OK" if ours < 2.0 else "over target"
        rows.append((f"bare shap.TreeExplainer, 1,000 rows, {model.title} (baseline)", bare, "x1.00"))
        rows.append((f"ModelDeck Tree SHAP, 1,000 rows, {model.title} (target < 2 s)", ours,
                     f"{status}; x{ours / bare:.2f} of bare; additivity error {batch.additivity_error:.1e}"))
    return rows


def bench_mlp(n_rows: int = 200, background: int = 50) -> list[tuple]:
    import copy

    import numpy as np
    import pandas as pd
    import shap
    import torch

    from core.explain import ShapEngine, rank_agreement
    from core.models.torch_mlp import _intra_op_threads
    dataset, model, split = _trained("builtin:breast_cancer", "mlp", epochs=40)
    engine = ShapEngine(model.pipeline, split.X_train, dataset.task, dataset.target, "deep")
    X = split.X_train.iloc[:n_rows]
    deep_s, deep = _timed(lambda: engine.explain(X))
    net = model.pipeline.named_steps["model"].net_
    net64 = copy.deepcopy(net).double().eval()
    reduce = engine.output.reduce[:, 0]                       # logit_pos - logit_neg: the same log-odds as Deep

    def log_odds(Z):
        with torch.no_grad(), _intra_op_threads(1):
            return net64(torch.from_numpy(np.asarray(Z, dtype=np.float64))).numpy() @ reduce
    kernel = shap.KernelExplainer(log_odds, engine.background[:background])
    Xt = engine.transform(X)
    np.random.seed(0)
    kernel_s, kernel_values = _timed(lambda: kernel.shap_values(Xt, nsamples=2 * Xt.shape[1] + 2048, l1_reg=False,
                                                                silent=True))
    names = engine.features.transformed
    deep_rank = pd.Series(np.abs(deep.values[:, :, 0]).mean(axis=0), index=names)
    kernel_rank = pd.Series(np.abs(np.asarray(kernel_values)).mean(axis=0), index=names)
    overlap, rho = rank_agreement(deep_rank, kernel_rank)
    ratio = kernel_s / deep_s
    return [(f"KernelExplainer, MLP, {n_rows} rows, {background}-row background (baseline)", kernel_s, "x1.00"),
            (f"{engine.title}, same rows and background (target >= 20x)", deep_s,
             f"{'OK' if ratio >= 20 else 'under target'}; x{ratio:.1f} faster; rankings: Spearman {rho:.2f}, "
             f"top-5 overlap {overlap}/5; additivity error {deep.additivity_error:.1e}")]


def bench_lime(repeats: int = 3) -> list[tuple]:
    from core.explain import single_threaded
    from core.explain import explain_row_lime
    dataset, model, split = _trained("builtin:breast_cancer", "hist_gb")
    row = split.X_test.iloc[[0]]
    big = split.X_train.sample(5000, replace=True, random_state=0)
    with single_threaded(model.pipeline):                      # as LIME calls it
        predict_s, _ = _timed(lambda: model.pipeline.predict_proba(big), repeats)
    lime_s, result = _timed(lambda: explain_row_lime(model.pipeline, split.X_train, row, [], dataset.task,
                                                     "malignant", 5000), repeats)
    return [("model predict_proba on 5,000 rows, one OpenMP thread (baseline)", predict_s, "x1.00"),
            ("LIME, one row, 5,000 samples (target < 1.5 s)", lime_s,
             f"{'OK' if lime_s < 1.5 else 'over target'}; x{lime_s / predict_s:.1f} of one prediction pass; "
             f"surrogate R² {result.score:.2f}")]


def _synthetic_dataset():
    import pandas as pd
    from sklearn.datasets import make_classification

    from core.data import make_dataset
    X, y = make_classification(n_samples=1000, n_features=30, n_informative=10, random_state=0)
    frame = pd.DataFrame(X, columns=[f"f{i:02d}" for i in range(30)])
    frame["label"] = y
    return make_dataset(frame, "label", "classification", name="make_classification", key="bench:make_classification")


def cold_view(pipeline, split, dataset, words=("row", "rows")) -> float:
    """Everything the Explain page computes on first open (no Streamlit): returns the seconds it took."""
    from core.explain import charts as charts
    from core import explain as ex
    start = time.perf_counter()
    engine = ex.ShapEngine(pipeline, split.X_train, dataset.task, dataset.target)
    expl = ex.explain_split(engine, split)
    top = expl.importance(0).index[0]
    colour = ex.strongest_interaction(expl, top, 0)
    figures = [charts.importance_figure(expl), charts.beeswarm_figure(expl), charts.dependence_figure(expl, top, colour),
               charts.waterfall_figure(expl, 0)]
    texts = [ex.global_summary(expl, 0, words), ex.importance_summary(expl, 0), ex.beeswarm_summary(expl, 0, words),
             ex.dependence_summary(expl, top, colour, 0), ex.row_summary(expl, 0, 0, split.X_train, words),
             ex.waterfall_summary(expl, 0, 0)]
    ex.row_table(expl, 0, 0, split.X_train, words)
    for fig in figures:
        fig.to_json()
    assert all(texts) and expl.n_rows == 1000
    return time.perf_counter() - start


def bench_cold_view(repeats: int = 3) -> list[tuple]:
    import plotly.graph_objects as go
    import shap

    from core.models import ModelSpec
    from core.data import split_dataset
    from core.train import train_model
    from core.explain import all_rows
    dataset = _synthetic_dataset()
    model = train_model(dataset, ModelSpec.create("random_forest", n_estimators=100, max_depth=8), cv_folds=0)
    split = split_dataset(dataset, model.prep)
    X, _, _ = all_rows(split)
    inner, prep = model.pipeline.named_steps["model"], model.pipeline.named_steps["prep"]
    go.Figure(go.Scatter(x=[0], y=[0])).to_json()             # plotly warm (the app process has it loaded)
    cold_view(model.pipeline, split, dataset)                   # imports warm
    bare, _ = _timed(lambda: shap.TreeExplainer(inner).shap_values(prep.transform(X), check_additivity=False), repeats)
    view, _ = _timed(lambda: cold_view(model.pipeline, split, dataset), repeats)
    ratio = view / bare
    return [("bare exact TreeSHAP pass, 1,000 x 30, RF 100 trees depth 8 (baseline)", bare, "x1.00"),
            ("cold build of the Explain view, same rows (target <= 1.3x)", view,
             f"{'OK' if ratio <= 1.3 else 'over target'}; x{ratio:.2f} of the bare pass")]


def bench_warm_page(repeats: int = 5) -> list[tuple]:
    at, run = page_on_new_run("pages/explain.py")
    cold, _ = _timed(at.run)
    box = next(n for n in at.number_input if n.key == f"explain_row_{run.id}")
    times = []
    for row in range(10, 10 + repeats):
        box.set_value(row)
        start = time.perf_counter()
        at.run()
        times.append(time.perf_counter() - start)
        box = next(n for n in at.number_input if n.key == f"explain_row_{run.id}")
    assert not at.exception, [e.value for e in at.exception]
    warm = statistics.median(times)
    return [("Explain page, first open (cold: SHAP computed and stored)", cold, ""),
            ("Explain page, warm rerun after a row change (target < 0.5 s)", warm,
             f"{'OK' if warm < 0.5 else 'over target'}; x{cold / warm:.1f} faster than cold")]


def main() -> None:
    rows = bench_tree() + bench_mlp() + bench_lime() + bench_cold_view() + bench_warm_page()
    width = max(len(r[0]) for r in rows)
    print(f"{'benchmark':<{width}}  {'seconds':>9}  notes")
    for label, seconds, notes in rows:
        print(f"{label:<{width}}  {seconds:>9.3f}  {notes}", flush=True)


if __name__ == "__main__":
    main()
