"""A built recommender (`RecSystem`) kept in a folder without pickles, so the Recommend page reads what a background
job built, in any session: `system.json` (split, tuning, fit times, the new-item report, the evaluation's numbers)
and `system.npz` (numpy arrays only, read with allow_pickle=False: the held-out rows, each model's fitted arrays
from `Recommender.state`, sparse matrices as their CSR parts, and the evaluation's lists and hits).

Loading opens the interactions again by key and refuses them when their fingerprint changed; each model is made
with its tuned settings (`new_model`) and given its arrays (`Recommender.restore`), without training."""
from __future__ import annotations

import json
from dataclasses import fields
from pathlib import Path

import numpy as np
import scipy.sparse as sp

from core.common import ModelDeckError, atomic_open, atomic_write
from core.recsys._data import Interactions
from core.recsys._metrics import Evaluation
from core.recsys._split import SplitSpec, TrainData
from core.recsys._system import RecSystem, model_keys, new_model
from core.recsys._tuning import Tuning

FORMAT = 1
CSR_PARTS = ("data", "indices", "indptr", "shape")


def _flat(prefix: str, state: dict) -> dict[str, np.ndarray]:
    """`state` as plain arrays named prefix.name (a sparse matrix as prefix.name.csr.data / indices / …)."""
    out = {}
    for name, value in state.items():
        if sp.issparse(value):
            value = value.tocsr()
            out |= {f"{prefix}.{name}.csr.{part}": np.asarray(getattr(value, part)) for part in CSR_PARTS}
        else:
            out[f"{prefix}.{name}"] = np.asarray(value)
    return out


def _nested(prefix: str, arrays) -> dict:
    """The state saved under `prefix` (the inverse of `_flat`)."""
    state, start = {}, f"{prefix}."
    for key in arrays.files:
        if not key.startswith(start):
            continue
        name = key[len(start):]
        if ".csr." in name:
            name = name.split(".csr.")[0]
            if name not in state:
                part = {p: arrays[f"{start}{name}.csr.{p}"] for p in CSR_PARTS}
                state[name] = sp.csr_matrix((part["data"], part["indices"], part["indptr"]),
                                            shape=tuple(int(n) for n in part["shape"]))
        else:
            state[name] = arrays[key]
    return state


def save_system(system: RecSystem, folder: Path) -> None:
    """Write `system` into `folder` (each file atomically)."""
    evaluation = system.evaluation
    arrays = {"test_index": system.test.index.to_numpy(), "eval.users": evaluation.users,
              "eval.n_relevant": evaluation.n_relevant, "eval.popularity": evaluation.popularity}
    for key, model in system.models.items():
        arrays |= _flat(f"model.{key}", model.state())
        arrays |= {f"lists.{key}": evaluation.lists[key], f"hits.{key}": evaluation.hits[key]}
    assert not any(a.dtype == object for a in arrays.values()), "every saved array is numbers or text"
    with atomic_open(Path(folder) / "system.npz", "wb") as handle:
        np.savez_compressed(handle, **arrays)
    atomic_write(Path(folder) / "system.json", json.dumps({
        "format": FORMAT, "data_key": system.data.key, "fingerprint": system.data.fingerprint,
        "spec": system.spec.to_dict(), "models": list(system.models), "tuning": system.tuning.to_dict(),
        "fit_seconds": system.fit_seconds, "new_item_place": system.new_item_place,
        "evaluation": {"ratings": evaluation.ratings, "n_items": evaluation.n_items,
                       "n_train_users": evaluation.n_train_users, "n_test_ratings": evaluation.n_test_ratings}},
        default=float))


def load_system(folder: Path, data: Interactions | None = None) -> RecSystem:
    """The recommender saved in `folder`, on `data` (default: its interactions opened again by key)."""
    folder = Path(folder)
    if not (folder / "system.json").exists() or not (folder / "system.npz").exists():
        raise ModelDeckError("This built recommender is no longer stored here; build it again.")
    meta = json.loads((folder / "system.json").read_text())
    if meta.get("format") != FORMAT:
        raise ModelDeckError("This recommender was saved by another version of ModelDeck; build it again.")
    if data is None:
        from core.recsys._store import load_interactions
        data = load_interactions(meta["data_key"])
    if data.fingerprint != meta["fingerprint"] or meta["models"] != model_keys(data):
        raise ModelDeckError("The interactions changed since this recommender was built; build it again.")
    spec = SplitSpec.from_dict(meta["spec"])
    tuning = Tuning(**{f.name: meta["tuning"][f.name] for f in fields(Tuning) if f.name in meta["tuning"]})
    with np.load(folder / "system.npz", allow_pickle=False) as arrays:
        held_out = data.events.index.isin(arrays["test_index"])
        test, train = data.events.loc[held_out], TrainData.build(data.events.loc[~held_out], data)
        models = {}
        for key in meta["models"]:
            models[key] = new_model(key, tuning, spec, models).restore(_nested(f"model.{key}", arrays), train, data)
        numbers = meta["evaluation"]
        evaluation = Evaluation(users=arrays["eval.users"], n_relevant=arrays["eval.n_relevant"],
                                lists={key: arrays[f"lists.{key}"] for key in models},
                                hits={key: arrays[f"hits.{key}"] for key in models}, ratings=numbers["ratings"],
                                popularity=arrays["eval.popularity"], n_items=int(numbers["n_items"]),
                                n_train_users=int(numbers["n_train_users"]),
                                n_test_ratings=int(numbers["n_test_ratings"]))
    return RecSystem(data=data, spec=spec, train=train, test=test, models=models, tuning=tuning,
                     evaluation=evaluation, fit_seconds={k: float(v) for k, v in meta["fit_seconds"].items()},
                     new_item_place=meta["new_item_place"])
