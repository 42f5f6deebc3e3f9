"""Tuning: search spaces, validation, the cross-validated objective, reproducibility, pruning, comparisons, the page.

Multi-process behaviour (two workers on one SQLite study, a killed worker, stop/resume) is in test_tune_workers.py.
"""
from __future__ import annotations

import time
from dataclasses import replace

import numpy as np
import optuna
import pytest

from core.tune import charts as charts_tune
from core import tune
from core.data import load_dataset
from core.common import ModelDeckError
from core.models import FAMILIES
from core.data import PrepOptions
from core.tune import Dim, SearchSpace, TuneConfig

IRIS = "builtin:iris"


def linear_config(strategy: str = "tpe", budget: int = 12, seed: int = 42, **kw) -> TuneConfig:
    return TuneConfig(IRIS, tune.default_space("linear"), "accuracy", strategy, budget, cv_folds=2, seed=seed, **kw)


def run_inline(config: TuneConfig, n_trials: int | None = None) -> tune.TuneStatus:
    name = tune.create_study(config)
    tune.run_worker(name, n_trials=n_trials)
    return tune.study_status(name)


# ---------------------------------------------------------------- search spaces
@pytest.mark.parametrize("family_key", list(FAMILIES))
def test_default_spaces_follow_the_param_descriptions_and_round_trip(family_key):
    space = tune.default_space(family_key).validate()
    params = {p.name: p for p in FAMILIES[family_key].params}
    assert space.dims
    for dim in space.dims:
        param = params[dim.name]
        if dim.kind == "choice":
            assert param.kind in ("choice", "bool", "layers")
        else:
            assert dim.kind == param.kind and param.low <= dim.low <= dim.high <= param.high
            assert not dim.log or dim.low > 0
    assert set(space.fixed) | {d.name for d in space.dims} == set(params)
    assert tune.space_from_table(family_key, tune.space_table(space)) == space
    assert SearchSpace.from_dict(space.to_dict()) == space


def test_the_mlp_space_covers_the_network_settings():
    space = tune.default_space("mlp")
    dims = {d.name: d for d in space.dims}
    assert {"hidden", "dropout", "lr", "optimizer", "batch_size", "weight_decay"} <= set(dims)
    assert dims["lr"].log and dims["weight_decay"].log and "64,32" in dims["hidden"].choices
    spec = space.spec({"hidden": "128,64", "dropout": 0.2, "lr": 0.01, "optimizer": "adam", "batch_size": 32,
                       "weight_decay": 1e-4}, seed=3)
    assert spec.params["hidden"] == (128, 64) and spec.params["epochs"] == 40 and spec.seed == 3


def test_an_edited_table_changes_the_space():
    table = tune.space_table(tune.default_space("knn"))
    table.loc[table.name == "n_neighbors", ["low", "high", "log"]] = [3, 9, False]
    table.loc[table.name == "weights", "tune"] = False
    table.loc[table.name == "weights", "fixed"] = "uniform"
    space = tune.space_from_table("knn", table)
    assert space.dims == (Dim("n_neighbors", "int", 3.0, 9.0, False),)
    assert space.fixed == {"weights": "uniform"}


def test_grid_values_are_discretised_on_the_right_scale():
    assert Dim("C", "float", 0.01, 100.0, log=True).grid(5) == [0.01, 0.1, 1.0, 10.0, 100.0]
    assert Dim("x", "float", 0.0, 1.0).grid(3) == [0.0, 0.5, 1.0]
    assert Dim("k", "int", 1, 50, log=True).grid(4) == [1, 4, 14, 50]
    assert Dim("w", "choice", choices=("a", "b")).grid(9) == ["a", "b"]
    knn = tune.default_space("knn")
    assert knn.grid_size(4) == 4 * 2
    # a grid search stops when every point is tried: the budget is capped at the grid size
    config = tune.check_config(TuneConfig(IRIS, knn, "accuracy", "grid", budget=100, grid_points=4), "classification")
    assert config.budget == 8 and config.direction == "maximize"


# ---------------------------------------------------------------- bad input
def _table_with(family_key: str, name: str, **cells):
    table = tune.space_table(tune.default_space(family_key))
    for column, value in cells.items():
        table.loc[table.name == name, column] = value
    return table


@pytest.mark.parametrize("make, message", [
    (lambda: tune.space_from_table("linear", _table_with("linear", "C", tune=False)), "search space is empty"),
    (lambda: tune.space_from_table("linear", _table_with("linear", "C", low=10.0, high=1.0)),
     "low bound 10 is above the high bound 1"),
    (lambda: tune.space_from_table("hist_gb", _table_with("hist_gb", "l2_regularization", log=True)),
     "log scale needs a range above 0"),
    (lambda: tune.space_from_table("svm", _table_with("svm", "kernel", choices="rbf | sigmoid")),
     "'sigmoid' is not one of"),
    (lambda: tune.space_from_table("knn", _table_with("knn", "weights", choices=" | ")), "at least one choice"),
    (lambda: tune.space_from_table("knn", _table_with("knn", "n_neighbors", high=500)), "outside the allowed range"),
    (lambda: tune.check_config(linear_config(budget=0), "classification"), "budget is 0"),
    (lambda: tune.check_config(replace(linear_config(), metric="r2"), "classification"),
     "R² scores regression models, but this data set is a classification task"),
    (lambda: tune.check_config(replace(linear_config(), metric="accuracy"), "regression"),
     "Accuracy scores classification models"),
    (lambda: tune.check_config(replace(linear_config(), direction="minimize"), "classification"),
     "Accuracy is better when higher"),
    (lambda: tune.check_config(replace(linear_config(), cv_folds=1), "classification"), "at least 2 folds"),
    (lambda: tune.create_study(replace(linear_config(), metric="mae")), "MAE scores regression models"),
])
def test_bad_input_gives_a_clear_message(make, message, fresh_home):
    with pytest.raises(ModelDeckError, match=message.replace("(", r"\(").replace(")", r"\)")):
        make()


def test_an_unknown_study_is_a_clear_message(fresh_home):
    with pytest.raises(ModelDeckError, match="no search named 'nope'"):
        tune.study_status("nope")


# ---------------------------------------------------------------- the objective
def test_objective_equals_sklearn_cross_validation_on_the_training_split(fresh_home):
    """The trial value is the mean fold score of the same pipeline with the same seeded folds."""
    from sklearn.model_selection import StratifiedKFold, cross_val_score

    from core.evaluate import cross_validate_model
    from core.data import split_dataset
    from core.train import build_pipeline
    dataset = load_dataset("builtin:wine")
    prep = PrepOptions(seed=7)
    config = TuneConfig(dataset.key, tune.default_space("knn"), "balanced_accuracy", cv_folds=4, prep=prep)
    objective = tune.Objective(config, dataset)
    params = {"n_neighbors": 7, "weights": "uniform"}
    value = objective(optuna.trial.FixedTrial(params))
    spec = config.space.spec(params, config.seed)
    split = split_dataset(dataset, prep)
    reference = cross_val_score(build_pipeline(dataset, spec, prep), split.X_train, split.y_train,
                                scoring="balanced_accuracy", cv=StratifiedKFold(4, shuffle=True, random_state=7))
    assert value == pytest.approx(reference.mean(), abs=1e-12)
    cv = cross_validate_model(build_pipeline(dataset, spec, prep), split.X_train, split.y_train, "classification",
                              folds=4, random_state=7)
    assert value == pytest.approx(cv["balanced_accuracy"][0], abs=1e-12)


def test_minimised_metrics_are_reported_positive(fresh_home):
    from sklearn.metrics import mean_absolute_error
    dataset = load_dataset("builtin:diabetes")
    config = TuneConfig(dataset.key, tune.default_space("linear"), "mae", cv_folds=2)
    objective = tune.Objective(config, dataset)
    value = objective(optuna.trial.FixedTrial({"C": 1.0}))
    assert 20 < value < 80                      # MAE in the target's units, not negated
    from core.train import build_pipeline
    fold_maes = []
    for train_idx, test_idx in objective.folds:
        pipe = build_pipeline(dataset, config.space.spec({"C": 1.0}, 42), config.prep)
        pipe.fit(objective.X.iloc[train_idx], objective.y.iloc[train_idx])
        fold_maes.append(mean_absolute_error(objective.y.iloc[test_idx], pipe.predict(objective.X.iloc[test_idx])))
    assert value == pytest.approx(np.mean(fold_maes))


# ---------------------------------------------------------------- reproducibility
@pytest.mark.parametrize("strategy", ["random", "tpe"])
def test_same_seed_same_trial_sequence(strategy, fresh_home):
    space = SearchSpace("knn", (Dim("n_neighbors", "int", 1, 40), Dim("weights", "choice", choices=("uniform", "distance"))))
    config = TuneConfig(IRIS, space, "accuracy", strategy, budget=12, cv_folds=2, seed=5)
    first, second = run_inline(config), run_inline(config)
    other = run_inline(replace(config, seed=6))
    sequence = lambda status: [(t.params, t.value) for t in status.trials]  # noqa: E731
    assert len(first.trials) == 12 and all(t.state.name == "COMPLETE" for t in first.trials)
    assert sequence(first) == sequence(second)
    assert [t.params for t in other.trials] != [t.params for t in first.trials]


# ---------------------------------------------------------------- pruning
def test_hopeless_mlp_trials_are_pruned_on_their_epoch_scores(fresh_home):
    """Five trials that learn, then two with a learning rate too small to learn: those two stop at epoch 5."""
    space = SearchSpace("mlp", (Dim("lr", "float", 1e-5, 0.3, log=True),),
                        {"hidden": "16", "optimizer": "sgd", "epochs": 12, "patience": 12, "dropout": 0.0,
                         "batch_size": 16, "early_stopping": True, "validation_fraction": 0.1})
    name = tune.create_study(TuneConfig(IRIS, space, "accuracy", "random", budget=7, cv_folds=2, seed=0))
    study, _ = tune.load_study(name)
    for lr in (0.2, 0.15, 0.3, 0.25, 0.1, 1e-5, 2e-5):
        study.enqueue_trial({"lr": lr})
    tune.run_worker(name)
    status = tune.study_status(name)
    states = [t.state.name for t in status.trials]
    assert states == ["COMPLETE"] * 5 + ["PRUNED"] * 2
    for trial in status.trials[5:]:     # one report per epoch of the first fold, pruned right after the warm-up
        assert sorted(trial.intermediate_values) == [1, 2, 3, 4, 5]
    assert all(len(t.intermediate_values) == 12 and t.value > 0.8 for t in status.trials[:5])
    assert "2 stopped early by the pruner" in status.headline()


# ---------------------------------------------------------------- status, charts, comparison
def test_status_counts_best_and_charts(fresh_home):
    status = run_inline(linear_config("random", budget=10))
    assert status.n_complete == status.n_finished == 10 and status.done and not status.active
    values = [t.value for t in status.trials]
    assert status.best.value == max(values)
    assert status.best_so_far()[1] == list(np.maximum.accumulate(values))
    assert status.best_spec().params["C"] == status.best.params["C"]
    assert "10 of 10 trials done" in status.headline()
    shares = tune.importances(status)
    assert list(shares) == ["C"] and shares["C"] == pytest.approx(1.0)
    assert len(charts_tune.history_figure(status).data) == 2
    assert charts_tune.landscape_figure(status, shares).data and charts_tune.parallel_figure(status).data


def test_time_budget_stops_a_worker(fresh_home):
    name = tune.create_study(linear_config("random", budget=1000, time_budget_s=0.5))
    start = time.perf_counter()
    ran = tune.run_worker(name)
    assert 1 <= ran < 1000 and time.perf_counter() - start < 10


def test_compare_strategies_on_one_chart(fresh_home):
    group = "g1"
    for strategy in ("grid", "random", "tpe"):
        tune.run_worker(tune.create_study(linear_config(strategy, budget=6, grid_points=6), group=group))
    statuses = tune.group_statuses(group, IRIS)
    assert list(statuses) == ["grid", "random", "tpe"]
    fig = charts_tune.compare_figure(statuses)
    assert [t.name for t in fig.data] == ["Grid", "Random", "Bayesian (TPE)"]
    assert all(len(t.y) == 6 for t in fig.data)
    sentence = tune.compare_sentence(statuses)
    finals = [s.best.value for s in statuses.values()]
    if max(finals) - min(finals) <= tune.CLOSE:
        assert "ended within 0.1 point of each other; any of them is fine here" in sentence
    else:
        assert "ahead of the weakest" in sentence


def test_trials_to_reach_and_best_so_far():
    assert tune.best_so_far([0.5, 0.7, 0.6, 0.9], "maximize") == [0.5, 0.7, 0.7, 0.9]
    assert tune.best_so_far([3.0, 1.0, 2.0], "minimize") == [3.0, 1.0, 1.0]
    assert tune.trials_to_reach([0.5, 0.7, 0.7, 0.9], 0.9005, "maximize") == 4
    assert tune.trials_to_reach([0.5, 0.7, 0.7, 0.899], 0.9005, "maximize") is None
    assert tune.trials_to_reach([3.0, 1.0005, 1.0], 1.0, "minimize") == 2
