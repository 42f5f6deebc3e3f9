"""What serving costs: throughput of each servable variant on this machine, and the money that follows.

`measure_throughput` times every variant that has an ONNX file (what `python -m core serve` runs; the model as
trained when nothing was compressed yet) through ONNX Runtime on one thread, at batch 1 (one request, one row) and
batch 64, on the run's own test rows: the model alone, and with the run's cleaning step in front (what a request
really costs). The result is saved beside the compression table (`save_throughput` / `load_throughput`).

`serving_cost` turns rows per second per core, a daily volume and an hourly price per core into the cost per
million predictions (compute only) and per month (the cores that must stay on, at least one). The defaults are
stated on the page: 1,000,000 predictions a day at $0.05 per core-hour (about an on-demand cloud vCPU); load is
assumed spread evenly over the day, so peaks need more cores than this.
"""
from __future__ import annotations

import json
import math
import time
from dataclasses import asdict, dataclass

import numpy as np
import pandas as pd

from core.common import ModelDeckError, atomic_write

DEFAULT_PER_DAY = 1_000_000
DEFAULT_PRICE_PER_HOUR = 0.05       # USD per core-hour
HOURS_PER_MONTH = 730.0             # 365 × 24 / 12
BATCHES = (1, 64)
THROUGHPUT_FILE = "throughput.json"


@dataclass(frozen=True)
class Throughput:
    """Rows per second on one core for one variant, measured on this machine."""

    variant: str
    batch: int
    model_rows_per_s: float          # the ONNX model alone
    rows_per_s: float                # cleaning step + model: what a request costs
    calls: int
    cpu: str = ""


@dataclass(frozen=True)
class ServingCost:
    """The cost of one variant at one volume and price."""

    variant: str
    batch: int
    rows_per_s: float
    per_day: float
    price_per_hour: float
    core_hours_per_day: float
    cores: int                       # always on, at least one (load spread evenly over the day)
    busy: float                      # share of those cores' time spent predicting
    per_million: float               # compute only
    per_month: float                 # the cores kept on for a month

    def sentence(self) -> str:
        volume = f"{self.per_day / 1e6:,.3g} million predictions a day" if self.per_day >= 1e6 else \
            f"{self.per_day:,.0f} predictions a day"
        cores = "one core" if self.cores == 1 else f"{self.cores} cores"
        return (f"The {self.variant} model serves {volume} on {cores} for about ${self.per_month:,.2f} a month "
                f"(${self.price_per_hour:g} per core-hour, {self.busy:.1%} busy at batch {self.batch}); compute alone "
                f"is ${self.per_million:,.4f} per million predictions.")


def serving_cost(variant: str, rows_per_s: float, per_day: float = DEFAULT_PER_DAY,
                 price_per_hour: float = DEFAULT_PRICE_PER_HOUR, batch: int = 1) -> ServingCost:
    """Cost per million and per month from rows per second per core (see the module docstring)."""
    if rows_per_s <= 0 or not math.isfinite(rows_per_s):
        raise ModelDeckError(f"'{variant}' has no measured throughput; measure the serving speed first.")
    if per_day < 0 or price_per_hour < 0:
        raise ModelDeckError("The volume and the price cannot be negative.")
    core_hours = per_day / rows_per_s / 3600.0
    cores = max(1, math.ceil(core_hours / 24.0))
    return ServingCost(variant, batch, rows_per_s, per_day, price_per_hour, core_hours, cores,
                       core_hours / (24.0 * cores), price_per_hour / (rows_per_s * 3600.0) * 1e6,
                       cores * HOURS_PER_MONTH * price_per_hour)


def cleaning_share(throughputs: list[Throughput], batch: int = 1) -> float:
    """The largest share of a request's time spent in the cleaning step rather than the model, at this batch."""
    shares = [1.0 - t.rows_per_s / t.model_rows_per_s for t in throughputs if t.batch == batch and t.model_rows_per_s]
    return max(shares) if shares else 0.0


def cost_headline(throughputs: list[Throughput], per_day: float = DEFAULT_PER_DAY,
                  price_per_hour: float = DEFAULT_PRICE_PER_HOUR, batch: int = 1) -> str:
    """One sentence: the cheapest variant's cost, or that every variant costs about the same (and why)."""
    rows = [t for t in throughputs if t.batch == batch]
    if not rows:
        raise ModelDeckError(f"No throughput was measured at batch {batch}; measure the serving speed first.")
    best = max(rows, key=lambda t: t.rows_per_s)
    cost = serving_cost(best.variant, best.rows_per_s, per_day, price_per_hour, batch)
    spread = (best.rows_per_s - min(t.rows_per_s for t in rows)) / best.rows_per_s
    if len(rows) == 1 or spread >= 0.05:
        return cost.sentence()
    share = cleaning_share(rows, batch)
    why = (f": the cleaning step takes {'nearly all' if share > 0.995 else f'{share:.0%}'} of each request, so the "
           "model's size barely changes the bill") if share > 0.5 else ""
    return (f"All {len(rows)} variants cost about the same{why}. " + cost.sentence().replace(
        f"The {best.variant} model serves", "The fastest serves", 1))


def cost_table(throughputs: list[Throughput], per_day: float = DEFAULT_PER_DAY,
               price_per_hour: float = DEFAULT_PRICE_PER_HOUR, batch: int = 1) -> pd.DataFrame:
    """One row per variant at this batch size: throughput, cores, cost per million and per month."""
    rows = []
    for t in throughputs:
        if t.batch != batch:
            continue
        c = serving_cost(t.variant, t.rows_per_s, per_day, price_per_hour, batch)
        rows.append({"variant": t.variant, "rows/s per core": t.rows_per_s, "model alone rows/s": t.model_rows_per_s,
                     "cores": c.cores, "busy": c.busy, "$ per million": c.per_million, "$ per month": c.per_month})
    return pd.DataFrame(rows)


# ---------------------------------------------------------------- measuring
def _rate(call, X: np.ndarray, batch: int, seconds: float) -> tuple[float, int]:
    """(rows per second, calls): median time of repeated calls on batches of `batch` rows of X, after a warm-up."""
    reps = math.ceil(batch / max(len(X), 1))
    rows = np.tile(X, (reps, 1))[:batch] if not isinstance(X, pd.DataFrame) else pd.concat([X] * reps).iloc[:batch]
    for _ in range(3):
        call(rows)
    times, start = [], time.perf_counter()
    while (time.perf_counter() - start < seconds or len(times) < 10) and len(times) < 2_000:
        t0 = time.perf_counter()
        call(rows)
        times.append(time.perf_counter() - t0)
    return batch / float(np.median(times)), len(times)


def _servable(run_id: str, pipeline, store) -> dict[str, object]:
    """variant -> OnnxModel (one thread) for every variant with an ONNX file, else the model as trained."""
    from core.compress._export import OnnxModel
    from core.compress._serve import _export_original
    from core.compress._store import SERVING_FILE, artifact_path, compress_folder
    info_path = compress_folder(run_id, store) / SERVING_FILE
    variants = json.loads(info_path.read_text())["variants"] if info_path.exists() else {}
    if not variants:
        path, _output = _export_original(pipeline, store.folder(run_id) / "serve")
        return {"original": OnnxModel(path, 1)}
    return {name: OnnxModel(artifact_path(run_id, v["file"], store), 1) for name, v in variants.items()}


def measure_throughput(run_id: str, pipeline, X_rows: pd.DataFrame, store=None, seconds: float = 0.3,
                       progress=None) -> list[Throughput]:
    """Rows per second on one core for every servable variant, at batch 1 and 64, on the run's own rows."""
    from threadpoolctl import threadpool_limits

    from core.compress._timing import cpu_info
    from core.runs import RunStore
    store = store or RunStore()
    prep = pipeline.named_steps["prep"]
    if len(X_rows) == 0:
        raise ModelDeckError("There are no rows to time the model on.")
    X_model = np.ascontiguousarray(np.asarray(prep.transform(X_rows), dtype=np.float32))
    models = _servable(run_id, pipeline, store)
    cpu = cpu_info().get("model", "")
    out = []
    with threadpool_limits(limits=1):
        prep_rate = {b: _rate(prep.transform, X_rows, b, seconds)[0] for b in BATCHES}
        for i, (name, model) in enumerate(models.items()):
            if progress:
                progress(i / len(models), f"Timing {name}")
            for b in BATCHES:
                rate, calls = _rate(model.raw, X_model, b, seconds)
                both = 1.0 / (1.0 / rate + 1.0 / prep_rate[b])       # cleaning then the model, one after the other
                out.append(Throughput(name, b, rate, both, calls, cpu))
    return out


def save_throughput(run_id: str, throughputs: list[Throughput], store=None) -> None:
    from core.compress._store import compress_folder
    folder = compress_folder(run_id, store)
    folder.mkdir(parents=True, exist_ok=True)
    atomic_write(folder / THROUGHPUT_FILE, json.dumps([asdict(t) for t in throughputs], indent=1).encode())


def load_throughput(run_id: str, store=None) -> list[Throughput] | None:
    """The saved measurement of a run, or None before the first one."""
    from core.compress._store import compress_folder
    path = compress_folder(run_id, store) / THROUGHPUT_FILE
    if not path.exists():
        return None
    return [Throughput(**row) for row in json.loads(path.read_text())]
