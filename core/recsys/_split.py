"""The seeded split of each user's interactions (random holdout or the last ones in time) and `TrainData`, the
sparse users x items matrices of the training part (seen, liked with confidence weights, popularity)."""
from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np
import pandas as pd
import scipy.sparse as sp

from core.common import DEFAULT_SEED, ModelDeckError
from core.recsys._data import Interactions


@dataclass(frozen=True)
class SplitSpec:
    """Random holdout per user (test_share of each user's interactions) or time-based (each user's last_n)."""

    method: str = "random"
    test_share: float = 0.2
    last_n: int = 5
    seed: int = DEFAULT_SEED

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
