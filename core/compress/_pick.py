"""Reading the trade-off table: the Pareto front, the variant to ship under a size / latency / accuracy budget,
and the sentences a person reads first (the headline, and where compression made things slower or timing was
noisy).

What to ship is the fastest honest deployment: the best measured batch-1 latency, whichever engine runs it,
among the variants that keep the score within the accuracy budget (`fastest_honest`, `pick_variant`); when
PyTorch's own int8 falls short of 2× per request, `int8_note` says why on this CPU.

The pick never looks at the test rows: its accuracy limit reads the score change on validation rows held out of
the training split (``val_delta_points``; no variant was fitted on them); the chosen variant's test score is then
reported as measured once (`selection_note` says both for the page). Tables saved earlier read what they have —
the training-row change (rows the model was fitted on), else the test change — and their sentences say so."""
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


def _than(ratio: float, more: str, less: str, other: str, same: str) -> str:
    """'2.1× faster than 'X'' / '1.5× slower than 'X'' / `same` + ' 'X'' (within 5%)."""
    said = times(ratio, more, less)
    return f"{same} '{other}'" if said.startswith("about") else f"{said} than '{other}'"


def _named(row: dict) -> str:
    """'int8 dynamic (ONNX Runtime)' as is; a name that does not say its engine gets it: ''4 trees' (ONNX Runtime)'."""
    engine = row.get("engine", "")
    return f"'{row['variant']}'" + (f" ({engine})" if engine and engine not in row["variant"] else "")


def _change_key(table: TradeoffTable) -> str:
    """The score change the pick reads: on the validation rows; in tables saved before those, on the training rows,
    else on the test rows."""
    for key in ("val_delta_points", "train_delta_points"):
        if all(key in r for r in table.rows):
            return key
    return "delta_points"


def _basis(table: TradeoffTable) -> str:
    """The rows the pick read, in words."""
    return {"val_delta_points": f"{table.val_rows} validation rows", "train_delta_points": "training rows"}.get(
        _change_key(table), f"{table.test_rows} test rows")


def selection_note(table: TradeoffTable) -> str:
    """How the recommended variant was chosen and what its test figures are, for the page's caption."""
    change = _change_key(table)
    if change == "val_delta_points":
        return (f"Chosen on {table.val_rows} validation rows held out of the training split (no variant was "
                "fine-tuned, distilled or refitted on them, though the original model, trained earlier, saw them); "
                f"measured once on {table.test_rows} unseen test rows.")
    if change == "train_delta_points":
        return ("This table was measured before validation rows were held out: its pick read the score on the "
                f"training rows the model was fitted on; measured once on {table.test_rows} unseen test rows. "
                "Compress again for a pick made on held-out rows.")
    return (f"This table has neither validation nor training-row scores, so the {table.test_rows} test rows chose "
            "the pick: expect a little less on new data. Compress again for a pick made on held-out rows.")


def _fastest(rows: list[dict]) -> dict:
    """The best measured batch-1 latency; ties go to the smaller file."""
    return min(rows, key=lambda r: (r["b1_ms"], r["bytes"]))


def pick_variant(table: TradeoffTable, max_bytes: float | None = None, max_ms: float | None = None,
                 max_loss_points: float | None = None) -> tuple[dict | None, str]:
    """The variant to ship under a budget (the fastest at batch 1 among those meeting every limit, whichever engine
    runs it; ties go to the smaller file) and one sentence why."""
    change = _change_key(table)
    held_out = change != "delta_points"
    limits = {"size": (lambda r: r["bytes"], max_bytes), "latency": (lambda r: r["b1_ms"], max_ms),
              "accuracy loss": (lambda r: -r[change], max_loss_points)}

    def misses(r):
        return [name for name, (get, limit) in limits.items() if limit is not None and get(r) > limit]

    ok = [r for r in table.rows if not misses(r)]
    if not ok:
        closest = min(table.rows, key=lambda r: (len(misses(r)), -r[change]))
        return None, (f"No variant meets every limit; the closest is '{closest['variant']}', which misses the "
                      f"{' and '.join(misses(closest))} limit. Loosen that limit or keep the original.")
    best = _fastest(ok)
    loss = -best[change]
    words = f"loses {loss:.1f} points of {table.metric}" if loss > 0.05 else \
        f"keeps {table.metric} within 0.1 point" if loss > -0.05 else f"gains {-loss:.1f} points of {table.metric}"
    where = (f"on the {_basis(table)} (the test rows chose nothing); on the "
             f"{table.test_rows} test rows, measured once, it {_points(-best['delta_points'], table.metric)}"
             if held_out else f"on the {table.test_rows} test rows (this table has no validation or training-row "
                              "scores, so the test rows chose it: expect a little less on new data)")
    original = table.rows[0]
    return best, (f"Ship {_named(best)}: it answers one request fastest of the {len(ok)} "
                  f"variants within your limits ({best['b1_ms']:.3f} ms, "
                  f"{_than(original['b1_ms'] / best['b1_ms'], 'faster', 'slower', original['variant'], 'as fast as')}; "
                  f"{fmt_bytes(best['bytes'])}, {times(original['bytes'] / best['bytes'], 'smaller', 'larger')}) "
                  f"and {words} {where}.")


def fastest_honest(table: TradeoffTable, max_loss_points: float = 1.0) -> dict | None:
    """The deployment to recommend by default: the best measured batch-1 latency, whichever engine runs it (the
    original included), among the variants whose score on the validation rows dropped by at most
    `max_loss_points` (the test rows choose nothing). None when the table has no such row."""
    change = _change_key(table)
    ok = [r for r in table.rows if r.get(change, -np.inf) >= -max_loss_points]
    return _fastest(ok) if ok else None


def _points(loss: float, metric: str) -> str:
    return (f"loses {loss:.1f} points" if loss > 0.05 else "stays within 0.1 point" if loss > -0.05
            else f"gains {-loss:.1f} points") + f" of {metric}"


def headline(table: TradeoffTable, max_loss_points: float = 1.0) -> str:
    """The sentence a person reads first: the fastest honest deployment (`fastest_honest`) and what it keeps."""
    best = fastest_honest(table, max_loss_points)
    original = table.rows[0]
    name = original["variant"]
    rows = _basis(table)
    if best is None:
        return (f"Every variant lost more than {max_loss_points:g} point of {table.metric} on the {rows}; on this "
                f"model, keep '{name}'.")
    if best is original:
        return (f"Keep '{name}': no variant within {max_loss_points:g} point of {table.metric} on the "
                f"{rows} answers a single request faster ({best['b1_ms']:.3f} ms).")
    same = (f"gives the same answer as the original on {best['agreement']:.1%} of the {table.test_rows} test rows"
            if table.task == "classification" else
            f"tracks the original's predictions with R² {best['agreement']:.3f} on {table.test_rows} test rows")
    return (f"Ship {_named(best)}: of the variants within {max_loss_points:g} point of "
            f"{table.metric} on the {rows}, it answers a single request fastest, {best['b1_ms']:.3f} ms, "
            f"{_than(original['b1_ms'] / best['b1_ms'], 'faster', 'slower', name, 'as fast as')}, "
            f"and it is {_than(original['bytes'] / best['bytes'], 'smaller', 'larger', name, 'as big as')}"
            f" ({fmt_bytes(best['bytes'])}); it {same}.")


def int8_note(table: TradeoffTable, target: float = 2.0) -> str:
    """Why PyTorch's own int8 is not `target`× faster per request than its fp32 here, with the CPU's flags ('' when
    it is, or when the table has no PyTorch int8 row)."""
    rows = {r["variant"]: r for r in table.rows}
    fp32 = next((r for r in table.rows if r["engine"] == "PyTorch" and r["method"] == "baseline"), None)
    int8 = rows.get("int8 dynamic (PyTorch)")
    if fp32 is None or int8 is None:
        return ""
    speed = fp32["b1_ms"] / int8["b1_ms"]
    if speed >= target:
        return ""
    flags = table.cpu.get("flags") or []
    vnni = any("vnni" in f or "amx_int8" in f for f in flags)
    cpu = f"{table.cpu.get('model', 'this CPU')} ({', '.join(flags) or 'no AVX2/AVX-512/VNNI'})"
    why = (f"this CPU has int8 instructions (VNNI), so what int8 saves is arithmetic, and a network of "
           f"{fp32['params']:,} parameters has too little of it per request to pay for the fixed work of each call "
           "(measuring and rounding every layer's input, converting the output back)" if vnni else
           "this CPU has no VNNI int8 instructions, so int8 arithmetic is not much cheaper than float32 on it")
    ort = next((r for r in table.rows if r["engine"] == "ONNX Runtime" and r["method"] == "quantize"), None)
    alt = (f"; ONNX Runtime's int8 answers in {ort['b1_ms']:.3f} ms ({fp32['b1_ms'] / ort['b1_ms']:.1f}×)"
           if ort else "")
    return (f"PyTorch's int8 is {speed:.2f}× as fast as its float32 per request here, not {target:g}×: {why} "
            f"({cpu}){alt}.")


def slow_notes(table: TradeoffTable) -> list[str]:
    """Plain warnings where compression made things slower (common for small models at batch 1) or timing was noisy."""
    base = table.row(table.baseline)
    slower = [f"'{r['variant']}' ({r['b1_ms'] / base['b1_ms']:.1f}×)" for r in table.rows
              if r["method"] in ("quantize", "half", "combo") and r["b1_ms"] > 1.05 * base["b1_ms"]]
    notes = []
    if slower:
        notes.append(f"Slower than '{table.baseline}' at batch 1: {', '.join(slower)}. On a model this small the "
                     "conversions cost more than the cheaper arithmetic saves (and fp16 on a CPU is slower than fp32).")
    int8 = int8_note(table)
    if int8:
        notes.append(int8)
    noisy = [r["variant"] for r in table.rows if r["noisy"]]
    if noisy:
        notes.append(f"Timing was noisy (p90 over twice the median) for: {', '.join(noisy)}; rerun on a quiet machine.")
    return notes
