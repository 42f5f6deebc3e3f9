"""Each advisor rule: one case that triggers it and one that does not."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from core import share
from core.share import Evidence
from core.data import load_builtin, make_dataset
from core.evaluate import MetricReport


def report(task="classification", train=None, test=None, cv=None, primary=None) -> MetricReport:
    primary = primary or ("accuracy" if task == "classification" else "r2")
    return MetricReport(task=task, test=test or {}, train=train or {}, cv=cv or {}, primary=primary)


CASES = {
    "class_imbalance": (Evidence(task="classification", class_counts={"a": 900, "b": 100}),
                        Evidence(task="classification", class_counts={"a": 550, "b": 450})),
    "missing_values": (Evidence(missing_share={"x": 0.3, "y": 0.0}), Evidence(missing_share={"x": 0.0})),
    "leakage_suspect": (Evidence(leakage_scores={"refund_issued": 0.995, "age": 0.55}),
                        Evidence(leakage_scores={"age": 0.55, "tenure": 0.8})),
    "overfitting": (Evidence(report=report(train={"accuracy": 1.0}, test={"accuracy": 0.85})),
                    Evidence(report=report(train={"accuracy": 0.91}, test={"accuracy": 0.90}))),
    "underfitting": (Evidence(report=report(train={"accuracy": 0.76}, test={"accuracy": 0.75}),
                              class_counts={"a": 750, "b": 250}),
                     Evidence(report=report(train={"accuracy": 0.95}, test={"accuracy": 0.93}),
                              class_counts={"a": 750, "b": 250})),
    "misleading_accuracy": (Evidence(report=report(test={"accuracy": 0.95, "balanced_accuracy": 0.70})),
                            Evidence(report=report(test={"accuracy": 0.95, "balanced_accuracy": 0.94}))),
    "unstable_model": (Evidence(report=report(cv={"accuracy": (0.8, 0.09)})),
                       Evidence(report=report(cv={"accuracy": (0.8, 0.01)}))),
    "diverging_curves": (Evidence(history=[{"epoch": i + 1, "val_loss": v} for i, v in
                                           enumerate([1.0, 0.6, 0.4, 0.35, 0.4, 0.5, 0.6, 0.7])]),
                         Evidence(history=[{"epoch": i + 1, "val_loss": 1.0 / (i + 1)} for i in range(8)])),
    "explainer_disagrees": (Evidence(importance_agreement=0.2), Evidence(importance_agreement=0.9)),
    "compression_pick": (Evidence(compression_pick={"name": "int8", "size_ratio": 3.9, "speed_ratio": 2.1,
                                                    "accuracy_change": -0.002}), Evidence()),
    # issue 11: rules that fire on real data
    "identifier_input": (Evidence(risky_inputs={"PassengerId": "an identifier: unique for every row and consecutive"}),
                         Evidence(risky_inputs={})),
    "high_cardinality": (Evidence(wide_one_hot={"Ticket": 681, "Sex": 2}), Evidence(wide_one_hot={"Sex": 2})),
    "bare_code_labels": (Evidence(task="classification", class_counts={"0": 549, "1": 342}),
                         Evidence(task="classification", class_counts={"0": 549, "1": 342},
                                  class_names={"0": "died", "1": "survived"})),
    "better_model_available": (
        Evidence(report=report(cv={"accuracy": (0.78, 0.02)}),
                 leaderboard=[{"run": "r2", "title": "Random forest", "cv_mean": 0.83}]),
        Evidence(report=report(cv={"accuracy": (0.83, 0.02)}),
                 leaderboard=[{"run": "r1", "title": "Logistic regression", "cv_mean": 0.78}])),
    "tuning_not_converged": (Evidence(tuning_best_so_far=[0.8, 0.82, 0.83, 0.84, 0.85, 0.86, 0.88, 0.90]),
                             Evidence(tuning_best_so_far=[0.8, 0.88, 0.9, 0.9, 0.9, 0.9, 0.9, 0.9])),
}


@pytest.mark.parametrize("rule", list(CASES))
def test_rule_triggers_and_stays_quiet(rule):
    fires, quiet = CASES[rule]
    function = getattr(share, rule)
    advice = function(fires)
    assert advice is not None and advice.rule == rule
    assert advice.finding.endswith(".") and advice.action and advice.evidence and advice.severity in share.SEVERITY_ORDER
    assert function(quiet) is None


def test_every_rule_has_a_case():
    assert {rule.__name__ for rule in share.RULES} == set(CASES)


def test_regression_underfitting():
    assert share.underfitting(Evidence(report=report("regression", train={"r2": 0.1}))) is not None
    assert share.underfitting(Evidence(report=report("regression", train={"r2": 0.6}))) is None


def test_advise_sorts_by_severity():
    ev = Evidence(missing_share={"x": 0.1}, leakage_scores={"copy": 1.0})
    found = share.advise(ev)
    assert [a.rule for a in found] == ["leakage_suspect", "missing_values"]


def test_leakage_scores_find_a_planted_copy_of_the_target():
    rng = np.random.default_rng(0)
    frame = pd.DataFrame({"noise": rng.normal(size=400), "label": rng.choice(["yes", "no"], size=400)})
    frame["leak"] = (frame["label"] == "yes").astype(float) + rng.normal(scale=0.01, size=400)
    scores = share.leakage_scores(make_dataset(frame, "label"))
    assert scores["leak"] > 0.99 and scores["noise"] < 0.7
    ev = share.evidence_for(make_dataset(frame, "label"))
    assert any(a.rule == "leakage_suspect" and a.evidence["feature"] == "leak" for a in share.advise(ev))


def test_churn_evidence_has_no_leak_but_flags_missing_and_imbalance():
    found = {a.rule for a in share.advise(share.evidence_for(load_builtin("churn")))}
    assert "leakage_suspect" not in found and {"missing_values", "class_imbalance"} <= found


def test_bare_codes_fire_for_small_integers_until_every_class_is_named():
    """Words are not codes; 1-5 stars are; one class still unnamed keeps the rule on, naming it quiets it."""
    words = Evidence(task="classification", class_counts={"died": 549, "survived": 342})
    stars = Evidence(task="classification", class_counts={str(k): 10 for k in range(1, 6)}, class_names={"1": "awful"})
    assert share.bare_code_labels(words) is None
    advice = share.bare_code_labels(stars)
    assert advice is not None and advice.evidence["unnamed"] == 4 and "'2'" in advice.finding
    stars.class_names = {str(k): f"{k} stars" for k in range(1, 6)}
    assert share.bare_code_labels(stars) is None
    assert share.bare_code_labels(Evidence(task="regression", class_counts={"0": 5, "1": 5})) is None
