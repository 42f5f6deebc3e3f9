"""Human labels and units: stored once per data set, used by charts, sentences, pages and the report."""
from __future__ import annotations

import json

import plotly.graph_objects as go
import pytest

from core.common import ModelDeckError
from core.data import display_names, load_labels, relabel_figure, relabel_text, save_labels


def test_save_load_and_defaults(fresh_home):
    assert load_labels("builtin:churn")["tenure_months"] == ("months as customer", "months")
    save_labels("builtin:churn", {"tenure_months": ("time with us", "months"), "age": ("", "")}, ["tenure_months", "age"])
    labels = load_labels("builtin:churn")
    assert labels["tenure_months"] == ("time with us", "months") and "age" not in labels
    assert labels["monthly_charges"] == ("monthly bill", "USD")            # defaults still there
    with pytest.raises(ModelDeckError, match="not in the data set"):
        save_labels("builtin:churn", {"nope": ("x", "")}, ["age"])


def test_relabel_whole_words_only_longest_first():
    names = display_names({"age": ("customer age", "years"), "charges": ("charges", "USD"),
                           "total_charges": ("total billed", "USD")})
    text = "Average age matters; total_charges and charges differ; stage is not age_group."
    assert relabel_text(text, names) == ("Average customer age (years) matters; total billed (USD) and charges (USD) "
                                         "differ; stage is not age_group.")


def test_relabel_figure_leaves_the_original_alone():
    names = {"tenure_months": "months as customer (months)"}
    fig = go.Figure(go.Bar(y=["tenure_months", "age"], x=[1, 2], orientation="h", name="tenure_months"))
    fig.update_layout(title="What drives 'tenure_months'", xaxis_title="tenure_months")
    out = relabel_figure(fig, names)
    assert list(out.data[0].y) == ["months as customer (months)", "age"] and out.layout.xaxis.title.text == names["tenure_months"]
    assert out.layout.title.text == "What drives 'months as customer (months)'" and fig.data[0].y[0] == "tenure_months"
    import numpy as np
    coloured = relabel_figure(go.Figure(go.Scatter(x=[0], y=[0], marker={"color": [1], "colorbar": {"title": {"text": "tenure_months"}}})), names)
    assert coloured.data[0].marker.colorbar.title.text == names["tenure_months"]
    ticks = relabel_figure(go.Figure(layout={"yaxis": {"tickvals": [0], "ticktext": ["tenure_months"]}}), names)
    assert list(ticks.layout.yaxis.ticktext) == [names["tenure_months"]]                 # e.g. the beeswarm's rows
    original = go.Figure(go.Histogram(x=np.arange(10.0)))
    numeric = relabel_figure(original, names)                                       # numbers stay numbers
    assert json.loads(numeric.to_json())["data"][0]["x"] == json.loads(original.to_json())["data"][0]["x"]


def test_pages_and_report_use_the_labels(fresh_home):
    from core.data import load_builtin
    from core.models import ModelSpec
    from core.share import build_report
    from core.runs import RunStore, save_trained
    from core.train import train_model
    from tests.test_pages import assert_clean, open_page
    save_labels("builtin:churn", {"support_calls_90d": ("calls to support", "last 90 days")}, ["support_calls_90d"])
    at = open_page("pages/data.py", data="builtin:churn")
    assert_clean(at)
    specs = " ".join(json.dumps(json.loads(c.proto.spec)) for c in at.get("plotly_chart"))
    assert "months as customer (months)" in specs and "total billed (USD)" in specs
    dataset = load_builtin("churn")
    run = save_trained(RunStore(), train_model(dataset, ModelSpec.create("linear"), cv_folds=0), dataset.name)
    report = build_report(run.id)
    assert "total billed (USD)" in report                    # the missing-values chart of the data section
