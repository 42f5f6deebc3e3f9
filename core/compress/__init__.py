"""Smaller and faster models, measured honestly.

`compress_run(run_id, CompressOptions(...))` takes a run's PyTorch MLP or CNN (or random forest / gradient boosting)
and builds variants from copies of it — int8 and fp16/bf16 (`quantize_int8`, `half_precision`), unstructured and
structured pruning (`prune_unstructured`, `prune_structured`), distilled students beside the same student trained
without a teacher (`distill`), fewer and shallower trees — exports them to ONNX with a parity check, times them at
batch 1 and 256 with fixed threads, scores them on the run's test split, checks with SHAP whether their reasons
changed, and saves a `TradeoffTable` with the artifacts in the run's folder (`load_result`, `artifact_path`).
`pick_variant` chooses what to ship under a size / latency / accuracy budget and `fastest_honest` what to ship by
default (the best measured batch-1 latency, whichever engine runs it, within a point on the training rows);
`headline`, `slow_notes`, `int8_note` and `reasons_note` say what the table means. `load_served` / `create_app` serve one variant over HTTP through ONNX
Runtime (`python -m core serve`). What serving costs: `measure_throughput` (rows per second per core at batch 1 and
64, saved with `save_throughput`) and `serving_cost` / `cost_table` (per million predictions and per month at a
volume and an hourly price). `compress_shortlist` measures only the few variants the one-minute story shows
(`story_versions`: the fastest honest deployment and the smallest file within the same budget). Figures are in
`core.compress.charts`.

Importing this package is light: torch, onnx, onnxruntime, skl2onnx, shap and fastapi load when first used.
"""
from core.compress._cost import (DEFAULT_PER_DAY, DEFAULT_PRICE_PER_HOUR, ServingCost, Throughput, cleaning_share,
                                 cost_headline, cost_table, load_throughput, measure_throughput, save_throughput, serving_cost)
from core.compress._data import VALIDATION_SHARE, CompressData, CompressOptions, Head, prepare_data, validation_rows
from core.compress._distill import distill, label_budget
from core.compress._export import (PARITY_TOLERANCE, OnnxModel, Parity, artifact_bytes, export_sklearn, export_torch,
                                   parity, quantize_onnx_dynamic, quantize_onnx_static)
from core.compress._fit import fit_net
from core.compress._pick import (fastest_honest, headline, int8_note, pareto_front, pick_variant, selection_note,
                                 slow_notes, times)
from core.compress._prune import prune_structured, prune_unstructured
from core.compress._quantize import (DEFAULT_QUANT_BACKEND, QUANT_BACKENDS, frozen_graph, half_precision,
                                     quantize_int8)
from core.compress._reasons import rank_agreement, reasons_note, shap_importance, shap_values
from core.compress._run import compress_run, supported
from core.compress._serve import ServedModel, create_app, load_served
from core.compress._shortlist import LOSS_BUDGET_POINTS, compress_shortlist, export_torch_fastest, story_versions
from core.compress._store import RESULT_FILE, artifact_path, compress_folder, load_result
from core.compress._table import TradeoffTable
from core.compress._timing import quant_engine, time_variants
from core.compress._variant import Variant, count_params

__all__ = [
    # what to try, and on what
    "CompressOptions", "CompressData", "Head", "prepare_data", "validation_rows", "VALIDATION_SHARE",
    # the methods (each works on a copy)
    "QUANT_BACKENDS", "DEFAULT_QUANT_BACKEND", "quantize_int8", "quant_engine", "frozen_graph", "half_precision",
    "prune_unstructured",
    "prune_structured", "label_budget", "distill", "fit_net",
    # variants and their measurement
    "Variant", "count_params", "time_variants", "shap_importance", "shap_values", "rank_agreement",
    # the whole run, its table and what it says
    "supported", "compress_run", "TradeoffTable", "pareto_front", "pick_variant", "fastest_honest", "headline",
    "selection_note", "int8_note", "slow_notes",
    "reasons_note", "times",
    # the story's short list: only what it shows, the fastest exporter that passes parity, the fastest honest pick
    "compress_shortlist", "export_torch_fastest", "story_versions", "LOSS_BUDGET_POINTS",
    # storage
    "RESULT_FILE", "compress_folder", "load_result", "artifact_path",
    # ONNX export, parity and ONNX Runtime
    "export_torch", "export_sklearn", "quantize_onnx_dynamic", "quantize_onnx_static", "OnnxModel", "Parity",
    "parity", "PARITY_TOLERANCE", "artifact_bytes",
    # serving
    "ServedModel", "load_served", "create_app",
    # what serving costs
    "Throughput", "measure_throughput", "save_throughput", "load_throughput", "ServingCost", "serving_cost",
    "cost_table", "cost_headline", "cleaning_share", "DEFAULT_PER_DAY", "DEFAULT_PRICE_PER_HOUR",
]
