"""Reading uploaded files: finding the user, item, rating and time columns by name (or MovieLens order without a
header), telling star ratings from implicit weights, merging duplicate events, reading an item features file
(categories, title, text) and checking its ids, with a note for every choice made on the user's behalf."""
from __future__ import annotations

import hashlib

import re
from pathlib import Path

import numpy as np
import pandas as pd

from core.common import ModelDeckError
from core.recsys._data import UPLOAD_PREFIX, Interactions, build_interactions

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


def upload_digest(ratings: bytes, ratings_name: str, items: bytes | None, items_name: str | None) -> str:
    """The key of an upload: a hash of every uploaded byte and file name (each part length-prefixed, so no two
    different uploads share it). The same ratings with another items file are another data set."""
    digest = hashlib.sha256(b"modeldeck-recsys-upload-v2")
    for part in (ratings_name.encode("utf-8", "surrogatepass"), ratings,
                 b"" if items_name is None else items_name.encode("utf-8", "surrogatepass"),
                 b"\x00no items" if items is None else items):
        digest.update(len(part).to_bytes(8, "big"))
        digest.update(part)
    return digest.hexdigest()[:16]


def interactions_from_upload(ratings: bytes, ratings_name: str, items: bytes | None = None,
                             items_name: str | None = None) -> Interactions:
    """Build an Interactions object from uploaded bytes (features file optional)."""
    events, info, notes = read_interactions(ratings, ratings_name)
    catalogue = None
    if items is not None:
        catalogue, item_notes = read_item_features(items, items_name or "items.csv", set(events["item"]))
        notes += item_notes
    data = build_interactions(events, catalogue, key="", name=Path(ratings_name).stem, notes=notes, **info)
    data.key = UPLOAD_PREFIX + upload_digest(ratings, ratings_name, items, items_name)
    data.description = (f"Uploaded: {data.n_users:,} users, {data.n_items:,} items, {len(data.events):,} "
                        f"interactions from '{ratings_name}'" + (f" and '{items_name}'." if items is not None else "."))
    return data
