"""Sentences generated from the numbers: the headline of the metric table, ranking against rating metrics, SVD
against the baseline, what tuning chose, what the new-item place gives and costs, and the plural of the data's nouns."""
from __future__ import annotations

import pandas as pd

from core.recsys._tuning import Tuning


def plural(noun: str) -> str:
    """genre -> genres, category -> categories, person -> people."""
    if noun == "person":
        return "people"
    return noun[:-1] + "ies" if noun.endswith("y") else noun + "s"


def _plural(n: int, noun: str) -> str:
    return f"{n:,} {noun if n == 1 else plural(noun)}"


def new_item_sentence(report: dict, item_noun: str) -> str:
    if not report or not report["new_items"]:
        return (f"Every {item_noun} has interactions in training, so the place kept for new {plural(item_noun)} "
                "is unused.")
    cost = report["ndcg_without"] - report["ndcg_with"]
    effect = (f"it costs {cost:.3f} NDCG@{report['k']} ({report['ndcg_without']:.3f} without it), the price of letting "
              f"new {plural(item_noun)} earn their first ratings" if cost > 0 else
              f"it does not lower NDCG@{report['k']} here ({report['ndcg_with']:.3f} with it, "
              f"{report['ndcg_without']:.3f} without)")
    return (f"Place {report['k']} of the hybrid's lists is kept for one of the {report['new_items']:,} new "
            f"{plural(item_noun)} (features, no interactions in training) when it is the best match for the user's "
            f"taste of all the {plural(item_noun)} they have not seen: {report['share']:.0%} of test users get one, and "
            f"{report['liked_later']:,} of them liked it later. On this split {effect}.")


def headline(table: pd.DataFrame, k: int, n_users: int, item_noun: str = "item") -> str:
    best = table.sort_values("ndcg", ascending=False).iloc[0]
    base = table.loc[table["model"] == "popular"].iloc[0]
    ratio = best["ndcg"] / base["ndcg"] if base["ndcg"] > 0 else float("inf")
    return (f"{best['title']} ranks best: for {best['hit_rate']:.0%} of the {n_users:,} test users at least one of its "
            f"top {k} is something they later liked (most popular {plural(item_noun)}: {base['hit_rate']:.0%}). "
            f"Its NDCG@{k} is {best['ndcg']:.3f}, {ratio:.1f}× the popularity baseline.")


def ranking_vs_rating(table: pd.DataFrame, k: int) -> str:
    """Which metric matters for what, with this data's numbers."""
    rated = table.dropna(subset=["rmse"]) if "rmse" in table else table.iloc[0:0]
    general = ("RMSE and MAE measure how close predicted stars are to real ones: they matter when you show a "
               "predicted rating next to an item. Precision, recall, NDCG and MAP measure whether the items a user "
               f"will like are at the top of a list: they matter when you show a top-{k}.")
    if rated.empty:
        return general + " These data have no star ratings, so only the ranking metrics apply."
    best_rating = rated.sort_values("rmse").iloc[0]
    best_rank = table.sort_values("ndcg", ascending=False).iloc[0]
    if best_rating["model"] == best_rank["model"]:
        return general
    return general + (f" Here {best_rating['title']} predicts stars best (RMSE {best_rating['rmse']:.3f}) yet its "
                      f"NDCG@{k} is {best_rating['ndcg']:.3f}, against {best_rank['ndcg']:.3f} for "
                      f"{best_rank['title']}: good star predictions do not make a good top-{k}.")


def rating_sentence(table: pd.DataFrame) -> str:
    """SVD's star error against the baseline of user and item averages (the popularity row's rating predictor)."""
    rows = table.set_index("model")
    if "svd" not in rows.index or "rmse" not in rows or pd.isna(rows.loc["popular", "rmse"]):
        return ""
    svd, base = rows.loc["svd", "rmse"], rows.loc["popular", "rmse"]
    gain = 1 - svd / base
    verdict = ("the factors add almost nothing beyond each user's and item's average" if abs(gain) < 0.02 else
               f"the factors cut the error by {gain:.0%}" if gain > 0 else "the factors make it worse")
    return (f"SVD misses a held-out rating by {svd:.3f} stars (RMSE) against {base:.3f} for the baseline of user and "
            f"item averages: {verdict}. The popularity row's RMSE and MAE are that baseline's.")


def tuning_sentence(tuning: Tuning) -> str:
    if not tuning.als:
        return ("The training data are too small to carve out a validation split, so ALS uses regularization "
                f"{tuning.regularization:g} and the hybrid a content weight of {tuning.weight:g} (usual defaults).")
    grid = {(g["alpha"], g["regularization"]): g["ndcg"] for g in tuning.als}
    default = grid.get((tuning.alpha, 0.01))
    best = grid[(tuning.alpha, tuning.regularization)]
    text = (f"On a validation split of the training data ({tuning.n_users:,} users), ALS did best with "
            f"regularization {tuning.regularization:g} (NDCG@10 {best:.3f}")
    if default is not None and tuning.regularization != 0.01:
        text += f"; the library default 0.01 gives {default:.3f}, {1 - default / best:.0%} worse"
    text += ")."
    if tuning.weights:
        ends = {w["weight"]: w["ndcg"] for w in tuning.weights}
        text += (f" The hybrid gives content a weight of {tuning.weight:g} (NDCG@10 {ends[tuning.weight]:.3f}, against "
                 f"{ends[0.0]:.3f} at weight 0, ALS only, and {ends[1.0]:.3f} at weight 1, content only).")
    bpr = getattr(tuning, "bpr_params", None)
    if bpr:
        text += (f" BPR learns at rate {bpr['learning_rate']:g} with {bpr['factors']} factors for "
                 f"{bpr['iterations']} iterations (the best of {len(tuning.bpr)} settings tried on validation).")
    return " ".join([text, *getattr(tuning, "notes", [])])
