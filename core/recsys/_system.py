"""The whole bench: `build_system` splits, tunes on validation, fits every model that applies to the data and
evaluates them on the held-out split into a `RecSystem`, and measures what the hybrid's new-item place costs."""
from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from core.common import ModelDeckError, Progress, no_progress
from core.recsys._base import MODEL_TITLES, Recommender
from core.recsys._data import Interactions
from core.recsys._hybrid import NEW_ITEM_RANK, Hybrid
from core.recsys._metrics import Evaluation, evaluate
from core.recsys._models import ALS, BPR, SVD, ContentBased, ItemKNN, Popularity
from core.recsys._split import SplitSpec, TrainData, split_events
from core.recsys._tuning import Tuning, tune


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


def new_model(key: str, tuning: Tuning, spec: SplitSpec, fitted: dict[str, Recommender]) -> Recommender:
    """The unfitted model `key` with the tuned settings (the hybrid is made of the `fitted` content and ALS)."""
    if key == "hybrid":
        return Hybrid(fitted["content"], fitted["als"], tuning.weight)
    makers = {"popular": Popularity, "content": ContentBased, "item_knn": ItemKNN,
              "als": lambda: ALS(regularization=tuning.regularization, alpha=tuning.alpha, seed=spec.seed),
              "bpr": lambda: BPR(seed=spec.seed, **tuning.bpr_params), "svd": lambda: SVD(seed=spec.seed)}
    return makers[key]()


def build_system(data: Interactions, spec: SplitSpec = SplitSpec(), progress: Progress = no_progress) -> RecSystem:
    """Split, tune on validation, fit every model on the training split, evaluate on the held-out split."""
    train_events, test_events = split_events(data.events, spec)
    if not data.liked(test_events["rating"].to_numpy()).any():
        raise ModelDeckError("No held-out interaction counts as liked, so nothing can be measured. Hold out more "
                             "interactions (a larger test share or more per user), or upload more data.")
    tuning = tune(data, train_events, spec, lambda f, m: progress(0.45 * f, m))
    train = TrainData.build(train_events, data)
    models, seconds = {}, {}
    keys = model_keys(data)
    for i, key in enumerate(keys):
        progress(0.45 + 0.3 * i / len(keys), f"Fitting {MODEL_TITLES[key]} on {len(train_events):,} interactions")
        start = time.perf_counter()
        model = new_model(key, tuning, spec, models).fit(train, data)
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
