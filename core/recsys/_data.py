"""Interaction data: the `Interactions` container (events coded as integers, user ids, item catalogue, what counts
as liked), `build_interactions` that codes raw events and items, and the built-in synthetic streaming set."""
from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from core.common import ModelDeckError

DATA_DIR = Path(__file__).resolve().parents[2] / "data"
BUILTIN_KEY = "recsys:streaming"
UPLOAD_PREFIX = "recsys-upload:"


@dataclass
class Interactions:
    """Who interacted with what: events with integer codes, the id of each code, and the item catalogue."""

    key: str
    name: str
    events: pd.DataFrame                 # user, item (int codes), rating, timestamp (datetime64, NaT if unknown)
    user_ids: np.ndarray                 # user code -> id as written in the file
    items: pd.DataFrame                  # per item code: item_id, title, categories (list[str]), text
    explicit: bool                       # star ratings (True) or implicit weights such as counts (False)
    scale: tuple[float, float] | None = None
    like_threshold: float | None = None  # explicit: a rating at least this counts as "liked"
    description: str = ""
    synthetic: bool = False
    notes: list[str] = field(default_factory=list)
    item_noun: str = "item"
    category_noun: str = "category"

    @property
    def n_users(self) -> int:
        return len(self.user_ids)

    @property
    def n_items(self) -> int:
        return len(self.items)

    @property
    def density(self) -> float:
        return len(self.events) / max(self.n_users * self.n_items, 1)

    @property
    def has_time(self) -> bool:
        return bool(self.events["timestamp"].notna().any())

    @property
    def has_features(self) -> bool:
        return bool(self.items["categories"].map(len).sum() or self.items["text"].str.strip().ne("").any())

    @property
    def categories(self) -> list[str]:
        return sorted({c for cats in self.items["categories"] for c in cats})

    def liked(self, ratings: np.ndarray) -> np.ndarray:
        """True where a rating counts as liked (explicit: at least the threshold; implicit: any positive weight)."""
        ratings = np.asarray(ratings, dtype=float)
        return ratings >= self.like_threshold if self.explicit else ratings > 0

    def weights(self, ratings: np.ndarray) -> np.ndarray:
        """Confidence of a liked interaction: 1 at the threshold, +1 per star above; log(1 + count) if implicit."""
        ratings = np.asarray(ratings, dtype=float)
        return ratings - self.like_threshold + 1.0 if self.explicit else np.log1p(ratings)

    def rating_text(self, rating: float) -> str:
        return f"{rating:g} of {self.scale[1]:g}" if self.explicit and self.scale else f"{rating:g}"

    @property
    def fingerprint(self) -> str:
        digest = hashlib.sha256()
        digest.update(pd.util.hash_pandas_object(self.events[["user", "item", "rating"]], index=False).values)
        digest.update("\x1f".join(self.items["item_id"]).encode())
        digest.update("\x1f".join(self.user_ids).encode())
        return digest.hexdigest()[:16]

    def summary(self) -> dict[str, float]:
        per_user = self.events.groupby("user").size()
        counts = np.bincount(self.events["item"], minlength=self.n_items)
        top = np.sort(counts)[::-1][: max(self.n_items // 10, 1)].sum() / max(len(self.events), 1)
        return {"users": self.n_users, "items": self.n_items, "interactions": len(self.events),
                "density": self.density, "liked_share": float(self.liked(self.events["rating"]).mean()),
                "median_per_user": float(per_user.median()), "top10_share": float(top),
                "items_without_interactions": int((counts == 0).sum())}


def _natural_order(ids: pd.Index) -> np.ndarray:
    """Ids sorted as numbers when they all are numbers, else as text."""
    numeric = pd.to_numeric(pd.Series(ids), errors="coerce")
    if numeric.notna().all():
        return np.asarray(ids)[np.argsort(numeric.to_numpy(), kind="stable")]
    return np.sort(np.asarray(ids, dtype=object))


def build_interactions(events: pd.DataFrame, items: pd.DataFrame | None, *, key: str, name: str, explicit: bool,
                       scale: tuple[float, float] | None = None, like_threshold: float | None = None,
                       **meta) -> Interactions:
    """Code users and items as integers. ``events``: user, item (str), rating, timestamp; ``items``: item_id, title,
    categories (list), text. Items with features but no events stay in the catalogue (the cold-start items)."""
    _check_enough(events)
    if items is None:
        items = pd.DataFrame({"item_id": pd.unique(events["item"])})
    described = set(items["item_id"])
    item_ids = list(items["item_id"]) + [i for i in _natural_order(pd.Index(pd.unique(events["item"])))
                                         if i not in described]
    catalogue = pd.DataFrame({"item_id": item_ids}).merge(items, on="item_id", how="left")
    for column in ("title", "categories", "text"):
        if column not in catalogue:
            catalogue[column] = None
    catalogue["title"] = catalogue["title"].fillna(catalogue["item_id"]).astype(str)
    catalogue["categories"] = [c if isinstance(c, list) else [] for c in catalogue["categories"]]
    catalogue["text"] = catalogue["text"].fillna("").astype(str)
    user_ids = _natural_order(pd.Index(pd.unique(events["user"])))
    user_code = pd.Series(np.arange(len(user_ids)), index=user_ids)
    item_code = pd.Series(np.arange(len(item_ids)), index=item_ids)
    coded = pd.DataFrame({
        "user": user_code.loc[events["user"]].to_numpy(np.int32),
        "item": item_code.loc[events["item"]].to_numpy(np.int32),
        "rating": events["rating"].to_numpy(float),
        "timestamp": pd.to_datetime(events["timestamp"]) if "timestamp" in events else pd.NaT,
    })
    return Interactions(key=key, name=name, events=coded, user_ids=np.asarray(user_ids, dtype=str),
                        items=catalogue[["item_id", "title", "categories", "text"]], explicit=explicit,
                        scale=scale, like_threshold=like_threshold, **meta)


def _check_enough(events: pd.DataFrame) -> None:
    users, items = events["user"].nunique(), events["item"].nunique()
    if users < 2:
        only = f" ('{events['user'].iloc[0]}')" if len(events) else ""
        raise ModelDeckError(
            f"The interactions file has a single user{only}. A recommender learns from what other people liked: "
            "upload the interactions of many users (at least 2; a few hundred give useful results).")
    if items < 2:
        raise ModelDeckError("Every interaction is with the same item. Upload interactions with at least 2 items.")
    if len(events) < 10:
        raise ModelDeckError(f"Only {len(events)} interactions are left after cleaning; upload at least 10.")


def streaming_interactions(ratings: pd.DataFrame, items: pd.DataFrame, key: str = BUILTIN_KEY,
                           name: str = "Film streaming (synthetic)") -> Interactions:
    """Interactions from the generator's two tables (data/make_interactions.py: ratings and items)."""
    events = pd.DataFrame({"user": ratings["user_id"].astype(str), "item": ratings["item_id"].astype(str),
                           "rating": ratings["rating"].astype(float),
                           "timestamp": pd.to_datetime(ratings["timestamp"], format="%Y-%m-%d %H:%M:%S")})
    catalogue = pd.DataFrame({"item_id": items["item_id"].astype(str), "title": items["title"],
                              "categories": items["genres"].str.split("|"),
                              "text": items["title"].str.replace(r"\s*\(\d{4}\)$", "", regex=True)
                              + ". " + items["description"]})
    summary = (f"{ratings['user_id'].nunique():,} invented viewers rating {len(items):,} invented films 1-5 stars "
               f"({len(ratings):,} ratings, 2024-01 to 2025-06). Synthetic data with known tastes: genres and "
               "descriptions carry part of the signal, the ratings of others the rest (data/make_interactions.py).")
    return build_interactions(events, catalogue, key=key, name=name, explicit=True, scale=(1.0, 5.0),
                              like_threshold=4.0, description=summary, synthetic=True, item_noun="title",
                              category_noun="genre")


def load_builtin() -> Interactions:
    """The synthetic streaming catalogue generated by data/make_interactions.py."""
    return streaming_interactions(pd.read_csv(DATA_DIR / "streaming_ratings.csv"),
                                  pd.read_csv(DATA_DIR / "streaming_items.csv"))
