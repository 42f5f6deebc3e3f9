"""Issue 11: the command line as a stable interface — `train --csv/--target/--json`, `leaderboard`, `--from-run`
reproducing a run's metrics exactly, and errors that exit with status 2 and one line."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.test_column_fates import passengers

ROOT = Path(__file__).resolve().parents[1]


def cli(home: Path, *args: str) -> subprocess.CompletedProcess:
    env = {"MODELDECK_HOME": str(home), "PATH": "/usr/bin:/bin"}
    return subprocess.run([sys.executable, "-m", "core", *args], cwd=ROOT, capture_output=True, text=True, env=env,
                          timeout=300)


@pytest.fixture(scope="module")
def csv_file(tmp_path_factory):
    path = tmp_path_factory.mktemp("csv") / "passengers.csv"
    passengers().drop(columns=["Outcome"]).to_csv(path, index=False)
    return path


def test_train_a_csv_with_json(csv_file, tmp_path):
    done = cli(tmp_path, "train", "--csv", str(csv_file), "--target", "Survived", "--model", "linear", "--cv", "3",
               "--json")
    assert done.returncode == 0, done.stderr
    doc = json.loads(done.stdout)
    left_out = {c["column"]: c["why"] for c in doc["columns"]["left_out"]}
    assert set(left_out) == {"PassengerId", "Name", "Ticket"} and "consecutive" in left_out["PassengerId"]
    used = {c["column"]: c["used_as"] for c in doc["columns"]["used"]}
    assert used["Cabin"] == "target-encoded" and used["Sex"] == "one-hot"
    metrics = doc["metrics"]
    assert set(metrics) >= {"train", "cv", "test", "test_interval_95", "test_label"} and metrics["cv_folds"] == 3
    low, high = metrics["test_interval_95"]["accuracy"]
    assert low <= metrics["test"]["accuracy"] <= high
    assert doc["chosen_model"] == "Logistic regression" and doc["dataset"]["key"].startswith("upload:")
    assert "measured once on 179 unseen rows" in metrics["test_label"]


def test_leaderboard_chooses_by_cross_validation(tmp_path):
    done = cli(tmp_path, "leaderboard", "--dataset", "breast_cancer", "--models", "linear,knn", "--cv", "3", "--json")
    assert done.returncode == 0, done.stderr
    doc = json.loads(done.stdout)
    board = doc["leaderboard"]
    assert board[0]["cv_mean"] >= board[1]["cv_mean"] and doc["chosen_model"] == board[0]["model"]
    assert board[0]["test"] is not None and board[1]["test"] is None       # only the chosen model meets the test rows
    assert doc["selection_rule"].startswith("chosen by 3-fold cross-validation")
    text = cli(tmp_path, "leaderboard", "--dataset", "iris", "--models", "linear,knn", "--cv", "2", "--quiet")
    assert text.returncode == 0 and "Chosen:" in text.stdout and "measured once on 30 unseen rows" in text.stdout


def test_from_run_reproduces_the_metrics_exactly(csv_file, tmp_path):
    first = json.loads(cli(tmp_path, "train", "--csv", str(csv_file), "--target", "Survived", "--model",
                           "random_forest", "--param", "n_estimators=30", "--cv", "3", "--seed", "7",
                           "--json").stdout)
    again = cli(tmp_path, "train", "--from-run", first["run"], "--json")
    assert again.returncode == 0, again.stderr
    doc = json.loads(again.stdout)
    assert doc["reproduces"] == {"run": first["run"], "same_metrics": True, "differences": []}
    assert doc["metrics"]["test"] == first["metrics"]["test"] and doc["metrics"]["cv"] == first["metrics"]["cv"]
    assert doc["metrics"]["train"] == first["metrics"]["train"] and doc["cleaning"] == first["cleaning"]
    plain = cli(tmp_path, "train", "--from-run", first["run"], "--quiet")
    assert plain.returncode == 0 and f"Same metrics as run {first['run']}: yes, every one." in plain.stdout


@pytest.mark.parametrize(("args", "says"), [
    (("train", "--csv", "/nowhere/data.csv", "--target", "y"), "There is no file '/nowhere/data.csv'"),
    (("train", "--dataset", "nope"), "There is no built-in data set called 'nope'"),
    (("train", "--from-run", "doesnotexist"), "Run 'doesnotexist' was not found"),
    (("leaderboard", "--dataset", "iris", "--cv", "0"), "chooses by cross-validation"),
])
def test_errors_exit_2_with_one_clear_line(args, says, tmp_path):
    done = cli(tmp_path, *args)
    assert done.returncode == 2 and done.stdout == ""
    assert done.stderr.count("\n") == 1 and says in done.stderr and done.stderr.startswith("error: ")


def test_the_csv_needs_its_target(csv_file, tmp_path):
    done = cli(tmp_path, "train", "--csv", str(csv_file), "--target", "Nope")
    assert done.returncode == 2 and "The target column 'Nope' is not in the data" in done.stderr


def test_each_command_imports_only_its_own_module_and_help_lists_them_all(tmp_path):
    """Lazy dispatch (issue 14): COMMANDS names, for every command, the module that registers it; `--help` lists
    every command; `job` starts without importing the training, tuning or compression modules."""
    import argparse
    import importlib

    from core.__main__ import CLI_MODULES, COMMANDS
    for module in CLI_MODULES:
        sub = argparse.ArgumentParser().add_subparsers()
        importlib.import_module(module).register_cli(sub)
        assert sorted(sub.choices) == sorted(c for c, m in COMMANDS.items() if m == module), module
    helped = cli(tmp_path, "--help")
    assert helped.returncode == 0 and all(command in helped.stdout for command in COMMANDS)
    probe = ("import sys; from core.__main__ import build_parser; build_parser('job'); "
             "print(sorted(m for m in sys.modules if m.endswith('._cli')))")
    done = subprocess.run([sys.executable, "-c", probe], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert done.stdout.split() == ["['core.jobs._cli']"], done.stderr
