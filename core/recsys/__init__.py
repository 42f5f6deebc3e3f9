"""Recommendations from who-liked-what data, measured honestly and explained item by item.

The path a page (or a notebook) follows:

1. **Data**: `load_interactions(key)` opens the built-in synthetic film set (`BUILTIN_KEY`) or a stored upload;
   `interactions_from_upload(bytes, name, [item features])` reads an uploaded file into `Interactions` and
   `save_upload` keeps it under MODELDECK_HOME (and in a shared database, for other machines).
2. **The bench**: `build_system(data, SplitSpec(...), progress)` splits each user's interactions (seeded random or
   last-in-time), tunes ALS and the hybrid weight on a validation split of the training part, fits every model that
   applies (`model_keys`: most popular, content-based, item-kNN, ALS, BPR, SVD, hybrid) and evaluates them on the
   held-out part -> `RecSystem` (its `table(k)` holds precision, recall, NDCG, MAP, hit rate, coverage, novelty and,
   on star ratings, RMSE/MAE; training items never count as hits).
3. **One user**: `user_history` and `recommend_user` (each model's top-k with a reason per item, for a known user
   or a new visitor who names a few liked items or categories).
4. **Words and pictures**: `headline`, `ranking_vs_rating`, `rating_sentence`, `tuning_sentence`,
   `new_item_sentence` turn the numbers into captions; `core.recsys.charts` draws them.
5. **Saving**: `save_system(system, folder)` keeps a whole built recommender without pickles (what the background
   job of the Recommend page writes) and `load_system(folder)` opens it again without training;
   `save_recommendations(store, system, user)` writes one user's lists as a run; `load_saved` reads it back.

The metric functions (`hit_matrix`, `ranking_scores`, `coverage`, `novelty`, `rating_errors`, `evaluate`) and the
models (all `Recommender`s) are usable on their own. `implicit`, `scikit-surprise` and scikit-learn are imported
only when a model is fitted, so importing this package stays light.
"""
from core.recsys._base import MODEL_TITLES, Recommender, top_k
from core.recsys._data import (BUILTIN_KEY, UPLOAD_PREFIX, Interactions, build_interactions, load_builtin,
                               streaming_interactions)
from core.recsys._hybrid import NEW_ITEM_RANK, Hybrid
from core.recsys._metrics import (K_MAX, METRIC_TITLES, RANKING_METRICS, RATING_BASELINE, Evaluation, coverage,
                                  evaluate, held_out_relevance, hit_matrix, novelty, ranking_scores, rating_errors)
from core.recsys._models import ALS, BPR, SVD, ContentBased, ItemKNN, Popularity
from core.recsys._narrate import (headline, new_item_sentence, plural, ranking_vs_rating, rating_sentence,
                                  tuning_sentence)
from core.recsys._reasons import recommend_user, user_history
from core.recsys._split import SplitSpec, TrainData, split_events
from core.recsys._saved import load_system, save_system
from core.recsys._store import load_interactions, load_saved, save_recommendations, save_upload
from core.recsys._system import RecSystem, build_system, model_keys, new_item_place_report, new_model
from core.recsys._tuning import ALS_ALPHAS, ALS_REGULARIZATIONS, HYBRID_WEIGHTS, Tuning, tune
from core.recsys._upload import interactions_from_upload, read_interactions, read_item_features

__all__ = [
    # data
    "BUILTIN_KEY", "UPLOAD_PREFIX", "Interactions", "build_interactions", "streaming_interactions", "load_builtin",
    "interactions_from_upload", "read_interactions", "read_item_features", "save_upload", "load_interactions",
    # split and training matrices
    "SplitSpec", "split_events", "TrainData",
    # models
    "MODEL_TITLES", "Recommender", "top_k", "Popularity", "ContentBased", "ItemKNN", "ALS", "BPR", "SVD", "Hybrid",
    "NEW_ITEM_RANK",
    # metrics and evaluation
    "K_MAX", "RANKING_METRICS", "RATING_BASELINE", "METRIC_TITLES", "hit_matrix", "ranking_scores", "coverage",
    "novelty", "rating_errors", "held_out_relevance", "Evaluation", "evaluate",
    # tuning and the whole bench
    "ALS_ALPHAS", "ALS_REGULARIZATIONS", "HYBRID_WEIGHTS", "Tuning", "tune", "RecSystem", "model_keys",
    "build_system", "new_item_place_report", "new_model", "save_system", "load_system",
    # one user, sentences, saving
    "user_history", "recommend_user", "plural", "headline", "ranking_vs_rating", "rating_sentence",
    "tuning_sentence", "new_item_sentence", "save_recommendations", "load_saved",
]
