"""Human labels and units: stored once per data set, used by charts, sentences, pages and the report."""
from __future__ import annotations

import json

import plotly.graph_objects as go
import pytest

from core.common import ModelDeckError
from core.data import (bare_codes, class_name, display_names, load_class_names, load_labels, relabel_figure,
                       relabel_text, save_class_names, save_labels)


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


# ---------------------------------------------------------------- per owner (issue 12) and class names (issue 11)
def test_labels_and_class_names_belong_to_their_owner(fresh_home):
    """One person's names never change another's; someone who gave none sees the built-in defaults; the command
    line (no owner) reads the unowned file, untouched by either."""
    save_labels("builtin:churn", {"tenure_months": ("time with us", "months")}, ["tenure_months"], owner="user:ana")
    save_class_names("builtin:churn", {"1": "left"}, ["0", "1"], owner="user:ana")
    assert load_labels("builtin:churn", "user:ana")["tenure_months"] == ("time with us", "months")
    assert load_labels("builtin:churn", "user:bo")["tenure_months"] == ("months as customer", "months")
    assert load_labels("builtin:churn")["tenure_months"] == ("months as customer", "months")
    assert load_class_names("builtin:churn", "user:ana") == {"1": "left"}
    assert load_class_names("builtin:churn", "user:bo") == {} and load_class_names("builtin:churn") == {}
    save_labels("builtin:churn", {"age": ("age", "years")}, ["age"], owner="user:ana")     # labels keep class names
    assert load_class_names("builtin:churn", "user:ana") == {"1": "left"}


def test_class_names_are_checked_and_shown_through_one_function(fresh_home):
    assert bare_codes(["0", "1"]) and bare_codes([1, 2, 3, 4, 5]) and bare_codes(["0.0", "1.0"])
    assert not bare_codes(["died", "survived"]) and not bare_codes(["1", "two"]) and not bare_codes(["12345"])
    assert not bare_codes([])
    with pytest.raises(ModelDeckError, match="not in the target"):
        save_class_names("builtin:wine", {"9": "nine"}, ["0", "1", "2"])
    with pytest.raises(ModelDeckError, match="read the same"):
        save_class_names("builtin:wine", {"0": "red", "1": "red"}, ["0", "1", "2"])
    with pytest.raises(ModelDeckError, match="read the same"):
        save_class_names("builtin:wine", {"0": "2"}, ["0", "1", "2"])          # '0' would read like class '2'
    save_class_names("builtin:wine", {"0": "Barolo", "1": " "}, ["0", "1", "2"])
    names = load_class_names("builtin:wine")
    assert names == {"0": "Barolo"}
    assert [class_name(c, names) for c in (0, "1", 2)] == ["Barolo", "1", "2"]
    digits = load_class_names("builtin:digits")          # the digit drawn is the class's name: nothing to ask
    assert digits == {str(d): str(d) for d in range(10)}
    from core.share import Evidence, bare_code_labels
    assert bare_code_labels(Evidence(task="classification", class_counts={d: 180 for d in digits},
                                     class_names=digits)) is None


def test_a_labels_file_written_before_class_names_still_reads(fresh_home):
    from core.common import home
    (home() / "labels").mkdir(parents=True, exist_ok=True)
    (home() / "labels" / "builtin_churn.json").write_text(json.dumps({"age": ["customer age", "years"]}))
    assert load_labels("builtin:churn")["age"] == ("customer age", "years") and load_class_names("builtin:churn") == {}


def test_reports_and_predictions_say_the_class_names():
    """The metrics report and a batch of predictions, renamed for display; codes stay codes underneath."""
    import numpy as np
    import pandas as pd

    from core.evaluate import MetricReport
    from core.predict import BatchResult
    report = MetricReport("classification", {"accuracy": 0.9, "precision": 0.8, "recall": 0.7}, {"accuracy": 0.95},
                          per_class=[{"label": "0", "recall": 0.9, "precision": 0.9, "f1": 0.9, "support": 9},
                                     {"label": "1", "recall": 0.7, "precision": 0.8, "f1": 0.75, "support": 5}],
                          confusion=[[8, 1], [2, 3]], labels=["0", "1"], n_train=40, n_test=14, positive_label="1")
    named = report.named({"0": "stayed", "1": "left"})
    assert named.labels == ["stayed", "left"] and named.positive_label == "left"
    assert [r["label"] for r in named.per_class] == ["stayed", "left"] and report.labels == ["0", "1"]
    assert "left" in named.headline() and report.named({}) is report
    from core.evaluate import charts
    heat = charts.confusion_figure(named)
    assert "left" in json.dumps(json.loads(heat.to_json())["data"])
    table = pd.DataFrame({"x": [1, 2, 3], "predicted y": ["0", "1", ""], "probability of '0'": [0.9, 0.2, np.nan],
                          "probability of '1'": [0.1, 0.8, np.nan]})
    result = BatchResult(table, ["predicted y", "probability of '0'", "probability of '1'"], "classification", "y",
                         ["0", "1"], np.array(["0", "1", ""], dtype=object), table.iloc[:, 2:].to_numpy(),
                         np.array([True, True, False]))
    shown = result.named({"0": "stayed", "1": "left"})
    assert list(shown.table["predicted y"]) == ["stayed", "left", ""] and "probability of 'left'" in shown.table
    assert shown.prediction_columns[2] == "probability of 'left'" and "'left'" in shown.summary()
    assert shown.positive_label == "left" and list(result.table["predicted y"]) == ["0", "1", ""]
    from core.predict import charts as predict_charts
    assert "probability of 'left'" in predict_charts.predictions_figure(shown).layout.xaxis.title.text


def test_one_browsers_names_do_not_change_anothers_charts(fresh_home):
    """Labels of a built-in data set are per owner: the tests' browser renames a column, another browser's charts
    keep the built-in name."""
    from streamlit.testing.v1 import AppTest

    from tests.test_pages import APP, open_page
    from tests.test_share_links import TESTS_BROWSER, as_other
    save_labels("builtin:churn", {"total_charges": ("everything billed", "EUR")}, ["total_charges"], owner=TESTS_BROWSER)

    def chart_text(at) -> str:
        assert not at.exception, [e.value for e in at.exception]
        return " ".join(json.dumps(json.loads(c.proto.spec)) for c in at.get("plotly_chart"))

    mine = chart_text(open_page("pages/data.py", data="builtin:churn"))
    other = as_other(AppTest.from_file(APP, default_timeout=90))
    other.query_params["data"] = "builtin:churn"
    other.switch_page("pages/data.py")
    theirs = chart_text(other.run())
    assert "everything billed (EUR)" in mine and "total billed (USD)" not in mine
    assert "total billed (USD)" in theirs and "everything billed" not in theirs


def test_the_data_page_asks_for_class_names_once_and_every_page_says_them(fresh_home):
    """A 0/1 target: the Data page asks for names until they are given (by this browser), the advisor stops asking,
    then the Metrics page's confusion matrix, scores per class and headline say them."""
    import numpy as np
    import pandas as pd

    from core.data import make_dataset, save_upload
    from core.models import ModelSpec
    from core.runs import RunStore, save_trained
    from core.train import train_model
    from tests.test_pages import assert_clean, open_page
    from tests.test_share_links import TESTS_BROWSER

    def asked(at) -> bool:
        return any("What do the classes" in m.value for m in at.markdown)

    rng = np.random.default_rng(0)
    x = rng.normal(size=(200, 2))
    frame = pd.DataFrame({"a": x[:, 0], "b": x[:, 1], "outcome": (x[:, 0] + x[:, 1] + rng.normal(size=200) > 0).astype(int)})
    dataset = make_dataset(frame, "outcome", task="classification", name="codes")
    key = save_upload(dataset, owner=TESTS_BROWSER)
    at = open_page("pages/data.py", data=key)
    assert_clean(at)
    assert asked(at) and any("bare codes" in m.value for m in at.markdown)          # the advisor says so too
    save_class_names(key, {"0": "stayed", "1": "left"}, ["0", "1"], owner=TESTS_BROWSER)   # what Save stores
    at.run()
    assert not asked(at) and not any("bare codes" in m.value for m in at.markdown)

    from core.data import load_dataset
    dataset = load_dataset(key)
    run = save_trained(RunStore().as_owner(TESTS_BROWSER), train_model(dataset, ModelSpec.create("linear"), cv_folds=0),
                       dataset.name)
    metrics = open_page("pages/metrics.py", run=run.id)
    assert_clean(metrics)
    specs = " ".join(json.dumps(json.loads(c.proto.spec)) for c in metrics.get("plotly_chart"))
    assert "stayed" in specs and "left" in specs
    per_class = next(d.value for d in metrics.dataframe if "label" in getattr(d.value, "columns", []))
    assert list(per_class["label"]) == ["stayed", "left"]


def test_a_page_draw_reads_the_labels_once_and_an_edit_elsewhere_shows_when_the_memo_expires(fresh_home,
                                                                                                monkeypatch):
    """Every chart and caption asks for the names (each read is a query on a shared store): one draw of the Data
    page reads them twice (the names, and the table to edit them); an edit from another session or machine shows
    once NAMES_FRESH_S has passed."""
    import core.data
    import ui.common
    from tests.test_pages import assert_clean, open_page
    reads, real = [], core.data.load_labels
    monkeypatch.setattr(core.data, "load_labels", lambda key, owner=None: reads.append(key) or real(key, owner))
    monkeypatch.setattr(ui.common, "NAMES_FRESH_S", 3600.0)
    at = open_page("pages/data.py", data="builtin:churn")
    assert_clean(at)
    assert reads == ["builtin:churn"] * 2
    owner = at.session_state["_identity"].owner
    save_labels("builtin:churn", {"total_charges": ("everything billed", "USD")}, ["total_charges"], owner=owner)
    at.run()
    assert len(reads) == 3 and "everything billed" not in _drawn(at)
    monkeypatch.setattr(ui.common, "NAMES_FRESH_S", 0.0)
    at.run()
    assert len(reads) - 3 > 10                     # without the memo: once per chart and caption (17 here)
    assert "everything billed (USD)" in _drawn(at) and "total billed" not in _drawn(at)


def _drawn(at) -> str:
    return " ".join(c.proto.spec for c in at.get("plotly_chart")) + " ".join(str(c.value) for c in at.caption)
