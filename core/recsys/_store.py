"""What is kept on disk: uploaded interaction sets (CSV + JSON under MODELDECK_HOME/recsys_uploads, opened again by
key with `load_interactions`; with a shared database the folder is a cache of the database's copy, so a build job or
a page on another machine opens them too) and one user's recommendations saved as a run in the run store (lists with
reasons, metric table, ALS factors), read back without recomputation by `load_saved`."""
from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pandas as pd

from core.common import ModelDeckError, atomic_open, atomic_write, fetch_shared, home
from core.recsys._base import MODEL_TITLES
from core.recsys._data import BUILTIN_KEY, UPLOAD_PREFIX, Interactions, build_interactions, load_builtin
from core.recsys._metrics import RANKING_METRICS
from core.recsys._reasons import recommend_user, user_history
from core.recsys._system import RecSystem


def _uploads_dir() -> Path:
    path = home() / "recsys_uploads"
    path.mkdir(parents=True, exist_ok=True)
    return path


def save_upload(data: Interactions) -> str:
    """Store an uploaded data set (plain CSV + JSON) under MODELDECK_HOME; returns its key."""
    folder = _upload_folder(data.key)
    folder.mkdir(parents=True, exist_ok=True)
    item_ids = data.items["item_id"].to_numpy()
    events = pd.DataFrame({"user": data.user_ids[data.events["user"]], "item": item_ids[data.events["item"]],
                           "rating": data.events["rating"], "timestamp": data.events["timestamp"]})
    items = data.items.assign(categories=data.items["categories"].map("|".join))
    atomic_write(folder / "events.csv", events.to_csv(index=False))
    atomic_write(folder / "items.csv", items.to_csv(index=False))
    meta = {"name": data.name, "description": data.description, "explicit": data.explicit, "scale": data.scale,
            "like_threshold": data.like_threshold, "notes": data.notes}
    atomic_write(folder / "meta.json", json.dumps(meta))
    return data.key


def _upload_folder(key: str) -> Path:
    """The folder of an uploaded set; its key is the digest of the upload, so nothing else is accepted."""
    digest = key[len(UPLOAD_PREFIX):]
    if not re.fullmatch(r"[0-9a-f]{8,64}", digest):
        raise ModelDeckError(f"'{key[:40]}' is not the key of an uploaded interaction set; upload the file again.")
    return _uploads_dir() / digest


def _load_upload(key: str) -> Interactions:
    folder = _upload_folder(key)
    fetch_shared(*(folder / name for name in ("meta.json", "events.csv", "items.csv")))
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


def _atomic_json(path: Path, payload: dict) -> None:
    atomic_write(path, json.dumps(payload, default=str))


def _atomic_npz(path: Path, **arrays: np.ndarray) -> None:
    with atomic_open(path, "wb") as handle:
        np.savez_compressed(handle, **arrays)


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
