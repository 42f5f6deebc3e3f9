"""Reading the trade-off table: the Pareto front, the variant to ship under a size / latency / accuracy budget,
and the sentences a person reads first (the headline, and where compression made things slower or timing was
noisy).

The pick never looks at the test rows: its accuracy limit reads the score change on the training rows
(``train_delta_points``); the chosen variant's test score is then reported as measured once. Tables saved before
training-row scores existed fall back to the test change, and the sentence says so."""
from __future__ import annotations

import numpy as np

from core.common import fmt_bytes
from core.compress._table import TradeoffTable


def pareto_front(cost: np.ndarray, score: np.ndarray) -> np.ndarray:
    """Boolean mask of rows not dominated: no other row is at least as cheap and as good, and better in one."""
    cost, score = np.asarray(cost, dtype=float), np.asarray(score, dtype=float)
    front = np.ones(len(cost), dtype=bool)
    for i in range(len(cost)):
        dominated = (cost <= cost[i]) & (score >= score[i]) & ((cost < cost[i]) | (score > score[i]))
        front[i] = not dominated.any()
    return front


def times(ratio: float, more: str, less: str) -> str:
    """'2.1× smaller' / '1.5× larger' / 'about the same': a ratio (baseline / variant) said the right way round."""
    if ratio >= 1.05:
        return f"{ratio:.1f}× {more}"
    if ratio <= 0.95:
        return f"{1 / ratio:.1f}× {less}"
    return f"about as {more.replace('er', '')} as"


def pick_variant(table: TradeoffTable, max_bytes: float | None = None, max_ms: float | None = None,
                 max_loss_points: float | None = None) -> tuple[dict | None, str]:
    """The variant to ship under a budget (smallest file among those meeting every limit) and one sentence why."""
    on_train = all("train_delta_points" in r for r in table.rows)
    change = "train_delta_points" if on_train else "delta_points"
    limits = {"size": (lambda r: r["bytes"], max_bytes), "latency": (lambda r: r["b1_ms"], max_ms),
              "accuracy loss": (lambda r: -r[change], max_loss_points)}

    def misses(r):
        return [name for name, (get, limit) in limits.items() if limit is not None and get(r) > limit]

    ok = [r for r in table.rows if not misses(r)]
    if not ok:
        closest = min(table.rows, key=lambda r: (len(misses(r)), -r[change]))
        return None, (f"No variant meets every limit; the closest is '{closest['variant']}', which misses the "
                      f"{' and '.join(misses(closest))} limit. Loosen that limit or keep the original.")
    best = min(ok, key=lambda r: (r["bytes"], r["b1_ms"]))
    loss = -best[change]
    words = f"loses {loss:.1f} points of {table.metric}" if loss > 0.05 else \
        f"keeps {table.metric} within 0.1 point" if loss > -0.05 else f"gains {-loss:.1f} points of {table.metric}"
    where = ("on the training rows (the test rows chose nothing); on the "
             f"{table.test_rows} test rows, measured once, it {_points(-best['delta_points'], table.metric)}"
             if on_train else f"on the {table.test_rows} test rows (this table has no training-row scores, so the "
                              "test rows chose it: expect a little less on new data)")
    return best, (f"Ship '{best['variant']}': it is the smallest of the {len(ok)} variants within your limits "
                  f"({fmt_bytes(best['bytes'])}, {best['b1_ms']:.3f} ms per request; "
                  f"{times(best['size_x'], 'smaller', 'larger')} than the baseline) and {words} {where}.")


def _points(loss: float, metric: str) -> str:
    return (f"loses {loss:.1f} points" if loss > 0.05 else "stays within 0.1 point" if loss > -0.05
            else f"gains {-loss:.1f} points") + f" of {metric}"


def headline(table: TradeoffTable) -> str:
    """The sentence a person reads first: the best compressed variant that stays within 1 point."""
    close = [r for r in table.rows if r["method"] not in ("baseline", "student") and r["delta_points"] >= -1.0]
    if not close:
        return "Every compressed variant lost more than 1 point; on this model, keep the original."
    best = max(close, key=lambda r: r["size_x"] * r["speed_b1_x"])
    return (f"'{best['variant']}' is {times(best['size_x'], 'smaller', 'larger')} ({fmt_bytes(best['bytes'])}) "
            f"and {times(best['speed_b1_x'], 'faster', 'slower')} per request than '{table.baseline}', and "
            + (f"gives the same answer on {best['agreement']:.1%} of the {table.test_rows} test rows."
               if table.task == "classification" else
               f"its predictions track the original's with R² {best['agreement']:.3f} on {table.test_rows} test rows."))


def slow_notes(table: TradeoffTable) -> list[str]:
    """Plain warnings where compression made things slower (common for small models at batch 1) or timing was noisy."""
    base = table.row(table.baseline)
    slower = [f"'{r['variant']}' ({r['b1_ms'] / base['b1_ms']:.1f}×)" for r in table.rows
              if r["method"] in ("quantize", "half", "combo") and r["b1_ms"] > 1.05 * base["b1_ms"]]
    notes = []
    if slower:
        notes.append(f"Slower than '{table.baseline}' at batch 1: {', '.join(slower)}. On a model this small the "
                     "conversions cost more than the cheaper arithmetic saves (and fp16 on a CPU is slower than fp32).")
    noisy = [r["variant"] for r in table.rows if r["noisy"]]
    if noisy:
        notes.append(f"Timing was noisy (p90 over twice the median) for: {', '.join(noisy)}; rerun on a quiet machine.")
    return notes
