"""One user at a time: their history (training and held-out interactions) and `recommend_user`, each model's list
for a known user or a new visitor with a reason per item ("Because you rated X 5 of 5, and 62% of the people who
liked it liked this too"), drawn from the model that ranked it."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import scipy.sparse as sp

from core.recsys._base import _blas_single_thread, _standardize
from core.recsys._narrate import _plural, plural
from core.recsys._system import RecSystem


def user_history(system: RecSystem, user: int) -> pd.DataFrame:
    """Everything the user did: training interactions and the held-out ones (what the metrics check against)."""
    items, data = system.data.items, system.data
    parts = [frame.loc[frame["user"] == user].assign(part=name)
             for frame, name in ((system.train.events, "training"), (system.test, "held out"))]
    events = pd.concat(parts).sort_values(["timestamp", "rating"], ascending=False, na_position="last")
    return pd.DataFrame({
        "code": events["item"].to_numpy(),
        data.item_noun: items["title"].to_numpy()[events["item"]],
        plural(data.category_noun): [", ".join(items["categories"].iat[i]) for i in events["item"]],
        "rating": events["rating"].to_numpy(),
        "liked": data.liked(events["rating"].to_numpy()),
        "when": events["timestamp"].to_numpy(),
        "part": events["part"].to_numpy(),
    })


@dataclass
class _Context:
    """What the reasons need to know about one user (known or new)."""

    liked: np.ndarray                  # item codes the user liked (training only)
    weights: np.ndarray
    ratings: dict[int, float]          # item -> rating, for "you rated X 5 of 5"
    categories: set[str] | None        # picked by a new visitor
    row: sp.csr_matrix


def _context(system: RecSystem, user: int | None, liked_items: list[int], categories: set[str] | None) -> _Context:
    if user is not None:
        row = system.train.liked[[user]]
        events = system.train.events.loc[system.train.events["user"] == user]
        ratings = dict(zip(events["item"], events["rating"]))
    else:
        data = system.data
        weight = float(data.weights(np.array([data.scale[1] if data.explicit else 1.0]))[0])
        row = sp.csr_matrix((np.full(len(liked_items), weight, np.float32), (np.zeros(len(liked_items), int),
                            np.asarray(liked_items, int))), shape=(1, data.n_items))
        ratings = {}            # a visitor said "I liked it", not how many stars
    return _Context(liked=row.indices.copy(), weights=row.data.copy(), ratings=ratings, categories=categories, row=row)


def _closest_liked(vectors: np.ndarray, ctx: _Context, item: int) -> int | None:
    if not len(ctx.liked):
        return None
    liked = vectors[ctx.liked]
    norms = np.linalg.norm(liked, axis=1) * np.linalg.norm(vectors[item])
    cosine = np.divide(liked @ vectors[item], norms, out=np.zeros(len(liked)), where=norms > 0)
    return int(ctx.liked[np.argmax(cosine)]) if cosine.max() > 0 else None


def _anchor(system: RecSystem, key: str, ctx: _Context, item: int) -> int | None:
    """The liked item that best explains a collaborative recommendation."""
    model = system.models[key if key != "hybrid" else "als"]
    if not len(ctx.liked):
        return None
    if key == "item_knn":
        sims = np.asarray(model.similarity[ctx.liked][:, item].todense()).ravel() * ctx.weights
        return int(ctx.liked[np.argmax(sims)]) if sims.max() > 0 else None
    if key in ("als", "hybrid"):
        return model.anchor(ctx.row, item)
    if key == "bpr":
        return _closest_liked(model.model.item_factors[:, :-1], ctx, item)
    return None


def _because(system: RecSystem, ctx: _Context, anchor: int, item: int) -> str:
    data = system.data
    title = data.items["title"].iat[anchor]
    start = (f"Because you rated “{title}” {data.rating_text(ctx.ratings[anchor])}"
             if data.explicit and anchor in ctx.ratings else f"Because you liked “{title}”")
    fans, both = system.train.co_liked(anchor, item)
    if fans >= 3 and both:
        return start + f", and {both / fans:.0%} of the {fans:,} people who liked it liked this too"
    return start + "; the two sit close together in what people like"


def _content_reason(system: RecSystem, ctx: _Context, item: int) -> str:
    data, content = system.data, system.models["content"]
    categories = data.items["categories"]
    liked_categories = {c for j in ctx.liked for c in categories.iat[j]}
    shared = [c for c in categories.iat[item] if c in liked_categories]
    parts = []
    if shared:
        n = sum(1 for j in ctx.liked if set(categories.iat[j]) & set(shared))
        noun = plural(data.category_noun) if len(shared) > 1 else data.category_noun
        parts.append(f"Shares {noun} {', '.join(shared)} with {_plural(n, data.item_noun)} you liked")
    words = content.shared_words(content.profiles(ctx.row)[0], item)
    if words:
        quoted = " and ".join(f"'{w}'" for w in words)
        its = "its" if parts else "Its"
        parts.append(f"{its} title or description says {quoted}, like {plural(data.item_noun)} you liked")
    return "; ".join(parts) if parts else f"Close to the {plural(data.item_noun)} you liked"


def _popular_reason(system: RecSystem, ctx: _Context, item: int) -> str:
    data, fans = system.data, int(system.train.popularity[item])
    liked = f"liked by {_plural(fans, 'person')}"
    own = data.items["categories"].iat[item]
    if ctx.categories and set(own) & ctx.categories:
        category = next(c for c in own if c in ctx.categories)
        return f"Popular in {category}, a {data.category_noun} you picked: {liked}"
    counts = {c: sum(c in data.items["categories"].iat[j] for j in ctx.liked) for c in own}
    if counts and max(counts.values()) > 0:
        category = max(counts, key=counts.get)
        return (f"Popular in {category}, the {data.category_noun} of {_plural(counts[category], data.item_noun)} "
                f"you liked: {liked}")
    return f"One of the most liked {plural(data.item_noun)} you have not seen: {liked}"


def _svd_reason(system: RecSystem, user: int | None, item: int) -> str:
    data, events = system.data, system.train.events
    ratings = events.loc[events["item"] == item, "rating"]
    average = f"; {_plural(len(ratings), 'rating')} average {ratings.mean():.1f}" if len(ratings) else ""
    if user is None:
        return f"Rated well on average (SVD cannot place a new user without retraining){average}"
    predicted = system.models["svd"].predict_ratings(np.array([user]), np.array([item]))[0]
    return f"Predicted {predicted:.1f} of {data.scale[1]:g} for you{average}"


def _reason(system: RecSystem, key: str, ctx: _Context, user: int | None, item: int, hybrid_parts) -> str:
    if key == "popular" or not len(ctx.liked):
        return _popular_reason(system, ctx, item)
    if key == "content":
        return _content_reason(system, ctx, item)
    if key == "svd":
        return _svd_reason(system, user, item)
    if key == "hybrid":
        hybrid = system.models["hybrid"]
        if item in set(hybrid.new_items):
            text = _content_reason(system, ctx, item)
            noun = system.data.item_noun
            return (f"New {noun} with no ratings yet, in the place kept for new {plural(noun)}: "
                    f"{text[0].lower()}{text[1:]}")
        content, collaborative = hybrid_parts
        if hybrid.weight * content[item] > (1 - hybrid.weight) * collaborative[item]:
            return _content_reason(system, ctx, item)
    anchor = _anchor(system, key, ctx, item)
    return _because(system, ctx, anchor, item) if anchor is not None else _popular_reason(system, ctx, item)


def recommend_user(system: RecSystem, user: int | None = None, k: int = 10, liked_items: list[int] = (),
                   categories: set[str] | None = None, keys: list[str] | None = None) -> dict[str, pd.DataFrame]:
    """Top-k of each model for a known user (code) or a new visitor (liked_items and/or categories), with reasons."""
    ctx = _context(system, user, list(liked_items), categories)
    users = None if user is None else np.array([user])
    seen = system.train.seen[[user]] if user is not None else (ctx.row > 0).astype(np.float32)
    held_out = set() if user is None else set(
        system.test.loc[(system.test["user"] == user) & system.data.liked(system.test["rating"].to_numpy()), "item"])
    out = {}
    for key in keys or list(system.models):
        model = system.models[key]
        if key == "hybrid":
            with _blas_single_thread():
                content, collaborative = model.parts(ctx.row, users)
            parts = (_standardize(content)[0], _standardize(collaborative)[0])
            items = model.lists(model.blend(content, collaborative), content, ctx.row, seen, k, categories)[0]
        else:
            parts, items = None, model.recommend(ctx.row, users, seen, k)[0]
        items = items[items >= 0]
        out[key] = pd.DataFrame({
            "rank": np.arange(1, len(items) + 1),
            "code": items,
            system.data.item_noun: system.data.items["title"].to_numpy()[items],
            plural(system.data.category_noun): [", ".join(system.data.items["categories"].iat[i]) for i in items],
            "why": [_reason(system, key, ctx, user, int(i), parts) for i in items],
        })
        if user is not None:
            out[key]["liked later"] = [int(i) in held_out for i in items]
    return out
