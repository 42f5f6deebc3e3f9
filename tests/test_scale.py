"""Large tables (issue 14) through the same code on a small generated file: above the sample threshold (lowered here
to 1,000 rows through `core.data._profile.SAMPLE_ROWS`) the statistics, charts and cleaning preview use a stated
seeded sample, counts stay exact, the Data page and the HTML report say so, and the report stays small."""
from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest

from benchmarks.bench_scale import make_table
from core.data import PrepOptions, make_dataset, preview_cleaning, profile, save_upload, split_dataset
from core.data import _profile
from core.data import charts as charts_data

ROWS, SAMPLE = 3000, 1000


@pytest.fixture(autouse=True)
def _low_threshold(monkeypatch):
    monkeypatch.setattr(_profile, "SAMPLE_ROWS", SAMPLE)


@pytest.fixture(scope="module")
def table():
    return make_dataset(make_table(ROWS, seed=3), "target", "classification", name="generated")


def test_profile_counts_every_row_and_computes_statistics_on_the_stated_sample(table):
    prof = profile(table)
    frame = table.frame
    assert prof.n_rows == ROWS and prof.sampled_rows == SAMPLE
    assert prof.missing.equals(frame.isna().sum()) and prof.missing["num_05"] > 0           # exact counts
    assert prof.n_duplicates == int(frame.duplicated().sum())
    assert prof.target_summary.sum() == ROWS
    shown = frame.iloc[np.sort(np.random.default_rng(0).choice(ROWS, SAMPLE, replace=False))]
    numeric = shown[table.numeric_features]
    pd.testing.assert_frame_equal(prof.numeric_summary, numeric.describe().T)
    assert np.allclose(prof.correlation, numeric[prof.correlation.columns].corr())
    assert "random sample of 1,000 of 3,000 rows" in prof.sample_note()
    assert profile(table, max_rows=ROWS).sample_note() == ""                                # all rows: no note


def test_cleaning_preview_and_charts_sample_and_say_so(table):
    preview = preview_cleaning(table, PrepOptions())
    train_rows = len(split_dataset(table, PrepOptions()).X_train)
    assert len(preview.before) == len(preview.after) == SAMPLE and preview.train_rows == train_rows
    assert f"random sample of 1,000 of {train_rows:,} training rows" in preview.sentence()
    fig = charts_data.distribution_figure(table, "num_00")
    assert sum(len(trace.x) for trace in fig.data) == SAMPLE
    assert "random sample of 1,000 of 3,000 rows" in fig.layout.title.text
    counted = charts_data.distribution_figure(table, "cat_1")
    assert sum(sum(trace.y) for trace in counted.data) == SAMPLE
    whole = charts_data.distribution_figure(table, "num_00", max_rows=ROWS)
    assert sum(len(trace.x) for trace in whole.data) == ROWS and "sample" not in whole.layout.title.text


def test_data_page_says_its_statistics_come_from_a_sample(table, module_home):
    from tests.test_pages import assert_clean, open_page
    at = open_page("pages/data.py", data=save_upload(table))
    assert_clean(at)
    text = " ".join(c.value for c in at.caption)
    assert "computed on a random sample of 1,000 of 3,000 rows" in text
    assert "rows, missing cells, duplicates and classes use every row" in text
    assert at.metric[0].value == "3,000"                                                    # the exact row count


def test_report_samples_what_it_embeds_and_says_so(table, module_home, monkeypatch):
    from core import explain as ex
    from core.models import ModelSpec
    from core.runs import RunStore, save_trained
    from core.share import _report, build_report
    from core.train import train_model
    monkeypatch.setattr(_report, "REPORT_SWARM_ROWS", 100)
    store = RunStore()
    save_upload(table)
    run = save_trained(store, train_model(table, ModelSpec.create("hist_gb", max_iter=20), cv_folds=0), table.name)
    split = split_dataset(table, PrepOptions.from_dict(run.prep))
    expl = ex.explain_split(ex.ShapEngine(store.load_model(run.id), split.X_train, run.task, "yes"), split,
                            max_rows=300)
    ex.save_explanation(expl, ex.explanation_stem(store.folder(run.id), expl.method, 300, 0))
    text = build_report(run.id, store)
    assert "computed on a random sample of 1,000 of 3,000 rows" in text
    assert "The beeswarm draws a random sample of 100 of the 300 explained rows." in text
    swarm = ex.sample_explained(expl, 100)
    assert swarm.n_rows == 100 and np.array_equal(swarm.values, expl.values[ex.sample_positions(300, 100, 0)])
    from plotly.offline import get_plotlyjs
    figures_bytes = len(text.encode()) - len(get_plotlyjs().encode())
    assert figures_bytes < 1_000_000, figures_bytes                    # what the report adds beyond plotly.js
    assert len(re.findall("Plotly.newPlot", text)) >= 5


def test_training_scores_rows_once_and_predicts_what_the_pipeline_predicts(table):
    from core.models import ModelSpec
    from core.train import train_model
    for family in ("hist_gb", "random_forest", "linear"):
        model = train_model(table, ModelSpec.create(family), cv_folds=0)
        split = split_dataset(table, model.prep)
        for pred, X in ((model.train_pred, split.X_train), (model.test_pred, split.X_test)):
            assert np.array_equal(pred.y_pred, model.pipeline.predict(X).astype(str))
            assert np.allclose(pred.proba, model.pipeline.predict_proba(X))
