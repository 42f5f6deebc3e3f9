"""The recommender: interaction data, seeded splits, six models and a hybrid, honest ranking metrics, reasons.

Models: most popular (baseline), content-based (one-hot categories + TF-IDF text, cosine), item-item kNN and
ALS (``implicit``), BPR (``implicit``, one thread so the same seed gives the same lists), biased matrix
factorization on explicit ratings (``scikit-surprise`` SVD) and a hybrid of content and ALS whose weight (like
ALS's regularization) is chosen on a validation split carved out of the training interactions.

Metrics use only held-out interactions and never count an item the user already had in training (those are
masked before ranking, low-rated ones included). No Streamlit here.
"""
from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import time
import warnings
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np
import pandas as pd
import scipy.sparse as sp

from core.common import home
from core.common import ModelDeckError

DATA_DIR = Path(__file__).resolve().parents[2] / "data"
BUILTIN_KEY = "recsys:streaming"
UPLOAD_PREFIX = "recsys-upload:"
K_MAX = 20
NEW_ITEM_RANK = 10                 # the hybrid keeps this place of lists this long for a new item (cold start)
ALS_ALPHAS = (20.0,)                # confidence = alpha x weight; regularization is tuned against it
ALS_REGULARIZATIONS = (0.01, 1.0, 10.0, 30.0, 100.0)
HYBRID_WEIGHTS = tuple(np.round(np.linspace(0, 1, 11), 1))
WORDS = r"(?u)\b[^\W\d_]{2,}\b"       # TF-IDF tokens: words of 2+ letters (no years or numbers)
MODEL_TITLES = {
    "popular": "Most popular",
    "content": "Content-based",
    "item_knn": "Item-item kNN",
    "als": "ALS (implicit MF)",
    "bpr": "BPR (ranking MF)",
    "svd": "SVD (rating MF)",
    "hybrid": "Hybrid (content + ALS)",
}
Progress = Callable[[float, str], None]


def _no_progress(fraction: float, message: str) -> None:
    return None


# ============================================================================ data
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


# ---------------------------------------------------------------------------- uploads
_USER_NAMES = {"user", "userid", "customer", "customerid", "client", "clientid", "visitor", "visitorid", "member",
               "memberid", "viewer", "viewerid", "reviewer", "reviewerid", "uid", "account", "accountid", "buyer",
               "buyerid", "person", "personid"}
_ITEM_NAMES = {"item", "itemid", "movie", "movieid", "product", "productid", "iid", "sku", "article", "articleid",
               "track", "trackid", "book", "bookid", "isbn", "asin", "song", "songid", "video", "videoid", "titleid"}
_EXPLICIT_NAMES = {"rating", "ratings", "score", "stars", "star", "grade"}
_WEIGHT_NAMES = _EXPLICIT_NAMES | {"weight", "count", "plays", "playcount", "clicks", "quantity", "qty", "value",
                                   "preference", "views", "minutes", "watchtime"}
_TIME_NAMES = {"timestamp", "time", "date", "datetime", "ts", "eventtime", "eventdate", "createdat", "unixtime",
               "ratedat", "watchedat", "when"}
_CATEGORY_NAMES = {"genres", "genre", "category", "categories", "tags", "tag", "section", "department", "type",
                   "topics", "topic", "labels"}
_TITLE_NAMES = {"title", "name", "movietitle", "productname", "itemname", "label"}
_TEXT_NAMES = {"description", "overview", "summary", "text", "plot", "synopsis", "keywords", "about", "details"}
_ROLE_HINT = ("Name the columns e.g. user_id, item_id, rating, timestamp, or upload a file without a header row "
              "in that order (like MovieLens u.data).")


def _norm(name: object) -> str:
    return re.sub(r"[^a-z0-9]", "", str(name).lower())


def _find(frame: pd.DataFrame, names: set[str], taken: set[str] = frozenset()) -> str | None:
    return next((c for c in frame.columns if _norm(c) in names and c not in taken), None)


def _ids(series: pd.Series) -> pd.Series:
    """Ids as text: 12.0 -> '12', ' a7 ' -> 'a7'; missing stays missing."""
    numeric = pd.to_numeric(series, errors="coerce")
    integral = numeric.notna() & (numeric == numeric.round())
    text = series.astype("string").str.strip()
    return text.mask(integral, numeric.where(integral).astype("Int64").astype("string")).replace("", pd.NA)


def _interaction_roles(frame: pd.DataFrame, has_header: bool, filename: str) -> tuple[dict[str, str], list[str]]:
    columns = list(frame.columns)
    if not has_header:
        roles = dict(zip(("user", "item", "rating", "timestamp"), columns))
        return roles, [f"'{filename}' has no header row: its columns were read in MovieLens order as "
                       f"{', '.join(roles)}."]
    roles = {"user": _find(frame, _USER_NAMES), "item": _find(frame, _ITEM_NAMES)}
    missing = [role for role, column in roles.items() if column is None]
    if missing:
        raise ModelDeckError(
            f"'{filename}' has no {' and no '.join(missing)} column (found: {', '.join(map(str, columns[:10]))}). "
            + _ROLE_HINT)
    roles["rating"] = _find(frame, _WEIGHT_NAMES, set(roles.values()))
    roles["timestamp"] = _find(frame, _TIME_NAMES, set(roles.values()))
    return {k: v for k, v in roles.items() if v is not None}, []


def _ratings(frame: pd.DataFrame, column: str | None) -> tuple[pd.Series, list[str]]:
    if column is None:
        return pd.Series(1.0, index=frame.index), [
            "There is no rating or weight column: every row counts as one interaction (implicit feedback)."]
    values = pd.to_numeric(frame[column], errors="coerce")
    bad = frame[column].notna() & values.isna()
    if bad.any():
        examples = ", ".join(repr(str(v)) for v in frame.loc[bad, column].unique()[:3])
        raise ModelDeckError(
            f"The '{column}' column has {int(bad.sum()):,} values that are not numbers (e.g. {examples}). "
            "Use numbers: star ratings such as 1-5, or weights such as play counts.")
    return values, []


def _timestamps(frame: pd.DataFrame, column: str | None) -> tuple[pd.Series, list[str]]:
    if column is None:
        return pd.Series(pd.NaT, index=frame.index, dtype="datetime64[ns]"), []
    raw = frame[column]
    numeric = pd.to_numeric(raw, errors="coerce")
    if numeric.notna().mean() > 0.9:
        unit = "ms" if numeric.median() > 1e11 else "s"
        parsed = pd.to_datetime(numeric, unit=unit, errors="coerce")
    else:
        parsed = pd.to_datetime(raw.astype("string"), errors="coerce", format="mixed")
    if parsed.notna().mean() < 0.9:
        return pd.Series(pd.NaT, index=frame.index, dtype="datetime64[ns]"), [
            f"The '{column}' column could not be read as dates or Unix times (e.g. '{raw.iloc[0]}'); it is ignored, "
            "so only the random split is available."]
    return parsed, []


def _explicit_scale(values: pd.Series, rating_named: bool) -> tuple[float, float] | None:
    """A bounded scale with a few levels (1-5 stars, 0.5-5, 1-10) in a rating column -> explicit ratings."""
    if not rating_named or values.empty:
        return None
    lo, hi = float(values.min()), float(values.max())
    if values.nunique() < 3 or lo < 0 or hi > 10 or values.nunique() > 21:
        return None
    return (1.0 if lo >= 1 and hi in (5.0, 10.0) else lo), hi     # nobody gave 1 star: still a 1-5 scale


def _like_threshold(values: pd.Series, scale: tuple[float, float]) -> float:
    """The top quarter of the scale, on the ratings' own step: 1-5 -> 4, 0.5-5 -> 4.0, 1-10 -> 8."""
    step = 1.0 if (values == values.round()).all() else 0.5
    return float(np.ceil((scale[0] + 0.75 * (scale[1] - scale[0])) / step) * step)


def _dedupe(events: pd.DataFrame, explicit: bool) -> tuple[pd.DataFrame, list[str]]:
    """One row per (user, item): the latest rating, or the summed weight; say how many were merged."""
    repeated = events.duplicated(["user", "item"], keep=False)
    if not repeated.any():
        return events, []
    pairs = events.loc[repeated].groupby(["user", "item"]).size()
    (user, item), times = pairs.idxmax(), int(pairs.max())
    extra = int(repeated.sum() - len(pairs))
    where = f"e.g. user '{user}' and item '{item}' appear {times} times"
    if explicit:
        order = events.sort_values("timestamp", kind="stable") if events["timestamp"].notna().any() else events
        merged = order.drop_duplicates(["user", "item"], keep="last").sort_index()
        return merged, [f"{extra:,} duplicate events ({where}): the latest rating of each user for each item was kept."]
    merged = events.groupby(["user", "item"], as_index=False, sort=False).agg(
        rating=("rating", "sum"), timestamp=("timestamp", "max"))
    return merged, [f"{extra:,} duplicate events ({where}): their weights were added up (one row per user and item)."]


def read_interactions(data: bytes, filename: str = "interactions.csv") -> tuple[pd.DataFrame, dict, list[str]]:
    """Parse an uploaded interactions file -> (events with user, item, rating, timestamp; scale info; notes)."""
    from core.data import read_csv
    parsed = read_csv(data, filename)
    notes = [n for n in parsed.notes if not n.startswith("The first row holds values")]
    roles, role_notes = _interaction_roles(parsed.frame, parsed.has_header, filename)
    frame = parsed.frame
    ratings, rating_notes = _ratings(frame, roles.get("rating"))
    stamps, time_notes = _timestamps(frame, roles.get("timestamp"))
    events = pd.DataFrame({"user": _ids(frame[roles["user"]]), "item": _ids(frame[roles["item"]]),
                           "rating": ratings, "timestamp": stamps})
    notes += role_notes + rating_notes + time_notes
    incomplete = events[["user", "item", "rating"]].isna().any(axis=1)
    if incomplete.any():
        notes.append(f"{int(incomplete.sum()):,} rows without a user, an item or a rating were left out.")
        events = events.loc[~incomplete]
    rating_named = "rating" in roles and (not parsed.has_header or _norm(roles["rating"]) in _EXPLICIT_NAMES)
    scale = _explicit_scale(events["rating"], rating_named)
    if scale is None and (events["rating"] <= 0).any():
        notes.append(f"{int((events['rating'] <= 0).sum()):,} rows with a weight of 0 or less were left out "
                     "(implicit feedback counts only positive events).")
        events = events.loc[events["rating"] > 0]
    events, dup_notes = _dedupe(events.reset_index(drop=True), scale is not None)
    info = {"explicit": scale is not None, "scale": scale,
            "like_threshold": None if scale is None else _like_threshold(events["rating"], scale)}
    kind = (f"star ratings from {scale[0]:g} to {scale[1]:g} (liked = {info['like_threshold']:g} or more)"
            if scale else "implicit feedback (weights; every event counts as a positive signal)")
    return events, info, notes + dup_notes + [f"Read as {kind}."]


def _category_lists(frame: pd.DataFrame, item_col: str) -> tuple[list[list[str]], list[str]]:
    column = _find(frame, _CATEGORY_NAMES)
    if column is not None:
        text = frame[column].fillna("").astype(str)
        return [[c.strip() for c in re.split(r"[|;,]", v) if c.strip()] for v in text], []
    flags = [c for c in frame.columns if c != item_col and frame[c].dropna().isin([0, 1]).all()
             and frame[c].notna().any()]
    if len(flags) >= 2:
        matrix = frame[flags].fillna(0).to_numpy(bool)
        return [[str(flags[j]) for j in np.flatnonzero(row)] for row in matrix], [
            f"Categories were taken from {len(flags)} yes/no columns ({', '.join(map(str, flags[:4]))}, …)."]
    return [[] for _ in range(len(frame))], []


def _text_columns(frame: pd.DataFrame, item_col: str) -> tuple[str | None, list[str]]:
    title = _find(frame, _TITLE_NAMES)
    texts = [c for c in frame.columns if _norm(c) in _TEXT_NAMES]
    if title is None:
        candidates = [c for c in frame.columns if c != item_col and not pd.api.types.is_numeric_dtype(frame[c])
                      and frame[c].nunique() > 0.5 * len(frame) and c not in texts]
        title = candidates[0] if candidates else None
    return title, texts


def read_item_features(data: bytes, filename: str, item_ids: set[str]) -> tuple[pd.DataFrame, list[str]]:
    """Parse an item features file -> catalogue (item_id, title, categories, text) + notes; checks the ids."""
    from core.data import read_csv
    parsed = read_csv(data, filename)
    frame = parsed.frame
    item_col = _find(frame, _ITEM_NAMES) or _find(frame, {"id"}) or (None if parsed.has_header else frame.columns[0])
    if item_col is None:
        raise ModelDeckError(f"'{filename}' has no item id column (found: {', '.join(map(str, frame.columns[:10]))}). "
                             "Name it item_id (the same ids as in the interactions file).")
    notes = [n for n in parsed.notes if not n.startswith("The first row holds values")]
    categories, cat_notes = _category_lists(frame, item_col)
    title_col, text_cols = _text_columns(frame, item_col)
    ids = _ids(frame[item_col])
    title = frame[title_col].astype("string").fillna("") if title_col else ids
    text = title.astype(str)
    for column in text_cols:
        text = text + ". " + frame[column].fillna("").astype(str)
    items = pd.DataFrame({"item_id": ids, "title": title.astype(str), "categories": categories, "text": text})
    items = items.loc[items["item_id"].notna()]
    if items["item_id"].duplicated().any():
        notes.append(f"{int(items['item_id'].duplicated().sum()):,} item ids appear twice in '{filename}'; "
                     "the first row of each was kept.")
        items = items.drop_duplicates("item_id")
    return items.reset_index(drop=True), notes + cat_notes + _id_notes(set(items["item_id"]), item_ids, filename)


def _examples(ids: set[str], n: int = 3) -> str:
    return ", ".join(map(repr, sorted(ids)[:n]))


def _id_notes(feature_ids: set[str], interaction_ids: set[str], filename: str) -> list[str]:
    unknown, without = feature_ids - interaction_ids, interaction_ids - feature_ids
    if not feature_ids & interaction_ids:
        raise ModelDeckError(
            f"None of the {len(feature_ids):,} item ids in '{filename}' (e.g. {_examples(feature_ids)}) appear in "
            f"the interactions (e.g. {_examples(interaction_ids)}). "
            "Upload the features file that belongs to these interactions, with the same item ids.")
    notes = []
    if unknown:
        notes.append(f"{len(unknown):,} item ids in '{filename}' (e.g. {_examples(unknown)}) have no "
                     "interactions: they are treated as new items (cold start) that only the content model can place.")
    if without:
        notes.append(f"{len(without):,} items with interactions have no row in '{filename}' "
                     f"(e.g. {_examples(without)}); their content profile is empty.")
    return notes


def interactions_from_upload(ratings: bytes, ratings_name: str, items: bytes | None = None,
                             items_name: str | None = None) -> Interactions:
    """Build an Interactions object from uploaded bytes (features file optional)."""
    events, info, notes = read_interactions(ratings, ratings_name)
    catalogue = None
    if items is not None:
        catalogue, item_notes = read_item_features(items, items_name or "items.csv", set(events["item"]))
        notes += item_notes
    data = build_interactions(events, catalogue, key="", name=Path(ratings_name).stem, notes=notes, **info)
    data.key = UPLOAD_PREFIX + data.fingerprint
    data.description = (f"Uploaded: {data.n_users:,} users, {data.n_items:,} items, {len(data.events):,} "
                        f"interactions from '{ratings_name}'" + (f" and '{items_name}'." if items is not None else "."))
    return data


def _uploads_dir() -> Path:
    path = home() / "recsys_uploads"
    path.mkdir(parents=True, exist_ok=True)
    return path


def _write_atomic(path: Path, write: Callable[[Path], None]) -> None:
    tmp = path.with_name(path.name + ".tmp")
    write(tmp)
    os.replace(tmp, path)


def save_upload(data: Interactions) -> str:
    """Store an uploaded data set (plain CSV + JSON) under MODELDECK_HOME; returns its key."""
    folder = _uploads_dir() / data.key[len(UPLOAD_PREFIX):]
    folder.mkdir(parents=True, exist_ok=True)
    item_ids = data.items["item_id"].to_numpy()
    events = pd.DataFrame({"user": data.user_ids[data.events["user"]], "item": item_ids[data.events["item"]],
                           "rating": data.events["rating"], "timestamp": data.events["timestamp"]})
    items = data.items.assign(categories=data.items["categories"].map("|".join))
    _write_atomic(folder / "events.csv", lambda p: events.to_csv(p, index=False))
    _write_atomic(folder / "items.csv", lambda p: items.to_csv(p, index=False))
    meta = {"name": data.name, "description": data.description, "explicit": data.explicit, "scale": data.scale,
            "like_threshold": data.like_threshold, "notes": data.notes}
    _write_atomic(folder / "meta.json", lambda p: p.write_text(json.dumps(meta)))
    return data.key


def _load_upload(key: str) -> Interactions:
    folder = _uploads_dir() / key[len(UPLOAD_PREFIX):]
    if not (folder / "meta.json").exists():
        raise ModelDeckError(f"The uploaded interactions '{key}' are no longer stored here; upload the file again.")
    meta = json.loads((folder / "meta.json").read_text())
    events = pd.read_csv(folder / "events.csv", dtype={"user": str, "item": str}, parse_dates=["timestamp"])
    items = pd.read_csv(folder / "items.csv", dtype={"item_id": str, "title": str, "categories": str, "text": str},
                        keep_default_na=False)
    items["categories"] = [c.split("|") if c else [] for c in items["categories"]]
    scale = tuple(meta["scale"]) if meta["scale"] else None
    return build_interactions(events, items, key=key, name=meta["name"], explicit=meta["explicit"], scale=scale,
                              like_threshold=meta["like_threshold"], description=meta["description"],
                              notes=meta["notes"])


def load_interactions(key: str = BUILTIN_KEY) -> Interactions:
    if key == BUILTIN_KEY:
        return load_builtin()
    if key.startswith(UPLOAD_PREFIX):
        return _load_upload(key)
    raise ModelDeckError(f"Unknown interaction data set '{key}'. Pick the built-in one or upload a file.")


# ============================================================================ splits
@dataclass(frozen=True)
class SplitSpec:
    """Random holdout per user (test_share of each user's interactions) or time-based (each user's last_n)."""

    method: str = "random"
    test_share: float = 0.2
    last_n: int = 5
    seed: int = 42

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> "SplitSpec":
        return cls(**{k: d[k] for k in ("method", "test_share", "last_n", "seed") if k in d})

    def describe(self) -> str:
        if self.method == "time":
            return f"each user's last {self.last_n} interactions held out"
        return f"{self.test_share:.0%} of each user's interactions held out at random (seed {self.seed})"


def split_events(events: pd.DataFrame, spec: SplitSpec, min_train: int = 2) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(train, test). Every user keeps at least ``min_train`` interactions in training; users with fewer than
    min_train + 1 keep all of theirs. Same seed -> same split."""
    if spec.method not in ("random", "time"):
        raise ModelDeckError(f"Unknown split '{spec.method}'; use 'random' or 'time'.")
    if spec.method == "time" and events["timestamp"].isna().all():
        raise ModelDeckError("A time-based split needs timestamps, and these interactions have none. "
                             "Use the random split, or upload a file with a timestamp column.")
    rng = np.random.default_rng(spec.seed)
    frame = events.assign(_key=rng.random(len(events)))
    order = ["user", "timestamp", "_key"] if spec.method == "time" else ["user", "_key"]
    frame = frame.sort_values(order, kind="stable")
    from_end = frame.groupby("user").cumcount(ascending=False).to_numpy()
    size = frame.groupby("user")["user"].transform("size").to_numpy()
    wanted = (np.full(len(frame), spec.last_n) if spec.method == "time"
              else np.maximum(1, np.round(spec.test_share * size)))
    n_test = np.clip(np.minimum(wanted, size - min_train), 0, None)
    test = from_end < n_test
    frame = frame.drop(columns="_key")
    return frame.loc[~test].sort_index(), frame.loc[test].sort_index()


# ============================================================================ training matrices
@dataclass
class TrainData:
    """Sparse views of the training interactions (users x items)."""

    seen: sp.csr_matrix      # 1 for every training interaction (liked or not): masked from recommendations
    liked: sp.csr_matrix     # confidence weight of liked interactions only
    events: pd.DataFrame
    popularity: np.ndarray   # number of users who liked each item in training
    shape: tuple[int, int]

    @classmethod
    def build(cls, events: pd.DataFrame, data: Interactions) -> "TrainData":
        shape = (data.n_users, data.n_items)
        users, items = events["user"].to_numpy(), events["item"].to_numpy()
        seen = sp.csr_matrix((np.ones(len(events), np.float32), (users, items)), shape=shape)
        good = data.liked(events["rating"].to_numpy())
        liked = sp.csr_matrix((data.weights(events["rating"].to_numpy()[good]).astype(np.float32),
                               (users[good], items[good])), shape=shape)
        popularity = np.bincount(items[good], minlength=shape[1])
        return cls(seen=seen, liked=liked, events=events, popularity=popularity, shape=shape)

    @property
    def liked_csc(self) -> sp.csc_matrix:
        if not hasattr(self, "_liked_csc"):
            self._liked_csc = (self.liked > 0).astype(np.float32).tocsc()
        return self._liked_csc

    def co_liked(self, a: int, b: int) -> tuple[int, int]:
        """(people who liked a, of them how many also liked b) in training."""
        col = self.liked_csc
        users_a = col.indices[col.indptr[a]:col.indptr[a + 1]]
        users_b = col.indices[col.indptr[b]:col.indptr[b + 1]]
        return len(users_a), len(np.intersect1d(users_a, users_b, assume_unique=True))


def top_k(scores: np.ndarray, seen: sp.csr_matrix, k: int) -> np.ndarray:
    """Indices of the k best-scored items per row, best first, never an item in ``seen``; -1 pads short rows."""
    scores = np.array(scores, dtype=np.float32)
    rows, cols = seen.nonzero()
    scores[rows, cols] = -np.inf
    k_wanted, k = k, min(k, scores.shape[1])
    part = np.argpartition(-scores, k - 1, axis=1)[:, :k]
    part_scores = np.take_along_axis(scores, part, 1)
    order = np.lexsort((part, -part_scores), axis=1)   # best score first, ties by item index (deterministic)
    top = np.take_along_axis(part, order, 1)
    top[np.take_along_axis(scores, top, 1) == -np.inf] = -1
    return _pad(top, k_wanted)


def _pad(lists: np.ndarray, k: int) -> np.ndarray:
    """Lists always have k columns (-1 = no item), even for a catalogue smaller than k."""
    if lists.shape[1] >= k:
        return lists
    return np.hstack([lists, np.full((lists.shape[0], k - lists.shape[1]), -1, dtype=lists.dtype)])


# ============================================================================ models
class Recommender:
    """Scores every item for a batch of users given their liked rows (and their codes when the model knows them)."""

    key = ""

    def fit(self, train: TrainData, data: Interactions) -> "Recommender":
        raise NotImplementedError

    def score(self, rows: sp.csr_matrix, users: np.ndarray | None) -> np.ndarray:
        raise NotImplementedError

    def recommend(self, rows: sp.csr_matrix, users: np.ndarray | None, seen: sp.csr_matrix, k: int) -> np.ndarray:
        with _serial_for_few(rows):
            return top_k(self.score(rows, users), seen, k)

    def predict_ratings(self, users: np.ndarray, items: np.ndarray) -> np.ndarray | None:
        """Predicted ratings (explicit data only) or None for ranking-only models."""
        return None


class _SurpriseRatings:
    """A fitted scikit-surprise model (SVD or BaselineOnly) read back as arrays indexed by our codes."""

    def __init__(self, algo, train: TrainData, data: Interactions):
        from surprise import Dataset, Reader
        frame = pd.DataFrame({"u": train.events["user"], "i": train.events["item"], "r": train.events["rating"]})
        trainset = Dataset.load_from_df(frame, Reader(rating_scale=data.scale)).build_full_trainset()
        algo.fit(trainset)
        self.algo, self.mu, self.scale = algo, trainset.global_mean, data.scale
        self.uix = self._inner([trainset.to_raw_uid(u) for u in trainset.all_users()], data.n_users)
        self.iix = self._inner([trainset.to_raw_iid(i) for i in trainset.all_items()], data.n_items)

    @staticmethod
    def _inner(raw_ids: list[int], n: int) -> np.ndarray:
        """our code -> surprise's inner id (-1 when the user or item has no training rating)."""
        index = np.full(n, -1)
        index[np.asarray(raw_ids, dtype=int)] = np.arange(len(raw_ids))
        return index

    def _part(self, array: np.ndarray | None, index: np.ndarray) -> np.ndarray:
        known = index >= 0
        out = np.zeros((len(index),) + (array.shape[1:] if array is not None else ()))
        if array is not None:
            out[known] = array[index[known]]
        return out

    def scores(self, users: np.ndarray | None, n_rows: int) -> np.ndarray:
        algo = self.algo
        bi = self._part(getattr(algo, "bi", None), self.iix)
        if users is None:
            return np.tile(self.mu + bi, (n_rows, 1))
        bu = self._part(getattr(algo, "bu", None), self.uix[users])
        out = self.mu + bu[:, None] + bi[None, :]
        if hasattr(algo, "pu"):
            out += self._part(algo.pu, self.uix[users]) @ self._part(algo.qi, self.iix).T
        return out

    def predict(self, users: np.ndarray, items: np.ndarray) -> np.ndarray:
        algo = self.algo
        pred = self.mu + self._part(getattr(algo, "bu", None), self.uix[users]) + \
            self._part(getattr(algo, "bi", None), self.iix[items])
        if hasattr(algo, "pu"):
            pred += np.einsum("ij,ij->i", self._part(algo.pu, self.uix[users]), self._part(algo.qi, self.iix[items]))
        return np.clip(pred, *self.scale)


class Popularity(Recommender):
    """The baseline: the items most people liked in training. Its rating prediction (explicit data) is the
    user's and item's average offset from the mean (scikit-surprise BaselineOnly)."""

    key = "popular"

    def fit(self, train: TrainData, data: Interactions) -> "Popularity":
        self.counts = train.popularity.astype(np.float64)
        self.baseline = None
        if data.explicit:
            from surprise import BaselineOnly
            self.baseline = _SurpriseRatings(BaselineOnly(verbose=False), train, data)
        return self

    def score(self, rows, users):
        return np.tile(self.counts / max(self.counts.max(), 1.0), (rows.shape[0], 1))

    def predict_ratings(self, users, items):
        return None if self.baseline is None else self.baseline.predict(users, items)


class ContentBased(Recommender):
    """Item profiles from one-hot categories and TF-IDF of the text; a user's profile is the weighted sum of the
    items they liked; score = cosine(user profile, item profile). An empty profile scores 0, never NaN."""

    key = "content"

    def __init__(self, category_weight: float = 0.7, text_weight: float = 0.7):
        self.category_weight, self.text_weight = category_weight, text_weight

    def fit(self, train: TrainData, data: Interactions) -> "ContentBased":
        from sklearn.feature_extraction.text import TfidfVectorizer
        from sklearn.preprocessing import MultiLabelBinarizer, normalize
        self.binarizer = MultiLabelBinarizer(sparse_output=True)
        cats = self.binarizer.fit_transform(data.items["categories"]).astype(np.float64)
        parts = [self.category_weight * normalize(sp.csr_matrix(cats)) if cats.shape[1] else
                 sp.csr_matrix((data.n_items, 1))]
        self.vectorizer = TfidfVectorizer(stop_words="english", min_df=2, max_df=0.5, sublinear_tf=True,
                                          max_features=20_000, token_pattern=WORDS)
        try:
            parts.append(self.text_weight * normalize(self.vectorizer.fit_transform(data.items["text"])))
        except ValueError:          # no usable words at all (e.g. no features file)
            self.vectorizer = None
        self.features = normalize(sp.hstack(parts).tocsr())
        self.n_categories = parts[0].shape[1]      # text columns start after the category block
        return self

    def profiles(self, rows: sp.csr_matrix) -> np.ndarray:
        profiles = np.asarray((rows @ self.features).todense())
        norms = np.linalg.norm(profiles, axis=1, keepdims=True)
        return np.divide(profiles, norms, out=np.zeros_like(profiles), where=norms > 0)

    def score(self, rows, users):
        return np.asarray(self.features @ self.profiles(rows).T).T

    def shared_words(self, profile: np.ndarray, item: int, n: int = 2) -> list[str]:
        if self.vectorizer is None:
            return []
        row = self.features[item]
        words = [(row[0, j] * profile[j], j - self.n_categories) for j in row.indices if j >= self.n_categories]
        vocabulary = self.vectorizer.get_feature_names_out()
        return [vocabulary[j] for weight, j in sorted(words, reverse=True)[:n] if weight > 0]


class ItemKNN(Recommender):
    """Item-item cosine neighbourhood (implicit's CosineRecommender, K neighbours, on a float64 matrix)."""

    key = "item_knn"

    def __init__(self, neighbours: int = 100):
        self.neighbours = neighbours

    def fit(self, train: TrainData, data: Interactions) -> "ItemKNN":
        from implicit.nearest_neighbours import CosineRecommender
        model = CosineRecommender(K=self.neighbours)
        with warnings.catch_warnings():      # implicit converts its own normalised matrix to CSR and says so
            warnings.simplefilter("ignore")
            model.fit(train.liked.astype(np.float64), show_progress=False)   # the bare item-item model wants float64
        self.similarity = model.similarity.tocsr()
        return self

    def score(self, rows, users):
        return np.asarray((rows.astype(np.float64) @ self.similarity).todense())


class _FactorTopK:
    """Ranking for factor models through implicit's fused multiply + top-k (C++), training items masked: its OpenMP
    threads for a batch, one thread for a handful of users, and always one BLAS thread (measured here on a busy
    2-core machine: 0.45 s instead of 1.1 s for 5,000 users x 20,000 items, 0.3 ms instead of 8 ms for one user)."""

    def recommend(self, rows, users, seen, k):
        from implicit.cpu.topk import topk
        few = rows.shape[0] < FEW_USERS
        with _blas_single_thread():       # its OpenMP threads share the rows; BLAS threads on top only collide
            query = np.ascontiguousarray(self.user_factors(rows, users), dtype=np.float32)
            ids, scores = topk(np.ascontiguousarray(self.model.item_factors, dtype=np.float32), query,
                               min(k, seen.shape[1]), filter_query_items=seen.astype(np.float32).tocsr(),
                               num_threads=1 if few else 0)
        ids = ids.astype(np.int64)
        ids[scores < -1e30] = -1          # fewer than k unseen items
        return _pad(ids, k)


_BLAS = None
FEW_USERS = 64                     # below this many rows per call, BLAS runs on one thread


def _blas_single_thread():
    """One BLAS thread, set with threadpoolctl after numpy/scipy/implicit are loaded: while implicit trains (its own
    threads do the work; this also silences its warning), and while serving a handful of users, where waking BLAS
    threads on a busy machine cost about 8 ms per call here against 0.2 ms of work."""
    global _BLAS
    if _BLAS is None:
        import implicit.cpu.topk  # noqa: F401  (every BLAS library loaded before the controller lists them)
        from threadpoolctl import ThreadpoolController
        _BLAS = ThreadpoolController()
    return _BLAS.limit(limits=1, user_api="blas")


def _serial_for_few(rows: sp.csr_matrix):
    return _blas_single_thread() if rows.shape[0] < FEW_USERS else contextlib.nullcontext()


class ALS(_FactorTopK, Recommender):
    """Alternating least squares for implicit feedback (implicit). New users are scored without refitting
    (recalculate_user)."""

    key = "als"

    def __init__(self, factors: int = 64, iterations: int = 15, regularization: float = 30.0, alpha: float = 20.0,
                 seed: int = 42, threads: int = 0):
        self.factors, self.iterations, self.regularization, self.alpha, self.seed, self.threads = (
            factors, iterations, regularization, alpha, seed, threads)

    def fit(self, train: TrainData, data: Interactions | None = None) -> "ALS":
        from implicit.als import AlternatingLeastSquares
        with _blas_single_thread():
            self.model = AlternatingLeastSquares(factors=self.factors, iterations=self.iterations,
                                                 regularization=self.regularization, alpha=self.alpha,
                                                 random_state=self.seed, num_threads=self.threads)
            self.model.fit(train.liked, show_progress=False)
        return self

    def user_factors(self, rows: sp.csr_matrix, users: np.ndarray | None) -> np.ndarray:
        if users is not None:
            return self.model.user_factors[users]
        with _blas_single_thread():
            return np.asarray(self.model.recalculate_user(np.arange(rows.shape[0]), rows.astype(np.float32).tocsr()))

    def score(self, rows, users):
        return self.user_factors(rows, users) @ self.model.item_factors.T

    def anchor(self, row: sp.csr_matrix, item: int) -> int | None:
        """The liked item that contributes most to this score (implicit's explain)."""
        if row.nnz == 0:
            return None
        with _blas_single_thread():
            _, contributions, _ = self.model.explain(0, row.astype(np.float32).tocsr(), item, N=1)
        return int(contributions[0][0]) if contributions else None


class BPR(_FactorTopK, Recommender):
    """Bayesian personalized ranking (implicit), trained on one thread: with several threads the same seed does
    not give the same factors (measured here)."""

    key = "bpr"

    def __init__(self, factors: int = 64, iterations: int = 100, learning_rate: float = 0.05,
                 regularization: float = 0.01, seed: int = 42):
        self.factors, self.iterations, self.learning_rate, self.regularization, self.seed = (
            factors, iterations, learning_rate, regularization, seed)

    def fit(self, train: TrainData, data: Interactions | None = None) -> "BPR":
        from implicit.bpr import BayesianPersonalizedRanking
        with _blas_single_thread():
            self.model = BayesianPersonalizedRanking(factors=self.factors, iterations=self.iterations,
                                                     learning_rate=self.learning_rate,
                                                     regularization=self.regularization, num_threads=1,
                                                     random_state=self.seed)
            self.model.fit((train.liked > 0).astype(np.float32), show_progress=False)
        return self

    def user_factors(self, rows: sp.csr_matrix, users: np.ndarray | None) -> np.ndarray:
        if users is not None:
            return self.model.user_factors[users]
        factors = np.zeros((rows.shape[0], self.model.user_factors.shape[1]), np.float32)
        factors[:, -1] = 1.0    # BPR has no fold-in: a new user gets the item bias column only
        return factors

    def score(self, rows, users):
        return self.user_factors(rows, users) @ self.model.item_factors.T


class SVD(Recommender):
    """Biased matrix factorization of explicit ratings (scikit-surprise SVD); ranks by predicted rating."""

    key = "svd"

    def __init__(self, factors: int = 20, epochs: int = 30, regularization: float = 0.05, seed: int = 42):
        self.factors, self.epochs, self.regularization, self.seed = factors, epochs, regularization, seed

    def fit(self, train: TrainData, data: Interactions) -> "SVD":
        from surprise import SVD as SurpriseSVD
        self.ratings = _SurpriseRatings(SurpriseSVD(n_factors=self.factors, n_epochs=self.epochs,
                                                    reg_all=self.regularization, random_state=self.seed), train, data)
        return self

    def score(self, rows, users):
        return self.ratings.scores(users, rows.shape[0])

    def predict_ratings(self, users, items):
        return self.ratings.predict(users, items)


def _standardize(scores: np.ndarray) -> np.ndarray:
    """Per row: (s - mean) / std; a constant row becomes 0 (no NaN)."""
    mean, std = scores.mean(axis=1, keepdims=True), scores.std(axis=1, keepdims=True)
    return np.divide(scores - mean, std, out=np.zeros_like(scores, dtype=np.float64), where=std > 0)


class Hybrid(Recommender):
    """weight x standardized content score + (1 - weight) x standardized ALS score, with cold-start rules:

    * a user with no liked items gets the most popular items, those in their preferred categories first;
    * place NEW_ITEM_RANK (10) of a list is kept for the best-matching new item (features but no training
      interactions) when its content match is at least as strong as that of every item the blend ranked above it:
      a blend alone almost never lifts a new item into a top-10, because its collaborative score is zero. A fixed
      place (not "the last one") keeps a list of 10 the first 10 of the list of 20; lists shorter than 10 have none.
    """

    key = "hybrid"

    def __init__(self, content: ContentBased, collaborative: ALS, weight: float, new_item_slot: bool = True):
        self.content, self.collaborative, self.weight = content, collaborative, weight
        self.new_item_slot = new_item_slot

    def fit(self, train: TrainData, data: Interactions) -> "Hybrid":
        self.popularity = train.popularity / max(train.popularity.max(), 1)
        has_features = np.asarray(self.content.features.sum(axis=1)).ravel() > 0
        self.new_items = np.flatnonzero(has_features & (np.asarray(train.seen.sum(axis=0)).ravel() == 0))
        self.item_categories = [set(c) for c in data.items["categories"]]
        return self

    def parts(self, rows, users) -> tuple[np.ndarray, np.ndarray]:
        return self.content.score(rows, users), self.collaborative.score(rows, users)

    def blend(self, content: np.ndarray, collaborative: np.ndarray) -> np.ndarray:
        return self.weight * _standardize(content) + (1 - self.weight) * _standardize(collaborative)

    def cold_scores(self, categories: set[str] | None = None) -> np.ndarray:
        """Popularity, with items in the preferred categories ranked first."""
        boost = np.array([bool(categories and cats & categories) for cats in self.item_categories], float)
        return boost + self.popularity

    def score(self, rows, users, categories: set[str] | None = None):
        scores = self.blend(*self.parts(rows, users))
        cold = np.asarray(rows.sum(axis=1)).ravel() == 0
        if cold.any():
            scores[cold] = self.cold_scores(categories)
        return scores

    def recommend(self, rows, users, seen, k, categories: set[str] | None = None):
        with _serial_for_few(rows):
            content, collaborative = self.parts(rows, users)
            return self.lists(self.blend(content, collaborative), content, rows, seen, k, categories)

    def lists(self, scores: np.ndarray, content: np.ndarray, rows: sp.csr_matrix, seen: sp.csr_matrix, k: int,
              categories: set[str] | None = None) -> np.ndarray:
        """Top-k of blended scores, with the cold-user fallback and the reserved new-item slot applied."""
        cold = np.asarray(rows.sum(axis=1)).ravel() == 0
        scores[cold] = self.cold_scores(categories)
        lists = top_k(scores, seen, k)
        if self.new_item_slot and k >= NEW_ITEM_RANK and len(self.new_items):
            self._reserve_slot(lists, content, seen)
        return lists

    def _reserve_slot(self, lists: np.ndarray, content: np.ndarray, seen: sp.csr_matrix) -> None:
        candidates = content[:, self.new_items].copy()
        rows, cols = seen[:, self.new_items].nonzero()
        candidates[rows, cols] = 0
        best = candidates.argmax(axis=1)
        match = candidates[np.arange(len(best)), best]
        above = np.take_along_axis(content, np.maximum(lists[:, :NEW_ITEM_RANK - 1], 0), axis=1).max(axis=1)
        placed = np.isin(lists[:, :NEW_ITEM_RANK], self.new_items).any(axis=1)
        for row in np.flatnonzero((match > 0) & (match >= above) & ~placed):
            item = self.new_items[best[row]]
            rest = lists[row][lists[row] != item]
            lists[row] = np.concatenate([rest[:NEW_ITEM_RANK - 1], [item], rest[NEW_ITEM_RANK - 1:]])[:lists.shape[1]]


# ============================================================================ metrics
def hit_matrix(lists: np.ndarray, relevant: sp.csr_matrix) -> np.ndarray:
    """hits[u, j] = the j-th recommended item of row u is in that row's relevant (held-out, liked) set."""
    relevant = relevant.tocsr()
    n_items = relevant.shape[1]
    truth = np.repeat(np.arange(relevant.shape[0]), np.diff(relevant.indptr)) * n_items + relevant.indices
    wanted = np.arange(lists.shape[0])[:, None] * n_items + lists
    return np.isin(wanted, truth) & (lists >= 0)


def ranking_scores(hits: np.ndarray, n_relevant: np.ndarray, k: int) -> dict[str, np.ndarray]:
    """Per-user precision@k, recall@k, NDCG@k (binary gains, log2 discount), AP@k (normalised by min(k, |R|))
    and hit@k; users with no relevant item must be removed beforehand."""
    hits = hits[:, :k].astype(float)
    n_relevant = np.asarray(n_relevant, dtype=float)
    discount = 1.0 / np.log2(np.arange(2, k + 2))
    ideal = np.cumsum(discount)[np.minimum(n_relevant, k).astype(int) - 1]
    precision_at_i = np.cumsum(hits, axis=1) / np.arange(1, k + 1)
    return {
        "precision": hits.sum(1) / k,
        "recall": hits.sum(1) / n_relevant,
        "ndcg": (hits * discount).sum(1) / ideal,
        "map": (precision_at_i * hits).sum(1) / np.minimum(n_relevant, k),
        "hit_rate": (hits.sum(1) > 0).astype(float),
    }


def coverage(lists: np.ndarray, n_items: int, k: int) -> float:
    """Share of the catalogue that appears in at least one user's top-k."""
    shown = np.unique(lists[:, :k])
    return float((shown >= 0).sum() / n_items)


def novelty(lists: np.ndarray, popularity: np.ndarray, n_users: int, k: int) -> float:
    """Mean self-information -log2((likers + 1) / (users + 1)) of recommended items, in bits: higher = less known."""
    items = lists[:, :k][lists[:, :k] >= 0]
    return float(np.mean(-np.log2((popularity[items] + 1.0) / (n_users + 1.0)))) if items.size else 0.0


def rating_errors(y_true: np.ndarray, y_pred: np.ndarray) -> dict[str, float]:
    error = np.asarray(y_pred, float) - np.asarray(y_true, float)
    return {"rmse": float(np.sqrt(np.mean(error ** 2))), "mae": float(np.mean(np.abs(error)))}


RANKING_METRICS = ("precision", "recall", "ndcg", "map", "hit_rate")
RATING_BASELINE = "User + item averages (baseline)"
METRIC_TITLES = {"precision": "Precision", "recall": "Recall", "ndcg": "NDCG", "map": "MAP", "hit_rate": "Hit rate",
                 "coverage": "Coverage", "novelty": "Novelty (bits)", "rmse": "RMSE", "mae": "MAE",
                 "fit_seconds": "Fit (s)"}


@dataclass
class Evaluation:
    """Top-K_MAX lists of every model for every evaluated user, and what they hit among held-out liked items."""

    users: np.ndarray                    # user codes with at least one held-out liked item
    n_relevant: np.ndarray
    lists: dict[str, np.ndarray]         # model -> (users, K_MAX) item codes
    hits: dict[str, np.ndarray]
    ratings: dict[str, dict[str, float]]  # model -> rmse / mae on every held-out rating (explicit data)
    popularity: np.ndarray
    n_items: int
    n_train_users: int
    n_test_ratings: int = 0

    def metrics(self, key: str, k: int) -> dict[str, float]:
        per_user = ranking_scores(self.hits[key], self.n_relevant, k)
        scores = {name: float(values.mean()) for name, values in per_user.items()}
        scores["coverage"] = coverage(self.lists[key], self.n_items, k)
        scores["novelty"] = novelty(self.lists[key], self.popularity, self.n_train_users, k)
        scores.update(self.ratings.get(key, {}))
        return scores

    def per_user(self, key: str, metric: str, k: int) -> np.ndarray:
        return ranking_scores(self.hits[key], self.n_relevant, k)[metric]


def held_out_relevance(test: pd.DataFrame, train: TrainData, data: Interactions) -> sp.csr_matrix:
    """users x items: 1 where a held-out interaction is liked and the item is not in that user's training data."""
    liked = test.loc[data.liked(test["rating"].to_numpy())]
    relevant = sp.csr_matrix((np.ones(len(liked)), (liked["user"], liked["item"])), shape=train.shape)
    relevant = (relevant - relevant.multiply(train.seen > 0)).tocsr()
    relevant.eliminate_zeros()
    return relevant


def _batches(users: np.ndarray, n_items: int, cells: int = 4_000_000) -> list[np.ndarray]:
    """Users in chunks whose dense score matrices stay around 4 million cells (32 MB in float64)."""
    size = max(50, cells // max(n_items, 1))
    return np.array_split(users, max(1, -(-len(users) // size)))


def evaluate(models: dict[str, Recommender], train: TrainData, test: pd.DataFrame, data: Interactions,
             progress: Progress = _no_progress) -> Evaluation:
    """Rank for every user with a held-out liked item; training items (liked or not) are masked first."""
    relevant = held_out_relevance(test, train, data)
    n_relevant = np.asarray(relevant.sum(axis=1)).ravel()
    users = np.flatnonzero(n_relevant > 0)
    lists, hits, ratings = {}, {}, {}
    for i, (key, model) in enumerate(models.items()):
        progress(i / len(models), f"Ranking for {len(users):,} users: {MODEL_TITLES.get(key, key)}")
        batches = [model.recommend(train.liked[b], b, train.seen[b], K_MAX) for b in _batches(users, train.shape[1])]
        lists[key] = np.vstack(batches) if len(users) else np.zeros((0, K_MAX), int)
        hits[key] = hit_matrix(lists[key], relevant[users])
        predicted = model.predict_ratings(test["user"].to_numpy(), test["item"].to_numpy()) if len(test) else None
        if predicted is not None:
            ratings[key] = rating_errors(test["rating"].to_numpy(), predicted)
    return Evaluation(users=users, n_relevant=n_relevant[users], lists=lists, hits=hits, ratings=ratings,
                      popularity=train.popularity, n_items=train.shape[1],
                      n_train_users=int((np.diff(train.seen.indptr) > 0).sum()), n_test_ratings=len(test))


# ============================================================================ tuning and the whole bench
@dataclass
class Tuning:
    """Choices made on a validation split carved out of the training interactions (never the test split)."""

    als: list[dict]             # {"alpha", "regularization", "ndcg"} per grid point
    alpha: float
    regularization: float
    weights: list[dict]         # {"weight", "ndcg"} per hybrid weight
    weight: float
    n_users: int                # validation users behind each number

    def to_dict(self) -> dict:
        return asdict(self)


def tune(data: Interactions, train_events: pd.DataFrame, spec: SplitSpec, progress: Progress = _no_progress,
         k: int = 10) -> Tuning:
    """Pick ALS's (alpha, regularization) and the hybrid weight by NDCG@k on a validation split of the training data."""
    fit_events, val_events = split_events(train_events, SplitSpec(spec.method, spec.test_share, spec.last_n,
                                                                  spec.seed + 1))
    train = TrainData.build(fit_events, data)
    n_val = val_events.loc[data.liked(val_events["rating"].to_numpy()), "user"].nunique()
    if n_val == 0:              # too little data to validate anything: the usual defaults, said as such
        return Tuning(als=[], alpha=ALS_ALPHAS[0], regularization=30.0, weights=[], weight=0.3, n_users=0)
    grid, best = [], None
    points = [(a, r) for a in ALS_ALPHAS for r in ALS_REGULARIZATIONS]
    for i, (alpha, reg) in enumerate(points):
        progress(0.8 * i / len(points), f"Tuning ALS on a validation split: alpha {alpha:g}, regularization {reg:g}")
        als = ALS(regularization=reg, alpha=alpha, seed=spec.seed, threads=1).fit(train)   # small fits: 1 thread
        value = evaluate({"als": als}, train, val_events, data).metrics("als", k)["ndcg"]
        grid.append({"alpha": alpha, "regularization": reg, "ndcg": value})
        if best is None or value > best[0]:
            best = (value, als)
    weights = []
    if data.has_features:
        progress(0.85, "Tuning the hybrid's content weight on the validation split")
        hybrid = Hybrid(ContentBased().fit(train, data), best[1], 0.0).fit(train, data)
        weights = _weight_curve(hybrid, train, val_events, data, k)
    top = max(grid, key=lambda g: g["ndcg"])
    weight = max(weights, key=lambda g: g["ndcg"])["weight"] if weights else 0.0
    return Tuning(als=grid, alpha=top["alpha"], regularization=top["regularization"], weights=weights, weight=weight,
                  n_users=n_val)


def _weight_curve(hybrid: Hybrid, train: TrainData, val_events: pd.DataFrame, data: Interactions,
                  k: int) -> list[dict]:
    """Validation NDCG@k of the hybrid for each weight; both parts are scored once and re-blended."""
    relevant = held_out_relevance(val_events, train, data)
    n_relevant = np.asarray(relevant.sum(axis=1)).ravel()
    users = np.flatnonzero(n_relevant > 0)
    ndcg = {weight: [] for weight in HYBRID_WEIGHTS}
    for batch in _batches(users, train.shape[1]):
        rows, seen = train.liked[batch], train.seen[batch]
        content, collaborative = hybrid.parts(rows, batch)
        z_content, z_collaborative = _standardize(content), _standardize(collaborative)
        for weight in HYBRID_WEIGHTS:
            lists = hybrid.lists(weight * z_content + (1 - weight) * z_collaborative, content, rows, seen, k)
            ndcg[weight].append(ranking_scores(hit_matrix(lists, relevant[batch]), n_relevant[batch], k)["ndcg"])
    return [{"weight": float(w), "ndcg": float(np.concatenate(v).mean())} for w, v in ndcg.items()]


@dataclass
class RecSystem:
    """Everything the Recommend page shows: the split, the fitted models, the tuning and the evaluation."""

    data: Interactions
    spec: SplitSpec
    train: TrainData
    test: pd.DataFrame
    models: dict[str, Recommender]
    tuning: Tuning
    evaluation: Evaluation
    fit_seconds: dict[str, float]
    new_item_place: dict = field(default_factory=dict)   # what the hybrid's reserved place gives and costs

    def table(self, k: int) -> pd.DataFrame:
        rows = [{"model": key, "title": MODEL_TITLES[key], **self.evaluation.metrics(key, k),
                 "fit_seconds": self.fit_seconds.get(key, 0.0)} for key in self.models]
        return pd.DataFrame(rows)


def model_keys(data: Interactions) -> list[str]:
    """The models that apply to this data: content and hybrid need item features, SVD needs star ratings."""
    keys = ["popular"] + (["content"] if data.has_features else []) + ["item_knn", "als", "bpr"]
    return keys + (["svd"] if data.explicit else []) + (["hybrid"] if data.has_features else [])


def build_system(data: Interactions, spec: SplitSpec = SplitSpec(), progress: Progress = _no_progress) -> RecSystem:
    """Split, tune on validation, fit every model on the training split, evaluate on the held-out split."""
    train_events, test_events = split_events(data.events, spec)
    if not data.liked(test_events["rating"].to_numpy()).any():
        raise ModelDeckError("No held-out interaction counts as liked, so nothing can be measured. Hold out more "
                             "interactions (a larger test share or more per user), or upload more data.")
    tuning = tune(data, train_events, spec, lambda f, m: progress(0.45 * f, m))
    train = TrainData.build(train_events, data)
    makers = {"popular": Popularity, "content": ContentBased, "item_knn": ItemKNN,
              "als": lambda: ALS(regularization=tuning.regularization, alpha=tuning.alpha, seed=spec.seed),
              "bpr": lambda: BPR(seed=spec.seed), "svd": lambda: SVD(seed=spec.seed)}
    models, seconds = {}, {}
    keys = model_keys(data)
    for i, key in enumerate(keys):
        progress(0.45 + 0.3 * i / len(keys), f"Fitting {MODEL_TITLES[key]} on {len(train_events):,} interactions")
        start = time.perf_counter()
        if key == "hybrid":
            model = Hybrid(models["content"], models["als"], tuning.weight).fit(train, data)
        else:
            model = makers[key]().fit(train, data)
        seconds[key] = time.perf_counter() - start + (seconds["content"] + seconds["als"] if key == "hybrid" else 0)
        models[key] = model
    evaluation = evaluate(models, train, test_events, data, lambda f, m: progress(0.75 + 0.2 * f, m))
    place = {}
    if "hybrid" in models:
        progress(0.95, "Measuring what the place kept for new items costs")
        place = new_item_place_report(models["hybrid"], train, test_events, data, evaluation)
    progress(1.0, "Done")
    return RecSystem(data=data, spec=spec, train=train, test=test_events, models=models, tuning=tuning,
                     evaluation=evaluation, fit_seconds=seconds, new_item_place=place)


def new_item_place_report(hybrid: Hybrid, train: TrainData, test: pd.DataFrame, data: Interactions,
                          evaluation: Evaluation, k: int = NEW_ITEM_RANK) -> dict:
    """How many users get a new item in the reserved place, how many of those they liked later, and the NDCG@k of
    the same hybrid without the place (the price of giving new items their first exposure)."""
    plain = Hybrid(hybrid.content, hybrid.collaborative, hybrid.weight, new_item_slot=False).fit(train, data)
    without = evaluate({"hybrid": plain}, train, test, data).metrics("hybrid", k)["ndcg"]
    given = np.isin(evaluation.lists["hybrid"][:, k - 1], hybrid.new_items)
    return {"k": k, "new_items": int(len(hybrid.new_items)), "share": float(given.mean()) if len(given) else 0.0,
            "users": int(given.sum()), "liked_later": int(evaluation.hits["hybrid"][given, k - 1].sum()),
            "ndcg_with": evaluation.metrics("hybrid", k)["ndcg"], "ndcg_without": without}


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
            f"{plural(item_noun)} (features, no interactions in training) when it matches the user's taste at least as "
            f"well as the {plural(item_noun)} above it: {report['share']:.0%} of test users get one, and "
            f"{report['liked_later']:,} of them liked it later. On this split {effect}.")


# ============================================================================ one user: history, lists, reasons
def plural(noun: str) -> str:
    """genre -> genres, category -> categories, person -> people."""
    if noun == "person":
        return "people"
    return noun[:-1] + "ies" if noun.endswith("y") else noun + "s"


def _plural(n: int, noun: str) -> str:
    return f"{n:,} {noun if n == 1 else plural(noun)}"


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


# ============================================================================ captions (generated from the numbers)
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
    return text


# ============================================================================ saving into the run store
def _atomic_json(path: Path, payload: dict) -> None:
    _write_atomic(path, lambda p: p.write_text(json.dumps(payload, default=str)))


def _atomic_npz(path: Path, **arrays: np.ndarray) -> None:
    def write(tmp: Path) -> None:
        with open(tmp, "wb") as handle:
            np.savez_compressed(handle, **arrays)
    _write_atomic(path, write)


def save_recommendations(store, system: RecSystem, user: int, k: int = 10, name: str | None = None):
    """Save one user's lists (every model, with reasons), the metric table and the ALS factors as a run."""
    data, lists = system.data, recommend_user(system, user, k)
    table = system.table(k)
    lead = "hybrid" if "hybrid" in system.models else "als"
    lead_row = table.set_index("model").loc[lead]
    metrics = {"task": "recommendation", "primary": f"ndcg@{k}", "k": k, "model": lead,
               "test": {f"{m}@{k}": float(lead_row[m]) for m in RANKING_METRICS},
               "models": table.set_index("model").drop(columns="title").to_dict(orient="index")}
    spec = {"kind": "recommender", "models": list(system.models), "k": k, "user": str(data.user_ids[user]),
            "als": {"alpha": system.tuning.alpha, "regularization": system.tuning.regularization},
            "hybrid_weight": system.tuning.weight}
    run = store.create(name=name or f"Recommendations for user {data.user_ids[user]} ({data.name})",
                       dataset_key=data.key, dataset_name=data.name, task="recommendation",
                       spec_json=json.dumps(spec), prep=system.spec.to_dict(), fingerprint=data.fingerprint,
                       kind="recommender", status="running")
    try:
        folder = store.folder(run.id)
        _atomic_json(folder / "recommendations.json", {
            "user": str(data.user_ids[user]), "k": k, "split": system.spec.to_dict(), "item_noun": data.item_noun,
            "category_noun": data.category_noun,
            "lists": {key: frame.drop(columns="code").to_dict(orient="records") for key, frame in lists.items()},
            "history": user_history(system, user).drop(columns="code").to_dict(orient="records"),
            "tuning": system.tuning.to_dict(), "titles": {key: MODEL_TITLES[key] for key in lists}})
        _atomic_json(folder / "metrics.json", {"k": k, "table": table.to_dict(orient="records")})
        als = system.models["als"].model
        _atomic_npz(folder / "factors.npz", user_factors=als.user_factors, item_factors=als.item_factors,
                    user_ids=data.user_ids.astype(str), item_ids=data.items["item_id"].to_numpy(str))
        return store.complete(run.id, metrics=metrics, timings={"fit_seconds": system.fit_seconds},
                              fingerprint=data.fingerprint)
    except Exception as exc:
        store.fail(run.id, f"Saving failed: {exc}")
        raise


def load_saved(store, run_id: str) -> dict:
    """The saved lists, history and metric table of a recommender run (no recomputation)."""
    run = store.get(run_id)
    folder = store.folder(run_id, create=False)
    if run.kind != "recommender" or not (folder / "recommendations.json").exists():
        raise ModelDeckError(f"Run '{run_id}' is not a saved set of recommendations.")
    payload = json.loads((folder / "recommendations.json").read_text())
    payload["table"] = pd.DataFrame(json.loads((folder / "metrics.json").read_text())["table"])
    payload["run"] = run
    return payload
