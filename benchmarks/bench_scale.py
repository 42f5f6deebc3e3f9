"""A million rows (issue 14): a seeded 1,000,000 × 30 CSV through the app's own code, each step beside a baseline
measured in the same run.

1. Load + profile (target < 15 s): the upload path (`core.data.read_csv` with its sniffing, encoding and limit
   checks, `make_dataset` with type detection, `profile`) against plain `pandas.read_csv` (C engine; the pyarrow
   engine is shown too). Storing the upload (`save_upload`) and opening it again (`load_dataset`) are shown apart.
2. Histogram gradient boosting through `core.train.train_model` (split, cleaning pipeline, fit, scoring of train and
   test rows, bootstrap intervals; no cross-validation) (target < 60 s) against scikit-learn's
   `HistGradientBoostingClassifier.fit` alone on the one-hot training arrays and on native categories (what the app
   gives boosting since issue 14: category codes, one column per column).
3. The PyTorch MLP: one epoch through `train_model`, the default epochs extrapolated from it; scikit-learn's
   `MLPClassifier` for one epoch (`max_iter=1`) on the same arrays as the baseline.
4. Peak memory of the process (`resource.getrusage`, target < 4 GB).
5. On 100,000 rows: every page renders in under 3 s once its job has finished (AppTest: Data, Metrics, Explain of a
   finished run whose explanation is stored, caches cleared; then a warm rerun), and the HTML report stays under
   10 MB.

`python -m benchmarks scale` runs it all (a few minutes); `python -m benchmarks.bench_scale 200000 20000` smaller tables.
The 1,000,000-row CSV is about 160 MB, over the 100 MB upload limit (MAX_UPLOAD_BYTES): the benchmark passes a
larger `max_bytes`, as a deployment that raises `server.maxUploadSize` would.
"""
from __future__ import annotations

import importlib
import os
import resource
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd

from benchmarks.common import ROOT, timed

ROWS = 1_000_000
PAGE_ROWS = 100_000
CATEGORY_LEVELS = (3, 4, 5, 6, 8, 10, 12, 20, 40)


def make_table(n_rows: int, seed: int = 0) -> pd.DataFrame:
    """20 numeric columns (normal, skewed, uniform, whole numbers), 9 categorical (3 to 40 values), a yes/no target
    with real signal (linear, an interaction, a category effect and a curve) and 3% gaps in three columns."""
    rng = np.random.default_rng(seed)
    columns = {}
    for i in range(20):
        draw = (lambda: rng.normal(50, 15, n_rows), lambda: rng.exponential(30, n_rows),
                lambda: rng.uniform(0, 100, n_rows), lambda: rng.integers(0, 60, n_rows).astype(float))[i % 4]
        columns[f"num_{i:02d}"] = np.round(draw(), 2)
    for j, levels in enumerate(CATEGORY_LEVELS):
        names = np.array([f"c{j}_{k}" for k in range(levels)], dtype=object)
        columns[f"cat_{j}"] = names[rng.integers(0, levels, n_rows)]
    frame = pd.DataFrame(columns)
    logit = (0.08 * (frame.num_00 - 50) - 0.03 * (frame.num_01 - 30)
             + 0.04 * (frame.num_02 - 50) * (frame.cat_0 == "c0_1") + np.where(frame.cat_1 == "c1_2", 1.2, 0)
             - np.where(frame.cat_4 == "c4_0", 0.8, 0) + 0.5 * np.sin(frame.num_03 / 10))
    frame["target"] = np.where(rng.random(n_rows) < 1 / (1 + np.exp(-logit)), "yes", "no")
    for column in ("num_05", "num_06", "cat_2"):
        frame.loc[rng.random(n_rows) < 0.03, column] = np.nan
    return frame


def write_csv(n_rows: int, folder: Path) -> Path:
    path = folder / f"table_{n_rows}.csv"
    make_table(n_rows).to_csv(path, index=False)
    return path


def peak_mb() -> float:
    """The process's peak resident memory so far (Linux reports KB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _upload(path: Path):
    """((read_csv seconds, make_dataset seconds), the data set): the Data page's upload path on the file's bytes."""
    from core.data import make_dataset, read_csv
    data = path.read_bytes()
    read_s, read = timed(lambda: read_csv(data, path.name, max_bytes=len(data) + 1))
    make_s, dataset = timed(lambda: make_dataset(read.frame, "target", "classification", name=path.stem))
    return (read_s, make_s), dataset


def bench_load(path: Path) -> tuple[list[tuple], object]:
    from core.data import load_dataset, profile, save_upload
    rows = []
    plain, _ = timed(lambda: pd.read_csv(path))
    rows.append(("plain pandas.read_csv, C engine (baseline)", plain, ""))
    arrow, _ = timed(lambda: pd.read_csv(path, engine="pyarrow"))
    rows.append(("plain pandas.read_csv, pyarrow engine", arrow, f"×{arrow / plain:.2f} of the C engine"))
    (read_s, make_s), dataset = _upload(path)
    prof_s, prof = timed(lambda: profile(dataset))
    total = read_s + make_s + prof_s
    rows += [("app: read_csv (sniffing, encoding, limits)", read_s, f"×{read_s / plain:.2f} of plain pandas"),
             ("app: make_dataset (types, target, fingerprint)", make_s, ""),
             ("app: profile", prof_s, prof.sample_note() or "every row"),
             (f"app: load + profile {len(dataset.frame):,} rows (target < 15 s)", total,
              f"{'OK' if total < 15 else 'over target'}; ×{total / plain:.1f} of plain pandas.read_csv")]
    save_s, key = timed(lambda: save_upload(dataset))
    open_s, _ = timed(lambda: load_dataset(key))
    rows += [("app: save_upload (CSV + sidecar in the store)", save_s, "once per upload"),
             ("app: load_dataset (open the stored upload)", open_s, f"×{open_s / plain:.2f} of plain pandas")]
    return rows, dataset


def _prepared_arrays(dataset):
    """The training rows through the app's own cleaning pipeline, as arrays (the baselines' input)."""
    from core.data import PrepOptions, build_preprocessor, split_dataset
    prep = PrepOptions()
    split = split_dataset(dataset, prep)
    X = build_preprocessor(dataset, prep).fit_transform(split.X_train, split.y_train)
    return np.asarray(X, dtype=np.float32), split.y_train.to_numpy()


def _native_categories(dataset):
    """The same training rows with categories as pandas categoricals (boosting's own category splits)."""
    from core.data import PrepOptions, split_dataset
    split = split_dataset(dataset, PrepOptions())
    X = split.X_train.astype({c: "category" for c in dataset.categorical_features})
    return X, split.y_train


def bench_boosting(dataset, X, y) -> list[tuple]:
    from sklearn.ensemble import HistGradientBoostingClassifier

    from core.models import ModelSpec
    from core.train import train_model
    fit_s, _ = timed(lambda: HistGradientBoostingClassifier(early_stopping=False, random_state=0).fit(X, y))
    native_s, _ = timed(lambda: HistGradientBoostingClassifier(early_stopping=False, random_state=0).fit(
        *_native_categories(dataset)))
    app_s, model = timed(lambda: train_model(dataset, ModelSpec.create("hist_gb"), cv_folds=0))
    return [(f"sklearn HistGradientBoostingClassifier.fit, {X.shape[0]:,} × {X.shape[1]} (baseline)", fit_s, ""),
            (f"sklearn HistGradientBoostingClassifier.fit, native categories ({len(dataset.features)} columns)",
             native_s, f"×{fit_s / native_s:.2f} faster than on the one-hot arrays (the app's encoding for boosting "
                       "since issue 14: category codes)"),
            ("app: train_model gradient boosting, no CV (target < 60 s)", app_s,
             f"{'OK' if app_s < 60 else 'over target'}; fit {model.fit_seconds:.1f} s, ×{app_s / fit_s:.2f} of the "
             f"bare fit; test accuracy {model.report.test['accuracy']:.1%}; 5-fold CV would add 5 fits of "
             f"{0.8 * model.fit_seconds:.0f} s")]


def bench_mlp(dataset, X, y) -> list[tuple]:
    import warnings

    from sklearn.neural_network import MLPClassifier

    from core.models import ModelSpec, default_params
    from core.train import train_model
    params = default_params("mlp")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")       # one epoch does not converge, on purpose
        base_s, _ = timed(lambda: MLPClassifier(hidden_layer_sizes=params["hidden"], max_iter=1,
                                                batch_size=params["batch_size"], random_state=0).fit(X, y))
    importlib.import_module("torch")      # imported before the clock starts, as in a running app
    spec = ModelSpec.create("mlp", epochs=1, early_stopping=False)
    app_s, model = timed(lambda: train_model(dataset, spec, cv_folds=0))
    epochs = params["epochs"]
    return [(f"sklearn MLPClassifier, 1 epoch, hidden {params['hidden']} (baseline)", base_s, ""),
            ("app: train_model MLP, 1 epoch", app_s, f"fit {model.fit_seconds:.1f} s, ×{model.fit_seconds / base_s:.2f} "
             f"of sklearn's epoch; test accuracy after 1 epoch {model.report.test['accuracy']:.1%}"),
            (f"app: MLP, {epochs} epochs (extrapolated, not run)", model.fit_seconds * epochs,
             f"{epochs} × the epoch's fit; early stopping (patience {params['patience']}) usually ends sooner")]


# ---------------------------------------------------------------- 100,000 rows: pages and report
def _clear_caches() -> None:
    import streamlit as st
    st.cache_data.clear()
    st.cache_resource.clear()


def _page(page: str, data_key: str, run_id: str | None):
    from streamlit.testing.v1 import AppTest
    at = AppTest.from_file(str(ROOT / "streamlit_app.py"), default_timeout=600)
    at.query_params["data"] = data_key
    if run_id:
        at.query_params["run"] = run_id
    at.switch_page(page)
    return at


def bench_pages(page_rows: int = PAGE_ROWS) -> list[tuple]:
    """Data, Metrics and Explain on a 100,000-row upload with a finished boosting run (its explanation stored by a
    first visit), each timed fresh with caches cleared and then on a warm rerun; the run's HTML report's size."""
    from core.data import make_dataset, save_upload
    from core.models import ModelSpec
    from core.runs import RunStore, save_trained
    from core.data._profile import SAMPLE_ROWS
    from core.share import build_report
    from core.train import train_model
    dataset = make_dataset(make_table(page_rows, seed=1), "target", "classification", name="table_100k")
    key = save_upload(dataset)
    store = RunStore()
    run = save_trained(store, train_model(dataset, ModelSpec.create("hist_gb"), cv_folds=5), dataset.name)
    rows = []
    _page("pages/explain.py", key, run.id).run()           # the explanation job: computed once, stored with the run
    for page in ("pages/data.py", "pages/metrics.py", "pages/explain.py"):
        _clear_caches()
        at = _page(page, key, run.id)
        cold, _ = timed(at.run)
        errors = [e.value for e in at.exception] + [e.value for e in at.error]
        warm, _ = timed(at.run)
        name = page.split("/")[-1].removesuffix(".py").title()
        rows.append((f"{name} page, {page_rows:,} rows, caches cleared (target < 3 s)", cold,
                     f"{'OK' if cold < 3 and not errors else 'over target' if not errors else errors[:1]}; "
                     f"warm rerun {warm:.2f} s"))
    report_s, text = timed(lambda: build_report(run.id, store))
    size = len(text.encode())
    sampled = ("says what it samples" if "random sample" in text else
               "does NOT say it samples" if page_rows > SAMPLE_ROWS else "no sampling needed")
    rows.append((f"HTML report, {page_rows:,} rows (target < 10 MB)", report_s,
                 f"{size / 2**20:.1f} MB, {'OK' if size < 10 * 2**20 else 'over target'}; {sampled}"))
    return rows


def main(n_rows: int = ROWS, page_rows: int = PAGE_ROWS) -> None:
    load_before = os.getloadavg()[0]
    with tempfile.TemporaryDirectory(prefix="modeldeck-scale-") as tmp:
        folder = Path(tmp)
        write_s, path = timed(lambda: write_csv(n_rows, folder))
        rows = [(f"generate and write the {n_rows:,} × 30 CSV ({path.stat().st_size / 2**20:.0f} MB)", write_s, "")]
        load_rows, dataset = bench_load(path)
        rows += load_rows
        X, y = _prepared_arrays(dataset)
        rows += bench_boosting(dataset, X, y)
        rows += bench_mlp(dataset, X, y)
        del X, y, dataset
        peak = peak_mb()
        rows.append((f"peak memory, {n_rows:,} rows (target < 4 GB)", 0.0,
                     f"{peak / 1024:.2f} GB, {'OK' if peak < 4096 else 'over target'} (getrusage, the whole process)"))
        rows += bench_pages(page_rows)
    rows.append((f"machine load (1-min average, {os.cpu_count()} cores): {load_before:.1f} before, "
                 f"{os.getloadavg()[0]:.1f} after", 0.0, ""))
    width = max(len(r[0]) for r in rows)
    print(f"{'benchmark':<{width}}  {'seconds':>9}  notes")
    for label, seconds, notes in rows:
        print(f"{label:<{width}}  {seconds:>9.3f}  {notes}", flush=True)


if __name__ == "__main__":
    import sys
    main(*(int(a) for a in sys.argv[1:3]))
