"""Generate ``data/streaming_ratings.csv`` and ``data/streaming_items.csv``: a SYNTHETIC film-streaming catalogue.

Every user, title and rating is invented by this script (seed ``SEED = 11``); nothing comes from a real service.
Run ``python data/make_interactions.py`` to rebuild both files byte for byte. ``make_interactions(...)`` builds
larger sets in memory (the benchmark uses 5,000 users x 20,000 items x 500,000 ratings).

How the data were planted (a seeded latent-factor model)
--------------------------------------------------------
Each title i has three kinds of hidden traits:

* ``genres``: 1-3 of the 16 genres below (these ARE in the items file);
* a ``theme`` (one of 24, e.g. "heist", "space station"); its keyword is written into the description of 85% of
  the titles, so the text carries it; each theme has a 6-dimensional taste vector;
* a 4-dimensional "x-factor" that appears nowhere in the items file: only the ratings reveal it.

Each user has a liking for 2-3 favourite genres, a taste vector over themes and one over the x-factor. Their
affinity for a title is ``1.0 * genre match + 0.5 * theme match + 0.5 * x-factor match``. Users watch titles with
probability proportional to ``exp(popularity + TASTE * affinity)`` (popularity is log-normal with sd
``POPULARITY_SD``: the long tail) and rate them 1-5 stars from the same affinity plus a personal bias, a title
quality and noise (about half of the ratings are 4 or 5 stars). So content (genres, description) predicts part of
the taste, the ratings of other people predict the rest, and a recommender that combines both should beat either.

New releases: 8% of the titles came out in the last 60 days of the period (2024-01-01 to 2025-06-30); they have
few ratings, all late, so a time-based split holds many of them out: the cold-start case.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

SEED = 11
N_USERS = 1000
N_ITEMS = 3000
N_RATINGS = 60_000
FOLDER = Path(__file__).resolve().parent
RATINGS_CSV = FOLDER / "streaming_ratings.csv"
ITEMS_CSV = FOLDER / "streaming_items.csv"
START, END = pd.Timestamp("2024-01-01"), pd.Timestamp("2025-06-30")
NEW_SHARE, NEW_DAYS = 0.08, 60
WEIGHTS = {"genre": 1.0, "theme": 0.5, "x_factor": 0.5}
POPULARITY_SD = 1.3   # spread of log-popularity: the long tail
TASTE = 2.5           # how strongly affinity (vs popularity) decides what a user watches

GENRES: dict[str, tuple[str, ...]] = {
    "Action": ("explosive", "chase", "fight"), "Adventure": ("quest", "journey", "expedition"),
    "Animation": ("animated", "colourful", "hand-drawn"), "Comedy": ("hilarious", "witty", "farce"),
    "Crime": ("gangster", "corrupt", "underworld"), "Documentary": ("true story", "archive", "interviews"),
    "Drama": ("moving", "family", "struggle"), "Family": ("kids", "heartwarming", "friendship"),
    "Fantasy": ("magic", "kingdom", "enchanted"), "Horror": ("haunted", "terrifying", "creature"),
    "Musical": ("songs", "dance", "stage"), "Mystery": ("puzzle", "secret", "clues"),
    "Romance": ("love", "romantic", "affair"), "Sci-Fi": ("future", "alien", "technology"),
    "Thriller": ("suspense", "conspiracy", "tense"), "Western": ("frontier", "outlaw", "desert"),
}
THEMES = ("heist", "space station", "wedding", "small town", "robots", "time travel", "vampires", "high school",
          "courtroom", "dragons", "road trip", "submarine", "detective", "jazz", "pirates", "election",
          "pandemic", "chess", "volcano", "orphan", "boxing", "cooking", "mountain", "hacker")
ADJECTIVES = ("Silent", "Last", "Broken", "Golden", "Hidden", "Crimson", "Endless", "Frozen", "Wild", "Lost",
              "Secret", "Burning", "Distant", "Quiet", "Electric", "Hollow", "Midnight", "Iron", "Paper", "Glass",
              "Velvet", "Savage", "Northern", "Forgotten", "Little", "Bright", "Dark", "Final", "Restless", "Stolen")
NOUNS = ("Harbor", "Garden", "Kingdom", "Signal", "River", "Promise", "Mirror", "Empire", "Winter", "Orchard",
         "Frontier", "Echo", "Lantern", "Voyage", "Canyon", "Anthem", "Circus", "Compass", "Island", "Letter",
         "Machine", "Station", "Tide", "Verdict", "Waltz", "Horizon", "Crown", "Fever", "Shadow", "Engine",
         "Summer", "Bridge", "Harvest", "Storm", "Alibi", "Legacy", "Outpost", "Parade", "Reckoning", "Sanctuary")
FILLER = ("a", "an", "the", "unlikely", "young", "old", "reluctant", "city", "team", "woman", "man", "stranger",
          "sisters", "brothers", "friends", "rivals", "must", "finds", "discovers", "faces", "returns", "after",
          "before", "years", "night", "one", "last", "chance", "world", "home")


def _genres(n: int, rng: np.random.Generator) -> np.ndarray:
    """Multi-hot genre matrix (n, 16): one primary genre with a skewed share, plus 0-2 more."""
    share = rng.dirichlet(np.full(len(GENRES), 2.0))
    onehot = np.zeros((n, len(GENRES)))
    onehot[np.arange(n), rng.choice(len(GENRES), n, p=share)] = 1
    extra = rng.choice([0, 1, 2], n, p=[0.35, 0.45, 0.20])
    for row in np.flatnonzero(extra):
        onehot[row, rng.choice(len(GENRES), extra[row], replace=False)] = 1
    return onehot


def _titles(n: int, years: np.ndarray, rng: np.random.Generator) -> list[str]:
    adjective, noun, other = rng.choice(ADJECTIVES, n), rng.choice(NOUNS, n), rng.choice(NOUNS, n)
    pattern = rng.choice(3, n, p=[0.5, 0.3, 0.2])
    names = np.where(pattern == 0, np.char.add("The ", np.char.add(np.char.add(adjective, " "), noun)),
                     np.where(pattern == 1, np.char.add(np.char.add(noun, " of the "), other),
                              np.char.add(np.char.add(adjective, " "), noun)))
    return [f"{name} ({year})" for name, year in zip(names, years)]


def _description(genre_row: np.ndarray, theme: str, show_theme: bool, rng: np.random.Generator) -> str:
    words = [str(w) for w in rng.choice(FILLER, 5)]
    for g in np.flatnonzero(genre_row):
        words += list(rng.choice(list(GENRES.values())[g], 1 + int(rng.random() < 0.5), replace=False))
    if show_theme:
        words.append(theme)
    rng.shuffle(words)
    return " ".join(words).capitalize() + "."


def _items(n: int, rng: np.random.Generator) -> tuple[pd.DataFrame, dict[str, np.ndarray]]:
    genre = _genres(n, rng)
    theme = rng.choice(len(THEMES), n)
    is_new = rng.random(n) < NEW_SHARE
    span = (END - START).days
    release = np.where(is_new, span - rng.uniform(0, NEW_DAYS, n), -rng.uniform(0, 9 * 365, n))  # days from START
    years = (START + pd.to_timedelta(release, unit="D")).year.to_numpy()
    show_theme = rng.random(n) < 0.85
    frame = pd.DataFrame({
        "item_id": np.arange(1, n + 1),
        "title": _titles(n, years, rng),
        "genres": ["|".join(g for g, on in zip(GENRES, row) if on) for row in genre],
        "description": [_description(genre[i], THEMES[theme[i]], show_theme[i], rng) for i in range(n)],
        "year": years,
    })
    theme_vectors = rng.normal(0, 1, (len(THEMES), 6))
    traits = {
        "genre": genre / np.sqrt(genre.sum(1, keepdims=True)),
        "theme": theme_vectors[theme] + rng.normal(0, 0.3, (n, 6)),
        "x_factor": rng.normal(0, 1, (n, 4)),
        "popularity": rng.normal(0, POPULARITY_SD, n),
        "quality": rng.normal(0, 0.3, n),
        "release": release,
    }
    return frame, traits


def _users(n: int, rng: np.random.Generator) -> dict[str, np.ndarray]:
    genre = rng.normal(0, 0.3, (n, len(GENRES)))
    for row in range(n):
        genre[row, rng.choice(len(GENRES), rng.integers(2, 4), replace=False)] += 1.5
    return {"genre": genre, "theme": rng.normal(0, 1, (n, 6)) / np.sqrt(6), "x_factor": rng.normal(0, 1, (n, 4)) / 2,
            "bias": rng.normal(0, 0.4, n), "join": rng.uniform(0, 0.8 * (END - START).days, n)}


def _counts(n_users: int, n_ratings: int, n_items: int, rng: np.random.Generator) -> np.ndarray:
    """Ratings per user: log-normal (a few heavy watchers), at least 12, summing to about n_ratings."""
    raw = rng.lognormal(0, 0.75, n_users)
    counts = np.clip(np.round(raw / raw.mean() * n_ratings / n_users), 12, n_items // 4).astype(int)
    return counts


def _choose(users: dict, items: dict, counts: np.ndarray, rng: np.random.Generator, chunk: int = 500):
    """Per user, sample titles without replacement ∝ exp(popularity + exposure + affinity) (Gumbel top-k)."""
    span = (END - START).days
    exposure = np.log(np.clip((span - np.maximum(items["release"], 0)) / span, 1e-3, 1))
    rows, cols, affinities = [], [], []
    for lo in range(0, len(counts), chunk):
        hi = min(lo + chunk, len(counts))
        affinity = sum(WEIGHTS[k] * users[k][lo:hi] @ items[k].T for k in WEIGHTS)
        keys = items["popularity"] + exposure + TASTE * affinity + rng.gumbel(size=affinity.shape)
        for offset, n in enumerate(counts[lo:hi]):
            top = np.argpartition(-keys[offset], n)[:n]
            rows.append(np.full(n, lo + offset))
            cols.append(top)
            affinities.append(affinity[offset, top])
    return np.concatenate(rows), np.concatenate(cols), np.concatenate(affinities)


def _stars(affinity: np.ndarray, user_bias: np.ndarray, quality: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    z = (affinity - affinity.mean()) / affinity.std()
    return np.clip(np.round(3.6 + 0.9 * z + user_bias + quality + rng.normal(0, 0.7, z.size)), 1, 5).astype(int)


def _times(join: np.ndarray, release: np.ndarray, rng: np.random.Generator) -> pd.DatetimeIndex:
    span_s = (END - START).total_seconds()
    lo = np.maximum(join, np.maximum(release, 0)) * 86400.0
    seconds = lo + rng.random(lo.size) * (span_s - lo)
    return START + pd.to_timedelta(np.round(seconds), unit="s")


def make_interactions(n_users: int = N_USERS, n_items: int = N_ITEMS, n_ratings: int = N_RATINGS,
                      seed: int = SEED) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(ratings, items): ratings has user_id, item_id, rating (1-5), timestamp; deterministic for a seed."""
    rng = np.random.default_rng(seed)
    items, traits = _items(n_items, rng)
    users = _users(n_users, rng)
    user, item, affinity = _choose(users, traits, _counts(n_users, n_ratings, n_items, rng), rng)
    ratings = pd.DataFrame({
        "user_id": user + 1,
        "item_id": item + 1,
        "rating": _stars(affinity, users["bias"][user], traits["quality"][item], rng),
        "timestamp": _times(users["join"][user], traits["release"][item], rng).strftime("%Y-%m-%d %H:%M:%S"),
    })
    ratings = ratings.sort_values(["timestamp", "user_id"], kind="stable").reset_index(drop=True)
    return ratings, items


def main() -> None:
    ratings, items = make_interactions()
    ratings.to_csv(RATINGS_CSV, index=False, lineterminator="\n")
    items.to_csv(ITEMS_CSV, index=False, lineterminator="\n")
    density = len(ratings) / (N_USERS * N_ITEMS)
    print(f"wrote {RATINGS_CSV.name} ({len(ratings):,} ratings, {ratings.user_id.nunique():,} users, "
          f"{ratings.item_id.nunique():,} rated titles, density {density:.1%}, "
          f"{(ratings.rating >= 4).mean():.0%} rated 4-5) and {ITEMS_CSV.name} ({len(items):,} titles)")


if __name__ == "__main__":
    main()
