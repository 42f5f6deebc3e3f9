"""Recommender tuning (issue 15): grids extended once past an edge and said so, BPR tuned on validation, and a
hybrid whose content weight may be 0 (then it is ALS alone)."""
from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import pytest

from core import recsys
from core.recsys import BPR, SplitSpec, TrainData, build_system, split_events
from core.recsys import _tuning

ROOT = Path(__file__).resolve().parents[1]


def _make(n_users=150, n_items=400, n_ratings=6000, seed=3):
    spec = importlib.util.spec_from_file_location("make_interactions", ROOT / "data" / "make_interactions.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.make_interactions(n_users=n_users, n_items=n_items, n_ratings=n_ratings, seed=seed)


@pytest.fixture(scope="module")
def noise_system():
    """The items' genres and descriptions shuffled across items: content says nothing about taste."""
    ratings, items = _make()
    perm = np.random.default_rng(0).permutation(len(items))
    for column in ("genres", "description"):
        items[column] = items[column].to_numpy()[perm]
    data = recsys.streaming_interactions(ratings, items, key="test:noise", name="noise")
    return build_system(data, SplitSpec(seed=8))


def test_the_content_weight_may_be_zero_and_then_the_hybrid_is_als(noise_system):
    assert 0.0 in recsys.HYBRID_WEIGHTS
    tuning = noise_system.tuning
    curve = {w["weight"]: w["ndcg"] for w in tuning.weights}
    assert tuning.weight == 0.0 and curve[0.0] == max(curve.values())
    hybrid = noise_system.models["hybrid"]
    assert hybrid.weight == 0.0
    lists = noise_system.evaluation.lists
    assert np.array_equal(lists["hybrid"], lists["als"])             # no new-item place at weight 0 either
    assert noise_system.new_item_place["users"] == 0
    table = noise_system.table(10).set_index("model")
    assert table.loc["hybrid", "ndcg"] == table.loc["als", "ndcg"]
    assert "a weight of 0 " in recsys.tuning_sentence(tuning)


def test_a_hybrid_at_weight_zero_ranks_exactly_as_als(noise_system):
    system = noise_system
    als, content = system.models["als"], system.models["content"]
    users = system.evaluation.users[:40]
    rows, seen = system.train.liked[users], system.train.seen[users]
    for weight, same in ((0.0, True), (0.5, False)):
        hybrid = recsys.Hybrid(content, als, weight).fit(system.train, system.data)
        ours = hybrid.recommend(rows, users, seen, 10)
        assert np.array_equal(ours, als.recommend(rows, users, seen, 10)) is same


def test_a_grid_is_extended_once_past_the_edge_its_best_value_sits_on():
    assert _tuning.extend_once((1.0, 10.0, 100.0), 100.0, 10.0) == (1000.0,)
    assert _tuning.extend_once((1.0, 10.0, 100.0), 1.0, 10.0) == (0.1,)
    assert _tuning.extend_once((32, 64, 128), 128, 2.0) == (256,)
    assert _tuning.extend_once((1.0, 10.0, 100.0), 10.0, 10.0) == ()
    tried, notes = [], []
    scores, best = _tuning._search((1.0, 10.0, 100.0), lambda v: tried.append(v) or v, "thing", 10.0, notes)
    assert tried == [1.0, 10.0, 100.0, 1000.0] and best == 1000.0          # better past the edge: used, no 2nd step
    assert notes == ["The best thing of the first grid (1, 10, 100) was its largest, 100, so the grid was extended "
                     "once, to 1000: 1000 did better, so it is used."]
    notes.clear()
    _scores, best = _tuning._search((1.0, 10.0, 100.0), lambda v: -abs(np.log10(v) - 0.2), "thing", 10.0, notes)
    assert best == 1.0 and notes[0].endswith("was its smallest, 1, so the grid was extended once, to 0.1: 1 stayed "
                                             "best.")
    notes.clear()
    _tuning._search((1.0, 10.0, 100.0), lambda v: -abs(np.log10(v) - 1), "thing", 10.0, notes)
    assert notes == []


def test_bpr_read_at_an_iteration_is_the_same_as_a_fit_that_stops_there():
    ratings, items = _make()
    data = recsys.streaming_interactions(ratings, items, key="test:bpr", name="bpr")
    train_events, _test = split_events(data.events, SplitSpec(seed=7))
    train = TrainData.build(train_events, data)
    snapshot = {}
    longer = BPR(factors=16, iterations=40)

    def keep(iteration, *_):
        if iteration + 1 == 20:
            snapshot["factors"] = longer.model.item_factors.copy()

    longer.fit(train, data, callback=keep)
    shorter = BPR(factors=16, iterations=20).fit(train, data)
    assert np.array_equal(snapshot["factors"], shorter.model.item_factors)


def test_bpr_is_tuned_on_validation_and_the_page_says_how(noise_system):
    tuning = noise_system.tuning
    tried = {(r["learning_rate"], r["factors"], r["iterations"]): r["ndcg"] for r in tuning.bpr}
    assert {(lr, 64, it) for lr in _tuning.BPR_LEARNING_RATES for it in _tuning.BPR_ITERATIONS} <= set(tried)
    chosen = tuning.bpr_params
    assert tried[(chosen["learning_rate"], chosen["factors"], chosen["iterations"])] == max(tried.values())
    sentence = recsys.tuning_sentence(tuning)
    assert (f"BPR learns at rate {chosen['learning_rate']:g} with {chosen['factors']} factors for "
            f"{chosen['iterations']} iterations") in sentence
    for note in tuning.notes:
        assert note in sentence
