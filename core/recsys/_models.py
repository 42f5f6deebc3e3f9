"""The single models: most popular (with a user + item average rating baseline), content-based (one-hot categories
+ TF-IDF text, cosine), item-item kNN, ALS and BPR (`implicit`, ranked through its fused top-k) and SVD on explicit
ratings (`scikit-surprise`). `implicit`, `surprise` and scikit-learn are imported inside the methods that need them."""
from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import scipy.sparse as sp

from core.common import DEFAULT_SEED
from core.recsys._base import FEW_USERS, Recommender, _blas_single_thread, _pad
from core.recsys._data import Interactions
from core.recsys._split import TrainData

WORDS = r"(?u)\b[^\W\d_]{2,}\b"       # TF-IDF tokens: words of 2+ letters (no years or numbers)


class _SurpriseRatings:
    """A fitted scikit-surprise model (SVD or BaselineOnly) read back as arrays indexed by our codes: the global
    mean, the user and item biases (bu, bi) and, for SVD, the factors (pu, qi). Only these arrays are kept, so a
    saved model is arrays too (`state` / `from_state`)."""

    PARTS = ("bu", "bi", "pu", "qi")

    def __init__(self, arrays: dict[str, np.ndarray], mu: float, uix: np.ndarray, iix: np.ndarray, scale):
        self.arrays, self.mu, self.uix, self.iix, self.scale = arrays, float(mu), uix, iix, scale

    @classmethod
    def fit(cls, algo, train: TrainData, data: Interactions) -> "_SurpriseRatings":
        from surprise import Dataset, Reader
        frame = pd.DataFrame({"u": train.events["user"], "i": train.events["item"], "r": train.events["rating"]})
        trainset = Dataset.load_from_df(frame, Reader(rating_scale=data.scale)).build_full_trainset()
        algo.fit(trainset)
        arrays = {name: np.asarray(getattr(algo, name)) for name in cls.PARTS if hasattr(algo, name)}
        fitted = cls(arrays, trainset.global_mean,
                     cls._inner([trainset.to_raw_uid(u) for u in trainset.all_users()], data.n_users),
                     cls._inner([trainset.to_raw_iid(i) for i in trainset.all_items()], data.n_items), data.scale)
        fitted.algo = algo          # the library's own model, for checks against it (never saved)
        return fitted

    def state(self) -> dict[str, np.ndarray]:
        return self.arrays | {"mu": np.array(self.mu), "uix": self.uix, "iix": self.iix}

    @classmethod
    def from_state(cls, state: dict[str, np.ndarray], data: Interactions) -> "_SurpriseRatings":
        return cls({name: state[name] for name in cls.PARTS if name in state}, float(state["mu"]), state["uix"],
                   state["iix"], data.scale)

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
        a = self.arrays
        bi = self._part(a.get("bi"), self.iix)
        if users is None:
            return np.tile(self.mu + bi, (n_rows, 1))
        bu = self._part(a.get("bu"), self.uix[users])
        out = self.mu + bu[:, None] + bi[None, :]
        if "pu" in a:
            out += self._part(a["pu"], self.uix[users]) @ self._part(a["qi"], self.iix).T
        return out

    def predict(self, users: np.ndarray, items: np.ndarray) -> np.ndarray:
        a = self.arrays
        pred = self.mu + self._part(a.get("bu"), self.uix[users]) + self._part(a.get("bi"), self.iix[items])
        if "pu" in a:
            pred += np.einsum("ij,ij->i", self._part(a["pu"], self.uix[users]), self._part(a["qi"], self.iix[items]))
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
            self.baseline = _SurpriseRatings.fit(BaselineOnly(verbose=False), train, data)
        return self

    def state(self):
        return {} if self.baseline is None else self.baseline.state()

    def restore(self, state, train, data):
        self.counts = train.popularity.astype(np.float64)
        self.baseline = _SurpriseRatings.from_state(state, data) if data.explicit else None
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
        cats = MultiLabelBinarizer(sparse_output=True).fit_transform(data.items["categories"]).astype(np.float64)
        parts = [self.category_weight * normalize(sp.csr_matrix(cats)) if cats.shape[1] else
                 sp.csr_matrix((data.n_items, 1))]
        vectorizer = TfidfVectorizer(stop_words="english", min_df=2, max_df=0.5, sublinear_tf=True,
                                     max_features=20_000, token_pattern=WORDS)
        self.vocabulary = np.array([], dtype=str)
        try:
            parts.append(self.text_weight * normalize(vectorizer.fit_transform(data.items["text"])))
            self.vocabulary = vectorizer.get_feature_names_out().astype(str)
        except ValueError:          # no usable words at all (e.g. no features file)
            pass
        self.features = normalize(sp.hstack(parts).tocsr())
        self.n_categories = parts[0].shape[1]      # text columns start after the category block
        return self

    def state(self):
        return {"features": self.features, "vocabulary": self.vocabulary, "n_categories": np.array(self.n_categories)}

    def restore(self, state, train, data):
        self.features, self.vocabulary = state["features"], state["vocabulary"]
        self.n_categories = int(state["n_categories"])
        return self

    def profiles(self, rows: sp.csr_matrix) -> np.ndarray:
        profiles = np.asarray((rows @ self.features).todense())
        norms = np.linalg.norm(profiles, axis=1, keepdims=True)
        return np.divide(profiles, norms, out=np.zeros_like(profiles), where=norms > 0)

    def score(self, rows, users):
        return np.asarray(self.features @ self.profiles(rows).T).T

    def shared_words(self, profile: np.ndarray, item: int, n: int = 2) -> list[str]:
        if not len(self.vocabulary):
            return []
        row = self.features[item]
        words = [(row[0, j] * profile[j], j - self.n_categories) for j in row.indices if j >= self.n_categories]
        return [str(self.vocabulary[j]) for weight, j in sorted(words, reverse=True)[:n] if weight > 0]


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

    def state(self):
        return {"similarity": self.similarity}

    def restore(self, state, train, data):
        self.similarity = state["similarity"]
        return self

    def score(self, rows, users):
        return np.asarray((rows.astype(np.float64) @ self.similarity).todense())


class _FactorTopK:
    """Scoring and ranking for factor models (score = user factors x item factors). Ranking goes through implicit's
    fused multiply + top-k (C++), training items masked: its OpenMP threads for a batch, one thread for a handful
    of users, and always one BLAS thread (measured here on a busy 2-core machine: 0.45 s instead of 1.1 s for
    5,000 users x 20,000 items, 0.3 ms instead of 8 ms for one user)."""

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

    def score(self, rows, users):
        return self.user_factors(rows, users) @ self.model.item_factors.T

    def state(self):
        return {"user_factors": self.model.user_factors, "item_factors": self.model.item_factors}

    def restore(self, state, train, data):
        with _blas_single_thread():     # implicit checks the BLAS threads as the model is made
            self.model = self.new_model()
        self.model.user_factors, self.model.item_factors = state["user_factors"], state["item_factors"]
        return self


class ALS(_FactorTopK, Recommender):
    """Alternating least squares for implicit feedback (implicit). New users are scored without refitting
    (recalculate_user)."""

    key = "als"

    def __init__(self, factors: int = 64, iterations: int = 15, regularization: float = 30.0, alpha: float = 20.0,
                 seed: int = DEFAULT_SEED, threads: int = 0):
        self.factors, self.iterations, self.regularization, self.alpha, self.seed, self.threads = (
            factors, iterations, regularization, alpha, seed, threads)

    def fit(self, train: TrainData, data: Interactions | None = None) -> "ALS":
        with _blas_single_thread():
            self.model = self.new_model()
            self.model.fit(train.liked, show_progress=False)
        return self

    def new_model(self):
        from implicit.als import AlternatingLeastSquares
        return AlternatingLeastSquares(factors=self.factors, iterations=self.iterations,
                                       regularization=self.regularization, alpha=self.alpha, random_state=self.seed,
                                       num_threads=self.threads)

    def user_factors(self, rows: sp.csr_matrix, users: np.ndarray | None) -> np.ndarray:
        if users is not None:
            return self.model.user_factors[users]
        with _blas_single_thread():
            return np.asarray(self.model.recalculate_user(np.arange(rows.shape[0]), rows.astype(np.float32).tocsr()))

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
                 regularization: float = 0.01, seed: int = DEFAULT_SEED):
        self.factors, self.iterations, self.learning_rate, self.regularization, self.seed = (
            factors, iterations, learning_rate, regularization, seed)

    def fit(self, train: TrainData, data: Interactions | None = None, callback=None) -> "BPR":
        """`callback(iteration, seconds, ...)` is called after each iteration (the factors are current then)."""
        with _blas_single_thread():
            self.model = self.new_model()
            self.model.fit((train.liked > 0).astype(np.float32), show_progress=False, callback=callback)
        return self

    def new_model(self):
        from implicit.bpr import BayesianPersonalizedRanking
        return BayesianPersonalizedRanking(factors=self.factors, iterations=self.iterations,
                                           learning_rate=self.learning_rate, regularization=self.regularization,
                                           num_threads=1, random_state=self.seed)

    def user_factors(self, rows: sp.csr_matrix, users: np.ndarray | None) -> np.ndarray:
        if users is not None:
            return self.model.user_factors[users]
        factors = np.zeros((rows.shape[0], self.model.user_factors.shape[1]), np.float32)
        factors[:, -1] = 1.0    # BPR has no fold-in: a new user gets the item bias column only
        return factors


class SVD(Recommender):
    """Biased matrix factorization of explicit ratings (scikit-surprise SVD); ranks by predicted rating."""

    key = "svd"

    def __init__(self, factors: int = 20, epochs: int = 30, regularization: float = 0.05,
                 seed: int = DEFAULT_SEED):
        self.factors, self.epochs, self.regularization, self.seed = factors, epochs, regularization, seed

    def fit(self, train: TrainData, data: Interactions) -> "SVD":
        from surprise import SVD as SurpriseSVD
        self.ratings = _SurpriseRatings.fit(SurpriseSVD(n_factors=self.factors, n_epochs=self.epochs,
                                                    reg_all=self.regularization, random_state=self.seed), train, data)
        return self

    def score(self, rows, users):
        return self.ratings.scores(users, rows.shape[0])

    def state(self):
        return self.ratings.state()

    def restore(self, state, train, data):
        self.ratings = _SurpriseRatings.from_state(state, data)
        return self

    def predict_ratings(self, users, items):
        return self.ratings.predict(users, items)
