"""The leaderboard across worker processes: the same scores as the serial path, and a time budget that keeps what
finished and says what it cut."""
from __future__ import annotations

import numpy as np
import pytest

from core.data import PrepOptions, load_builtin
from core.models import ModelSpec
from core.train import Board, Cut, choose_best, estimate_cpu_seconds, train_board, train_many, warm_workers
from core.train import _parallel

SPECS = [ModelSpec.create("linear"), ModelSpec.create("knn"), ModelSpec.create("random_forest", n_estimators=20),
         ModelSpec.create("hist_gb", max_iter=20), ModelSpec.create("mlp", epochs=5, hidden=(16,))]


@pytest.fixture(scope="module")
def wine():
    return load_builtin("wine")


@pytest.fixture(scope="module")
def serial(wine):
    return train_board(wine, SPECS, PrepOptions(), cv_folds=3, n_jobs=1)


@pytest.fixture(scope="module")
def parallel(wine):
    return train_board(wine, SPECS, PrepOptions(), cv_folds=3, n_jobs=2)


def test_the_parallel_path_gives_the_serial_scores(serial, parallel):
    assert serial.workers == 0 and parallel.workers == 2
    assert [m.spec for m in parallel.models] == SPECS             # in the order asked, not the order finished
    for s, p in zip(serial.models, parallel.models):
        assert p.report.cv == s.report.cv
        assert p.report.test == s.report.test
        np.testing.assert_array_equal(p.oof_pred.y_pred, s.oof_pred.y_pred)
        np.testing.assert_array_equal(p.oof_pred.proba, s.oof_pred.proba)
        np.testing.assert_array_equal(p.test_pred.proba, s.test_pred.proba)
    assert choose_best(parallel.models)[0].spec == choose_best(serial.models)[0].spec
    assert parallel.cut == [] and parallel.cut_sentence() == ""


def test_wall_and_cpu_time_are_said(serial, parallel):
    for board in (serial, parallel):
        assert board.wall_seconds > 0 and board.cpu_seconds > 0
    assert "one after the other" in serial.time_sentence()
    assert "2 worker processes, one thread each" in parallel.time_sentence()
    assert parallel.time_sentence().startswith("5 models trained in ")


def test_train_many_returns_the_models_of_either_path(wine):
    models = train_many(wine, SPECS[:2], PrepOptions(), cv_folds=3, n_jobs=2)
    assert [m.spec for m in models] == SPECS[:2]


def test_a_model_expected_to_overrun_the_budget_is_skipped(wine, monkeypatch):
    slow = ModelSpec.create("random_forest", n_estimators=30)
    monkeypatch.setattr(_parallel, "estimate_cpu_seconds",
                        lambda d, spec, folds: 1_000.0 if spec is slow else 0.1)
    board = train_board(wine, [SPECS[0], slow, SPECS[1]], PrepOptions(), cv_folds=3, n_jobs=2, budget_seconds=120)
    assert [m.spec for m in board.models] == [SPECS[0], SPECS[1]]
    assert [(c.family, c.how) for c in board.cut] == [("random_forest", "skipped")]
    assert board.cut[0].seconds == 1_000.0 and 0 < board.cut[0].left <= 120
    sentence = board.cut_sentence()
    assert "120 s budget" in sentence and "Random forest was skipped (expected about 1000 s" in sentence
    assert "shows the 2 models that finished" in sentence


def test_a_model_still_running_when_the_budget_ends_is_stopped_and_the_finished_are_kept(monkeypatch):
    digits = load_builtin("digits")
    warm_workers(wait=True)                                                       # imports done before the clock
    slow = ModelSpec.create("hist_gb", max_iter=2_000, learning_rate=1e-3)       # over a minute of CPU
    monkeypatch.setattr(_parallel, "estimate_cpu_seconds", lambda d, spec, folds: 0.1)   # looks quick: started
    budget = 12                                      # the two quick models need ~3 s of it
    board = train_board(digits, [slow, SPECS[0], SPECS[1]], PrepOptions(), cv_folds=2, n_jobs=2,
                        budget_seconds=budget)
    assert [m.spec for m in board.models] == [SPECS[0], SPECS[1]]
    assert [(c.family, c.how) for c in board.cut] == [("hist_gb", "stopped")]
    assert board.cut[0].seconds >= budget - 1
    assert board.wall_seconds < budget + _parallel.STOP_GRACE_S + 5
    assert "Gradient boosting was stopped after" in board.cut_sentence()
    # the pool still works after the alarm
    again = train_board(digits, [SPECS[1]], PrepOptions(), cv_folds=2, n_jobs=2, budget_seconds=60)
    assert len(again.models) == 1 and not again.cut


def test_an_alarm_that_library_code_turns_into_its_own_error_is_still_a_stop(wine, monkeypatch):
    """Seen in CI: the alarm landed inside numpy's buffer-format parser, which raised ValueError from it."""
    import time

    import core.train._train as train_module

    def swallowing_fit(*_args):
        try:
            time.sleep(5)
        except _parallel._OutOfTime as exc:
            raise ValueError("not a valid PEP 3118 buffer format string") from exc

    monkeypatch.setattr(train_module, "_train_model", swallowing_fit)
    how, trained, _cpu, _start = _parallel._train_in_worker(wine, SPECS[0], PrepOptions(), 3, time.time() + 0.2, 1)
    assert (how, trained) == ("stopped", None)
    monkeypatch.setattr(train_module, "_train_model", lambda *_a: (_ for _ in ()).throw(ValueError("bad data")))
    with pytest.raises(ValueError, match="bad data"):                    # without the alarm an error stays one
        _parallel._train_in_worker(wine, SPECS[0], PrepOptions(), 3, time.time() + 5, 1)


def test_a_small_board_well_within_its_budget_trains_here(wine):
    board = train_board(wine, SPECS[:2], PrepOptions(), cv_folds=3, budget_seconds=300)
    assert board.workers == 0 and len(board.models) == 2 and not board.cut


def test_one_worker_with_a_budget_that_may_bite_runs_in_a_worker(wine, monkeypatch):
    monkeypatch.setattr(_parallel, "estimate_cpu_seconds", lambda d, spec, folds: 5.0)
    board = train_board(wine, SPECS[:2], PrepOptions(), cv_folds=3, n_jobs=1, budget_seconds=300)
    assert board.workers == 1 and len(board.models) == 2 and not board.cut
    assert "on 1 worker process, one thread each" in board.time_sentence()


def test_when_nothing_finished_the_sentence_says_so():
    board = Board([], [Cut("Gradient boosting", "hist_gb", "skipped", 40.0, 0.0)], 1.0, 0.1, 2, 5.0)
    assert board.cut_sentence() == ("The 5 s budget for the whole leaderboard was not enough: Gradient boosting was "
                                    "not started (the budget was used up). No model finished; raise the budget to "
                                    "include the others.")


def test_a_budget_must_be_positive(wine):
    from core.common import ModelDeckError
    with pytest.raises(ModelDeckError, match="positive"):
        train_board(wine, SPECS[:1], budget_seconds=0)


def test_short_models_go_first_when_the_budget_looks_too_small():
    tasks = [_parallel._Task(i, SPECS[i], e) for i, e in enumerate((5.0, 1.0, 9.0))]
    assert [t.estimate for t in _parallel._order(tasks, 2, None)] == [9.0, 5.0, 1.0]
    assert [t.estimate for t in _parallel._order(tasks, 2, 10.0)] == [9.0, 5.0, 1.0]     # 9 | 5 + 1 fits
    assert [t.estimate for t in _parallel._order(tasks, 2, 8.0)] == [1.0, 5.0, 9.0]


def test_the_estimate_grows_with_the_work(wine):
    digits = load_builtin("digits")
    for family in ("linear", "knn", "svm", "random_forest", "hist_gb", "mlp"):
        spec = ModelSpec.create(family)
        assert 0 < estimate_cpu_seconds(wine, spec, 5) < estimate_cpu_seconds(digits, spec, 5)
        assert estimate_cpu_seconds(digits, spec, 2) < estimate_cpu_seconds(digits, spec, 10)


def test_the_train_page_says_what_the_budget_cut_and_the_time_it_took(fresh_home, monkeypatch):
    from streamlit.testing.v1 import AppTest
    from tests.test_pages import APP, assert_clean, button
    monkeypatch.setattr(_parallel, "estimate_cpu_seconds",
                        lambda d, spec, folds: 10_000.0 if spec.family == "svm" else 4.0)
    monkeypatch.setattr("ui.jobs.INLINE", True)       # the job runs in this process, where the estimate is patched
    at = AppTest.from_file(APP, default_timeout=120)
    at.switch_page("pages/train.py")
    at.run()
    next(m for m in at.multiselect if m.key == "board_models").set_value(["linear", "knn", "svm"]).run()
    next(n for n in at.number_input if n.key == "board_budget").set_value(60).run()
    button(at, "board_go").click().run()
    assert not at.exception, [e.value for e in at.exception]
    warning = " ".join(w.value for w in at.warning)
    assert "The 60 s budget for the whole leaderboard was not enough: Support vector machine was skipped" in warning
    assert "shows the 2 models that finished" in warning
    assert any("2 models trained in" in c.value and "of CPU time on 2 worker processes" in c.value
               for c in at.caption)
    assert any(c.value.startswith("Chosen:") for c in at.caption)        # the finished models are ranked
    table = at.dataframe[0].value
    assert len(table) == 2


def test_the_time_sentence_says_when_models_waited_for_workers():
    quick = Board([object()] * 3, [], 9.0, 15.5, 2, None, waited_seconds=0.2)
    assert quick.time_sentence() == ("3 models trained in 9.0 s (wall clock), 15.5 s of CPU time on 2 worker "
                                     "processes, one thread each.")
    cold = Board([object()] * 3, [], 14.0, 15.5, 2, None, waited_seconds=4.2)
    assert cold.time_sentence().endswith("A model waited up to 4.2 s for a free worker (workers that were not "
                                         "running start and load their libraries first; other leaderboards share "
                                         "them).")
