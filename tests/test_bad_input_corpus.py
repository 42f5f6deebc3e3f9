"""The bad-input corpus (issue 12): malformed files, hostile content, wrong settings on the pages and edge data sets,
each driven through AppTest. Every case must end with a clear message a person can act on, no traceback, and the
saved runs exactly as they were. `CASES` is also what `python -m benchmarks reliability` counts."""
from __future__ import annotations

import numpy as np
import pytest

from tests.bad_inputs import CASES, check_case


@pytest.fixture(scope="module")
def saved_run(tmp_path_factory):
    """One finished run (gradient boosting on wine, belonging to no one) that no case may change."""
    import os
    home = tmp_path_factory.mktemp("corpus-home")
    old = os.environ.get("MODELDECK_HOME")
    os.environ["MODELDECK_HOME"] = str(home)
    from core.data import load_builtin
    from core.models import ModelSpec
    from core.runs import RunStore, save_trained
    from core.train import train_model
    ds = load_builtin("wine")
    run = save_trained(RunStore(), train_model(ds, ModelSpec.create("hist_gb"), cv_folds=3), ds.name)
    yield home, run
    if old is None:
        os.environ.pop("MODELDECK_HOME", None)
    else:
        os.environ["MODELDECK_HOME"] = old


def test_the_corpus_has_at_least_40_cases():
    assert len(CASES) >= 40
    assert {c.kind for c in CASES} == {"malformed file", "hostile content", "wrong setting", "edge data set"}


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_bad_input_gets_a_clear_message(case, saved_run, monkeypatch):
    home, run = saved_run
    monkeypatch.setenv("MODELDECK_HOME", str(home))
    assert check_case(case, run.id) is None
    from core.runs import RunStore
    assert np.isfinite(RunStore().get(run.id).metrics["test"]["accuracy"])
