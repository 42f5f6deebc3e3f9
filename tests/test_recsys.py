"""The recommender (core/recsys.py): metrics against hand-computed examples and scikit-learn, splits, masking of
training items, determinism, cold start, reasons, uploads and saving into the run store. Small generated data."""
from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp

from core import recsys
from core.common import ModelDeckError
from core.recsys import (SplitSpec, build_system, coverage, hit_matrix, novelty, ranking_scores, rating_errors,
                         recommend_user, split_events, top_k)

ROOT = Path(__file__).resolve().parents[1]


def _generator():
    spec = importlib.util.spec_from_file_location("make_interactions", ROOT / "data" / "make_interactions.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def small():
    """150 users x 400 titles x 6,000 ratings from the same seeded generator as the built-in set."""
    ratings, items = _generator().make_interactions(n_users=150, n_items=400, n_ratings=6000, seed=3)
    return recsys.streaming_interactions(ratings, items, key="test:small", name="small")


@pytest.fixture(scope="module")
def system(small):
    return build_system(small, SplitSpec(seed=7))


# ---------------------------------------------------------------- metrics, by hand
def test_ranking_metrics_match_hand_computed_values():
    lists = np.array([[1, 2, 3, 4], [5, 6, 7, 8]])
    relevant = sp.csr_matrix(([1, 1, 1, 1], ([0, 0, 0, 1], [2, 4, 9, 5])), shape=(2, 10))
    hits = hit_matrix(lists, relevant)
    assert hits.tolist() == [[False, True, False, True], [True, False, False, False]]
    scores = ranking_scores(hits, np.array([3, 1]), k=4)
    # user 0: hits at ranks 2 and 4 of 3 relevant items
    dcg = 1 / np.log2(3) + 1 / np.log2(5)
    idcg = 1 + 1 / np.log2(3) + 1 / np.log2(4)
    assert scores["precision"] == pytest.approx([0.5, 0.25])
    assert scores["recall"] == pytest.approx([2 / 3, 1.0])
    assert scores["ndcg"] == pytest.approx([dcg / idcg, 1.0])
    assert scores["ndcg"][0] == pytest.approx(0.49818, abs=1e-5)
    assert scores["map"] == pytest.approx([(1 / 2 + 2 / 4) / 3, 1.0])
    assert scores["hit_rate"] == pytest.approx([1.0, 1.0])
    at2 = ranking_scores(hits, np.array([3, 1]), k=2)   # only the first two positions count
    assert at2["precision"] == pytest.approx([0.5, 0.5])
    assert at2["recall"] == pytest.approx([1 / 3, 1.0])
    assert at2["ndcg"][0] == pytest.approx((1 / np.log2(3)) / (1 + 1 / np.log2(3)))
    assert at2["map"] == pytest.approx([(1 / 2) / 2, 1.0])


def test_ndcg_matches_scikit_learn_on_random_rankings():
    from sklearn.metrics import ndcg_score
    rng = np.random.default_rng(0)
    truth = (rng.random((40, 60)) < 0.1).astype(float)
    truth[truth.sum(1) == 0, 0] = 1
    scores = rng.random((40, 60))
    lists = np.argsort(-scores, axis=1)[:, :10]
    ours = ranking_scores(hit_matrix(lists, sp.csr_matrix(truth)), truth.sum(1), k=10)["ndcg"]
    reference = [ndcg_score(truth[[i]], scores[[i]], k=10) for i in range(40)]
    assert ours == pytest.approx(reference)


def test_coverage_novelty_and_rating_errors_by_hand():
    lists = np.array([[0, 1], [1, 2], [2, -1]])
    assert coverage(lists, n_items=10, k=2) == pytest.approx(3 / 10)     # -1 (no item) is not an item
    popularity = np.array([9, 1, 0])
    # -log2((likers + 1) / (users + 1)) with 9 users: item 0 -> 0 bits, item 1 -> log2(5) bits
    assert novelty(np.array([[0, 1]]), popularity, n_users=9, k=2) == pytest.approx(np.log2(5) / 2)
    errors = rating_errors(np.array([1, 2, 3]), np.array([2, 2, 5]))
    assert errors["rmse"] == pytest.approx(np.sqrt(5 / 3))
    assert errors["mae"] == pytest.approx(1.0)


def test_top_k_masks_seen_items_and_pads_short_rows():
    scores = np.array([[0.9, 0.8, 0.1, 0.5], [0.1, 0.2, 0.3, 0.4]])
    seen = sp.csr_matrix(np.array([[1, 0, 1, 1], [0, 0, 0, 0]], dtype=float))
    assert top_k(scores, seen, 3).tolist() == [[1, -1, -1], [3, 2, 1]]


# ---------------------------------------------------------------- splits
def test_random_split_is_seeded_per_user_and_keeps_two_for_training(small):
    train, test = split_events(small.events, SplitSpec(test_share=0.25, seed=1))
    again, _ = split_events(small.events, SplitSpec(test_share=0.25, seed=1))
    other, _ = split_events(small.events, SplitSpec(test_share=0.25, seed=2))
    assert train.index.equals(again.index) and not train.index.equals(other.index)
    assert len(train) + len(test) == len(small.events)
    per_user = small.events.groupby("user").size()
    held = test.groupby("user").size().reindex(per_user.index, fill_value=0)
    assert (per_user - held >= 2).all()
    assert held.sum() / per_user.sum() == pytest.approx(0.25, abs=0.01)


def test_time_split_holds_out_each_users_latest(small):
    train, test = split_events(small.events, SplitSpec("time", last_n=3))
    assert (test.groupby("user").size() == 3).all()
    last_train = train.groupby("user")["timestamp"].max()
    first_test = test.groupby("user")["timestamp"].min()
    assert (first_test >= last_train.loc[first_test.index]).all()
    no_time = small.events.assign(timestamp=pd.NaT)
    with pytest.raises(ModelDeckError, match="needs timestamps"):
        split_events(no_time, SplitSpec("time"))


# ---------------------------------------------------------------- models and evaluation
def test_training_items_never_recommended_and_metrics_use_only_held_out(system):
    seen = system.train.seen
    for key, lists in system.evaluation.lists.items():
        rows = seen[system.evaluation.users]
        overlap = [np.intersect1d(lists[i][lists[i] >= 0], rows[i].indices).size for i in range(len(lists))]
        assert sum(overlap) == 0, key
    liked_test = system.test.loc[system.data.liked(system.test["rating"].to_numpy())]
    expected = liked_test.groupby("user").size()
    assert dict(zip(system.evaluation.users, system.evaluation.n_relevant)) == expected.to_dict()


def test_low_rated_training_items_are_masked_too(system):
    """implicit only filters what is in the matrix it is given: low-rated seen items need our own mask."""
    train = system.train.events
    low = train.loc[~system.data.liked(train["rating"].to_numpy())]
    user = int(low["user"].value_counts().index[0])
    lists = recommend_user(system, user, k=20)
    for frame in lists.values():
        assert not set(frame["code"]) & set(low.loc[low["user"] == user, "item"])


def test_same_seed_gives_same_lists_and_metrics(small, system):
    again = build_system(small, SplitSpec(seed=7))
    for key in system.evaluation.lists:
        assert np.array_equal(system.evaluation.lists[key], again.evaluation.lists[key]), key
    timeless = [table.drop(columns="fit_seconds") for table in (system.table(10), again.table(10))]
    pd.testing.assert_frame_equal(*timeless)


def test_every_model_beats_nothing_and_the_table_is_complete(system):
    table = system.table(10).set_index("model")
    assert list(table.index) == ["popular", "content", "item_knn", "als", "bpr", "svd", "hybrid"]
    shares = table[["precision", "recall", "ndcg", "map", "hit_rate", "coverage"]]
    assert ((shares >= 0) & (shares <= 1)).all().all()
    assert table.loc["als", "ndcg"] > table.loc["popular", "ndcg"]
    assert np.isfinite(table.loc[["popular", "svd"], ["rmse", "mae"]]).all().all()
    assert table.loc[["content", "als", "hybrid"], "rmse"].isna().all()        # ranking-only models
    assert system.tuning.regularization in {g["regularization"] for g in system.tuning.als}    # the grid tried
    assert set(recsys.ALS_REGULARIZATIONS) <= {g["regularization"] for g in system.tuning.als}
    assert system.tuning.weight in recsys.HYBRID_WEIGHTS
    bpr = system.models["bpr"]
    assert (bpr.learning_rate, bpr.factors, bpr.iterations) == tuple(system.tuning.bpr_params[key] for key in
                                                                     ("learning_rate", "factors", "iterations"))


def test_als_scores_a_new_user_without_refitting(system):
    als = system.models["als"]
    user = int(system.evaluation.users[0])
    row = system.train.liked[[user]]
    folded = als.user_factors(row, None)[0]          # recalculate_user from the row alone
    stored = als.model.user_factors[user]
    assert np.corrcoef(folded, stored)[0, 1] > 0.95


# ---------------------------------------------------------------- cold start
def test_empty_profile_scores_zero_not_nan(system):
    empty = sp.csr_matrix((1, system.data.n_items), dtype=np.float32)
    content = system.models["content"].score(empty, None)
    assert np.all(content == 0)
    hybrid = system.models["hybrid"].score(empty, None)
    assert np.isfinite(hybrid).all()


def test_new_user_gets_popular_items_in_preferred_categories(system):
    lists = recommend_user(system, None, k=10, categories={"Horror"}, keys=["hybrid"])["hybrid"]
    assert all("Horror" in cats for cats in lists["genres"])
    horror = [i for i, cats in enumerate(system.data.items["categories"]) if "Horror" in cats]
    most_liked = sorted(horror, key=lambda i: (-system.train.popularity[i], i))[:10]
    assert list(lists["code"]) == most_liked
    assert lists["why"].str.startswith("Popular in Horror, a genre you picked").all()


def test_new_items_get_the_reserved_slot(small):
    """A title with features but no interactions reaches a top-10 through the reserved last slot."""
    events = small.events
    new_items = events["item"].value_counts().index[-20:]          # rarely rated titles become brand new
    data = recsys.Interactions(**{**small.__dict__, "events": events.loc[~events["item"].isin(new_items)]})
    system = build_system(data, SplitSpec(seed=7))
    hybrid = system.models["hybrid"]
    assert set(new_items) <= set(hybrid.new_items)
    users = system.evaluation.users
    lists = system.evaluation.lists["hybrid"][:, :10]
    slot = recsys.NEW_ITEM_RANK - 1
    in_slot = np.isin(lists[:, slot], hybrid.new_items)
    assert in_slot.mean() > 0.1
    assert not np.isin(np.delete(lists, slot, axis=1), hybrid.new_items).any()   # a blend alone never lifts them
    assert not np.isin(system.evaluation.lists["als"], hybrid.new_items).any()
    # the stated rule: a new item takes place 10 when it is the user's best content match of everything unseen
    assert hybrid.weight > 0
    content = system.models["content"].score(system.train.liked[users], users)
    unseen = np.where(system.train.seen[users].toarray() > 0, -np.inf, content)
    best = unseen.argmax(axis=1)
    assert np.array_equal(in_slot, np.isin(best, hybrid.new_items) & (unseen.max(axis=1) > 0))
    assert np.array_equal(lists[in_slot, slot], best[in_slot])
    report = system.new_item_place
    assert (report["users"], report["share"]) == (int(in_slot.sum()), pytest.approx(in_slot.mean()))
    plain = recsys.Hybrid(hybrid.content, hybrid.collaborative, hybrid.weight, new_item_slot=False).fit(
        system.train, data)
    without = recsys.evaluate({"hybrid": plain}, system.train, system.test, data)
    assert np.array_equal(without.lists["hybrid"][~in_slot, :10], lists[~in_slot])   # only the place differs
    assert report["ndcg_without"] == pytest.approx(without.metrics("hybrid", 10)["ndcg"])
    user = int(system.evaluation.users[np.argmax(in_slot)])
    shown = recommend_user(system, user, 10, keys=["hybrid"])["hybrid"]
    assert shown["code"].tolist() == lists[np.argmax(in_slot)].tolist()         # k=10 is the top 10 of the top 20
    assert shown["why"].iloc[slot].startswith("New title with no ratings yet")


# ---------------------------------------------------------------- reasons
def test_reasons_quote_the_numbers_they_claim(system):
    user = int(system.evaluation.users[1])
    lists = recommend_user(system, user, 10)
    knn = lists["item_knn"]
    assert knn["why"].str.startswith("Because you rated").all()
    first = knn.iloc[0]
    anchor_title = first["why"].split("“")[1].split("”")[0]
    anchor = int(np.flatnonzero(system.data.items["title"] == anchor_title)[0])
    fans, both = system.train.co_liked(anchor, int(first["code"]))
    likers = set(system.train.events.loc[system.train.events["item"] == anchor].query("rating >= 4")["user"])
    with_item = set(system.train.events.loc[system.train.events["item"] == first["code"]].query("rating >= 4")["user"])
    assert (fans, both) == (len(likers), len(likers & with_item))
    if fans >= 3 and both:
        assert f"{both / fans:.0%} of the {fans:,} people who liked it" in first["why"]
    content = lists["content"].iloc[0]
    liked = system.train.events.query("user == @user and rating >= 4")["item"]
    liked_genres = {g for i in liked for g in system.data.items["categories"].iat[i]}
    if content["why"].startswith("Shares"):
        named = content["why"].split(" with ")[0].split(" ", 2)[2].split(", ")
        assert set(named) <= liked_genres & set(content["genres"].split(", "))
    assert "liked later" in lists["hybrid"]


# ---------------------------------------------------------------- uploads
def _as_udata(small) -> bytes:
    """The small set written like MovieLens u.data: tab separated, no header, Unix seconds."""
    events = small.events
    lines = [f"{small.user_ids[u]}\t{small.items['item_id'].iat[i]}\t{r:g}\t{int(t.timestamp())}"
             for u, i, r, t in zip(events["user"], events["item"], events["rating"], events["timestamp"])]
    return ("\n".join(lines) + "\n").encode()


def _as_uitem(small, extra_ids=()) -> bytes:
    """Item features like MovieLens u.item: pipe separated, latin-1, no header, one yes/no column per genre."""
    genres = small.categories
    rows = []
    for item_id, title, cats in zip(small.items["item_id"], small.items["title"], small.items["categories"]):
        flags = "|".join("1" if g in cats else "0" for g in genres)
        rows.append(f"{item_id}|{title} é|01-Jan-1995||http://example|{flags}")
    rows += [f"{i}|Brand new {i}|01-Jan-2025||http://example|" + "|".join(["1"] + ["0"] * (len(genres) - 1))
             for i in extra_ids]
    return ("\n".join(rows) + "\n").encode("latin-1")


def test_movielens_style_files_are_read(small):
    data = recsys.interactions_from_upload(_as_udata(small), "u.data", _as_uitem(small, ["9001"]), "u.item")
    assert data.explicit and data.scale == (1.0, 5.0) and data.like_threshold == 4.0
    assert (data.n_users, len(data.events)) == (small.n_users, len(small.events))
    assert data.has_time and data.events["timestamp"].min().year == 2024
    assert data.items.loc[data.items["item_id"] == "9001", "title"].iat[0] == "Brand new 9001"
    unknown = small.summary()["items_without_interactions"] + 1                   # + '9001': a new item
    assert any(n.startswith(f"{unknown} item ids in 'u.item'") and "new items" in n for n in data.notes)
    assert any("MovieLens order" in n for n in data.notes)
    first = data.items.iloc[0]
    assert len(first["categories"]) >= 1 and "é" in first["title"]
    key = recsys.save_upload(data)
    again = recsys.load_interactions(key)
    assert again.fingerprint == data.fingerprint
    assert again.items["categories"].tolist() == data.items["categories"].tolist()


@pytest.mark.parametrize("text, message", [
    ("who,what,stars\n1,2,3\n", "no user and no item column"),
    ("user_id,thing,rating\n1,2,3\n", "no item column"),
    ("user_id,item_id,rating\n" + "".join(f"7,{i},4\n" for i in range(20)), "single user"),
    ("user_id,item_id,rating\n1,2,good\n3,4,5\n", "not numbers"),
])
def test_bad_interaction_files_say_what_to_fix(text, message):
    with pytest.raises(ModelDeckError, match=message):
        recsys.interactions_from_upload(text.encode(), "events.csv")


def test_duplicate_events_are_merged_with_a_message():
    rows = "".join(f"{u},{i},3,2024-01-0{1 + (u + i) % 9}\n" for u in range(1, 6) for i in range(1, 6))
    explicit = "user_id,item_id,rating,timestamp\n" + rows + "1,1,5,2024-02-01\n1,1,2,2023-12-31\n"
    data = recsys.interactions_from_upload(explicit.encode(), "ratings.csv")
    assert len(data.events) == 25
    note = next(n for n in data.notes if "duplicate" in n)
    assert "2 duplicate events" in note and "latest rating" in note
    assert (data.scale, data.like_threshold) == ((1.0, 5.0), 4.0)
    item_ids = data.items["item_id"].to_numpy()
    pair = data.events.loc[(data.user_ids[data.events["user"]] == "1") & (item_ids[data.events["item"]] == "1")]
    assert pair["rating"].tolist() == [5.0]                                         # the latest, 2024-02-01
    implicit = "user,item,plays\n" + "".join(f"{u},{i},2\n" for u in range(1, 6) for i in range(1, 6)) + "1,1,3\n"
    data = recsys.interactions_from_upload(implicit.encode(), "plays.csv")
    assert not data.explicit
    assert any("weights were added up" in n for n in data.notes)
    item_ids = data.items["item_id"].to_numpy()
    pair = data.events.loc[(data.user_ids[data.events["user"]] == "1") & (item_ids[data.events["item"]] == "1")]
    assert pair["rating"].tolist() == [5.0]                                         # 2 + 3 plays


def test_features_file_with_unrelated_ids_is_refused():
    events = "user,item\n" + "".join(f"{u},{i}\n" for u in range(1, 6) for i in range(1, 6))
    features = "item_id,genres\n" + "".join(f"x{i},Drama\n" for i in range(1, 6))
    with pytest.raises(ModelDeckError, match="None of the 5 item ids"):
        recsys.interactions_from_upload(events.encode(), "e.csv", features.encode(), "f.csv")
    no_id = "name,genres\nA,Drama\n"
    with pytest.raises(ModelDeckError, match="no item id column"):
        recsys.interactions_from_upload(events.encode(), "e.csv", no_id.encode(), "f.csv")


def test_implicit_data_without_features_skips_content_models():
    events = "user,item\n" + "".join(f"u{u},i{(u * 7 + j) % 40}\n" for u in range(30) for j in range(8))
    data = recsys.interactions_from_upload(events.encode(), "clicks.csv")
    assert not data.explicit and not data.has_features
    assert recsys.model_keys(data) == ["popular", "item_knn", "als", "bpr"]
    system = build_system(data, SplitSpec(seed=1))
    assert "rmse" not in system.table(10) or system.table(10)["rmse"].isna().all()


# ---------------------------------------------------------------- saving into the run store
def test_recommendations_saved_as_a_run_and_reloaded(system, fresh_home):
    from core.runs import RunStore
    store = RunStore()
    user = int(system.evaluation.users[0])
    run = recsys.save_recommendations(store, system, user, k=5)
    assert (run.status, run.kind, run.task) == ("done", "recommender", "recommendation")
    assert run.metrics["primary"] == "ndcg@5"
    assert run.metrics["test"]["ndcg@5"] == pytest.approx(system.table(5).set_index("model").loc["hybrid", "ndcg"])
    folder = store.folder(run.id)
    with np.load(folder / "factors.npz", allow_pickle=False) as arrays:
        assert arrays["item_factors"].shape[0] == system.data.n_items
    saved = recsys.load_saved(store, run.id)
    fresh = recommend_user(system, user, 5)
    assert [r["title"] for r in saved["lists"]["hybrid"]] == fresh["hybrid"]["title"].tolist()
    assert json.loads((folder / "recommendations.json").read_text())["user"] == str(system.data.user_ids[user])
    assert [r.id for r in store.list(kind="recommender")] == [run.id]


def test_a_built_recommender_is_saved_without_pickles_and_opened_again_unchanged(small, system, tmp_path):
    """Issue 14: what the background build stores is read back (no training) into the same tables, lists, reasons
    and history; a changed data set is refused."""
    recsys.save_system(system, tmp_path)
    with np.load(tmp_path / "system.npz", allow_pickle=False) as arrays:
        assert not any(arrays[name].dtype == object for name in arrays.files)
    again = recsys.load_system(tmp_path, small)
    pd.testing.assert_frame_equal(again.table(10), system.table(10))
    pd.testing.assert_frame_equal(again.test, system.test)
    assert again.tuning == system.tuning and again.new_item_place == system.new_item_place
    assert list(again.models) == list(system.models) and "svd" in again.models and "hybrid" in again.models
    user = int(system.evaluation.users[0])
    liked = [int(i) for i in np.argsort(-system.train.popularity)[:3]]
    for saved, fresh in ((recommend_user(again, user, 10), recommend_user(system, user, 10)),
                         (recommend_user(again, None, 10, liked, {"Horror"}),
                          recommend_user(system, None, 10, liked, {"Horror"}))):
        assert list(saved) == list(fresh)
        for key in fresh:
            pd.testing.assert_frame_equal(saved[key], fresh[key])
    pd.testing.assert_frame_equal(recsys.user_history(again, user), recsys.user_history(system, user))
    meta = json.loads((tmp_path / "system.json").read_text())
    (tmp_path / "system.json").write_text(json.dumps(meta | {"fingerprint": "0" * 16}))
    with pytest.raises(ModelDeckError, match="changed since"):
        recsys.load_system(tmp_path, small)


def test_tiny_data_pads_lists_and_falls_back_to_default_tuning():
    """Four items (fewer than a list of 5) and too little data for a validation split: no crash, stated defaults."""
    text = "user,item,rating\n1,a,5\n1,b,4\n1,c,5\n2,a,4\n2,b,5\n2,c,3\n3,a,5\n3,c,4\n3,d,5\n4,d,5\n"
    system = build_system(recsys.interactions_from_upload(text.encode(), "tiny.csv"), SplitSpec())
    assert all(lists.shape[1] == recsys.K_MAX for lists in system.evaluation.lists.values())
    assert all((lists[:, 4:] == -1).all() for lists in system.evaluation.lists.values())
    assert np.isfinite(system.table(5)[["precision", "ndcg", "map"]].to_numpy()).all()
    assert system.tuning.als == [] and "too small" in recsys.tuning_sentence(system.tuning)


def test_captions_are_generated_from_the_numbers(system):
    table = system.table(10)
    rows = table.set_index("model")
    best = rows["ndcg"].idxmax()
    text = recsys.headline(table, 10, len(system.evaluation.users), "title")
    assert text.startswith(f"{recsys.MODEL_TITLES[best]} ranks best") and f"{rows.loc[best, 'ndcg']:.3f}" in text
    assert f"{rows.loc[best, 'ndcg'] / rows.loc['popular', 'ndcg']:.1f}×" in text
    assert f"RMSE {rows['rmse'].min():.3f}" in recsys.ranking_vs_rating(table, 10)
    assert f"{rows.loc['svd', 'rmse']:.3f} stars" in recsys.rating_sentence(table)
    assert f"regularization {system.tuning.regularization:g}" in recsys.tuning_sentence(system.tuning)
    assert f"{system.new_item_place['share']:.0%} of test users" in recsys.new_item_sentence(system.new_item_place,
                                                                                             "title")


@pytest.mark.filterwarnings("ignore::Warning")          # implicit's note that it converted its own matrix to CSR
def test_fast_paths_agree_with_the_libraries_own_apis(system):
    """Our vectorised SVD predictions, ALS top-k and item-kNN scores equal scikit-surprise's and implicit's own calls."""
    test = system.test.head(200)
    svd = system.models["svd"].ratings
    ours = svd.predict(test["user"].to_numpy(), test["item"].to_numpy())
    theirs = [svd.algo.predict(int(u), int(i)).est for u, i in zip(test["user"], test["item"])]
    assert ours == pytest.approx(theirs, abs=1e-9)
    users = system.evaluation.users[:20]
    train = system.train
    als = system.models["als"]
    ids, _ = als.model.recommend(users, train.seen[users].tocsr(), N=10, filter_already_liked_items=True)
    assert np.array_equal(als.recommend(train.liked[users], users, train.seen[users], 10), ids)
    from implicit.nearest_neighbours import CosineRecommender
    knn = CosineRecommender(K=100)
    knn.fit(train.liked.astype(np.float64), show_progress=False)
    liked_rows = train.liked[users].astype(np.float64).tocsr()
    ids, _ = knn.recommend(users, liked_rows, N=40)        # implicit filters only the liked items it was given...
    low_rated = [np.setdiff1d(train.seen[[u]].indices, train.liked[[u]].indices) for u in users]
    assert any(np.isin(row, low).any() for row, low in zip(ids, low_rated))    # ...so seen low-rated ones come back
    expected = np.array([[i for i in row if i not in set(low)][:10] for row, low in zip(ids, low_rated)])
    ours = system.models["item_knn"].recommend(train.liked[users], users, train.seen[users], 10)
    assert np.mean(np.sort(ours, 1) == np.sort(expected, 1)) > 0.98     # equal up to ties in the 10th place


def test_an_upload_key_that_is_not_a_digest_is_refused():
    """The key names a folder: only the upload's own digest is accepted (no '..', no slashes)."""
    from core.common import ModelDeckError
    from core.recsys import load_interactions
    for key in ("recsys-upload:../../etc", "recsys-upload:abc/def", "recsys-upload:"):
        with pytest.raises(ModelDeckError, match="not the key of an uploaded interaction set"):
            load_interactions(key)
