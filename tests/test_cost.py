"""What serving costs (issue 16): the arithmetic checked by hand, the measurement of every servable variant, and the
section on the Compress page."""
from __future__ import annotations

import json

import pytest

from core.common import ModelDeckError
from core.compress import (CompressOptions, compress_run, cost_headline, cost_table, load_throughput,
                           measure_throughput, save_throughput, serving_cost)

pytestmark = pytest.mark.filterwarnings("ignore::PendingDeprecationWarning")


def test_cost_arithmetic_by_hand():
    c = serving_cost("int8 dynamic", rows_per_s=500, per_day=1_000_000, price_per_hour=0.05, batch=1)
    # 1,000,000 rows / 500 rows/s = 2,000 s = 0.5556 core-hours a day: one core, busy 2.3% of the day
    assert c.core_hours_per_day == pytest.approx(2000 / 3600)
    assert c.cores == 1 and c.busy == pytest.approx(2000 / 86400)
    # $0.05 per hour buys 500 × 3,600 = 1.8 million rows: $0.02778 per million; one core all month: 730 h × $0.05
    assert c.per_million == pytest.approx(0.05 / 1.8)
    assert c.per_month == pytest.approx(36.5)
    assert c.sentence() == ("The int8 dynamic model serves 1 million predictions a day on one core for about $36.50 a "
                            "month ($0.05 per core-hour, 2.3% busy at batch 1); compute alone is $0.0278 per million "
                            "predictions.")


def test_a_volume_one_core_cannot_carry_needs_more_cores():
    c = serving_cost("fp32", rows_per_s=5, per_day=1_000_000, price_per_hour=0.10)
    # 200,000 s of work a day = 55.6 core-hours: 3 cores always on, 77% busy
    assert c.cores == 3 and c.busy == pytest.approx(200_000 / (3 * 86400))
    assert c.per_month == pytest.approx(3 * 730 * 0.10) and c.per_million == pytest.approx(0.10 / (5 * 3600) * 1e6)
    assert "on 3 cores" in c.sentence()


def test_when_every_variant_costs_the_same_the_sentence_says_why():
    from core.compress import Throughput
    measured = [Throughput("fp32", 1, 90_000.0, 400.0, 10), Throughput("int8", 1, 180_000.0, 401.0, 10)]
    text = cost_headline(measured)
    assert text.startswith("All 2 variants cost about the same: the cleaning step takes nearly all of each request")
    assert "The fastest serves 1 million predictions a day on one core for about $36.50 a month" in text
    apart = [Throughput("fp32", 1, 500.0, 400.0, 10), Throughput("int8", 1, 1500.0, 1000.0, 10)]
    assert cost_headline(apart) == serving_cost("int8", 1000.0).sentence()


def test_no_throughput_or_negative_inputs_are_refused():
    with pytest.raises(ModelDeckError, match="measure the serving speed first"):
        serving_cost("fp32", rows_per_s=0)
    with pytest.raises(ModelDeckError, match="cannot be negative"):
        serving_cost("fp32", rows_per_s=10, per_day=-1)


@pytest.fixture(scope="module")
def compressed(module_home):
    """A small MLP run on breast cancer, compressed with quick settings, in a private store."""
    from core.data import load_dataset
    from core.models import ModelSpec
    from core.runs import RunStore, save_trained
    from core.train import train_model
    dataset = load_dataset("builtin:breast_cancer")
    run = save_trained(RunStore(), train_model(dataset, ModelSpec.create("mlp", epochs=5, hidden=[16]),
                                               cv_folds=0), dataset.name)
    compress_run(run.id, CompressOptions(sparsities=(0.5,), finetune_epochs=2, distill_epochs=5, half=False,
                                         shap_check=False, rounds=1, repeats=3))
    yield run


def test_every_servable_variant_is_measured_at_batch_1_and_64(compressed):
    from core.compress import compress_folder
    from core.data import PrepOptions, load_dataset, split_dataset
    from core.runs import RunStore
    store = RunStore()
    run = compressed
    servable = json.loads((compress_folder(run.id, store) / "serving.json").read_text())["variants"]
    split = split_dataset(load_dataset(run.dataset_key), PrepOptions.from_dict(run.prep))
    measured = measure_throughput(run.id, store.load_model(run.id), split.X_test.iloc[:50], store, seconds=0.02)
    assert {(t.variant, t.batch) for t in measured} == {(v, b) for v in servable for b in (1, 64)}
    assert all(0 < t.rows_per_s <= t.model_rows_per_s for t in measured)
    save_throughput(run.id, measured, store)
    assert load_throughput(run.id, store) == measured
    table = cost_table(measured, 2_000_000, 0.2, batch=64)
    assert list(table["variant"]) == list(servable)
    first = next(t for t in measured if t.batch == 64)
    assert table["$ per million"].iloc[0] == pytest.approx(0.2 / (first.rows_per_s * 3600) * 1e6)


def test_compress_page_measures_and_prices_the_variants(compressed):
    import os

    from core.compress import load_throughput
    from core.runs import RunStore
    from tests.test_pages import assert_clean, open_page
    at = open_page("pages/compress.py", run=compressed.id)
    assert_clean(at)
    assert any(s.value == "What serving costs" for s in at.subheader)
    next(b for b in at.button if b.key == "cost_measure").click().run()
    assert_clean(at)
    measured = load_throughput(compressed.id, RunStore())
    assert measured and os.environ["MODELDECK_HOME"]
    next(n for n in at.number_input if n.key == "cost_per_day").set_value(3_000_000).run()
    sentence = next(m.value for m in at.markdown if "predictions a day on" in m.value)
    best = min((t for t in measured if t.batch == 1), key=lambda t: 1 / t.rows_per_s)
    expected = serving_cost(best.variant, best.rows_per_s, 3_000_000, 0.05, 1)
    assert sentence == f"**{cost_headline(measured, 3_000_000, 0.05, 1)}**"
    assert f"for about ${expected.per_month:,.2f} a month" in sentence
    table = next(d.value for d in at.dataframe if "$ per month" in d.value.columns)
    assert len(table) == len({t.variant for t in measured})
