"""Comparing search strategies: one study per strategy with the same space, budget and seed (a comparison
group), how many trials each needed to come close to the best, and a sentence that says whether the difference
matters on this data.
"""
from __future__ import annotations

import uuid
from dataclasses import replace

from core.tune._config import CLOSE, COMPARE_STRATEGIES, STRATEGIES, TuneConfig
from core.tune._status import TuneStatus, list_studies, study_status
from core.tune._storage import create_study
from core.tune._worker import start_workers


def trials_to_reach(curve: list[float], target: float, direction: str, tol: float = CLOSE) -> int | None:
    """How many finished trials a best-so-far curve needs to come within `tol` of `target` (None: never)."""
    for i, value in enumerate(curve, start=1):
        if (value >= target - tol) if direction == "maximize" else (value <= target + tol):
            return i
    return None


def start_comparison(config: TuneConfig, strategies: tuple[str, ...] = COMPARE_STRATEGIES,
                     owner: str | None = None, store=None) -> tuple[str, list[str]]:
    """One study per strategy with the same space, budget and seed (all `owner`'s), one worker each (a background
    job of `store`'s owner). Returns (group, names)."""
    group = uuid.uuid4().hex[:8]
    names = [create_study(replace(config, strategy=s), group=group, owner=owner) for s in strategies]
    for name in names:
        start_workers(name, 1, store=store)
    return group, names


def group_statuses(group: str, dataset_key: str | None = None, visible_to: str | None = None) -> dict[str, TuneStatus]:
    """strategy -> status of each study in a comparison group (`visible_to`: as in `list_studies`)."""
    names = [s.name for s in list_studies(dataset_key, visible_to) if s.group == group]
    statuses = [study_status(n) for n in names]
    return {s.config.strategy: s for s in sorted(statuses, key=lambda s: list(STRATEGIES).index(s.config.strategy))}


def compare_sentence(statuses: dict[str, TuneStatus]) -> str:
    """Plain words for a comparison: who got where, and whether it matters on this data."""
    finished = {k: s for k, s in statuses.items() if s.best is not None}
    if len(finished) < 2:
        return "The comparison needs at least two strategies with a finished trial."
    any_status = next(iter(finished.values()))
    metric, direction = any_status.metric, any_status.config.direction
    curves = {k: s.best_so_far()[1] for k, s in finished.items()}
    finals = {k: c[-1] for k, c in curves.items()}
    pick = max if direction == "maximize" else min
    target = pick(finals.values())
    n = min(len(c) for c in curves.values())
    parts = ", ".join(f"{STRATEGIES[k]} {metric.format(v)}" for k, v in finals.items())
    text = f"Best cross-validated {metric.label.lower()} — {parts}."
    reach = {k: trials_to_reach(c, target, direction) for k, c in curves.items()}
    reach_text = "; ".join(f"{STRATEGIES[k]} after {r} trials" if r else
                           f"{STRATEGIES[k]} not within {len(curves[k])} trials" for k, r in reach.items())
    text += f" Within {metric.close_text} of the best: {reach_text}."
    spread = max(finals.values()) - min(finals.values())
    if spread <= CLOSE + 1e-12:
        text += (f" On this data the {len(finals)} search strategies ended within {metric.close_text} of each other; "
                 "any of them is fine here.")
    else:
        winner = next(k for k, v in finals.items() if v == target)
        text += (f" {STRATEGIES[winner]} ended {metric.points(spread)} ahead of the weakest after about {n} trials "
                 "each; with one seed, a gap this size can still be luck.")
    return text


