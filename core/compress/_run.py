"""Compressing a run end to end: build every variant of its model (MLP or tree ensemble), export them to ONNX,
time them, score them on the run's test split, check their reasons with SHAP, and save the `TradeoffTable` and
the artifacts with the run. The run's fitted pipeline is never modified."""
from __future__ import annotations

import time
from pathlib import Path

from core.common import ModelDeckError, Progress, no_progress
from core.compress._data import CompressData, CompressOptions, prepare_data
from core.compress._mlp import mlp_variants, onnx_variants
from core.compress._pick import slow_notes
from core.compress._reasons import add_shap_agreement, reasons_note
from core.compress._store import _save_result, _work_folder, compress_folder
from core.compress._table import TradeoffTable, _add_ratios, _score_rows
from core.compress._timing import cpu_info, time_variants
from core.compress._trees import TREE_FAMILIES, tree_onnx_variants, tree_variants
from core.compress._variant import Variant


def supported(family: str) -> bool:
    """Whether compression covers a model family (the PyTorch MLP and CNN, and the tree ensembles)."""
    return family in ("mlp", "cnn") or family in TREE_FAMILIES


def _build_variants(family: str, pipeline, data: CompressData, options: CompressOptions, folder: Path,
                    stage) -> list[Variant]:
    """Every variant of the run's model, the original first; ONNX Runtime rows when `options.onnx`."""
    if family in ("mlp", "cnn"):
        if family == "cnn":   # issue 13: the CNN's own variants; its ONNX rows are built like the MLP's
            from core.compress._cnn import cnn_variants
            variants = cnn_variants(pipeline, data, options, folder, stage(0.0, 0.45))
        else:
            variants = mlp_variants(pipeline, data, options, folder, stage(0.0, 0.45))
        extra = onnx_variants(variants[0], variants, data, options, folder, stage(0.45, 0.55)) if options.onnx else []
        return variants[:1] + extra + variants[1:]
    variants = tree_variants(pipeline, data, options, folder, stage(0.0, 0.45))
    return variants + (tree_onnx_variants(variants, data, options, folder) if options.onnx else [])


def compress_run(run_id: str, options: CompressOptions | None = None, *, pipeline=None, split=None, store=None,
                 progress: Progress | None = None) -> TradeoffTable:
    """Build, export and measure every variant of a run's model; save the table and artifacts with the run.

    `pipeline` and `split` may be passed (e.g. from a cache); the pipeline is never modified. The work is recorded
    as a job with a heartbeat in the run store, so a compression that was killed reads 'failed' wherever it ran.
    """
    from core.runs import RunStore

    options = (options or CompressOptions()).check()
    store = store or RunStore()
    with store.job("compress", run_id, f"Compressing run {run_id}"):   # a heartbeat while it works (core.runs)
        return _compress(run_id, options, pipeline, split, store, progress or no_progress)


def _compress(run_id: str, options: CompressOptions, pipeline, split, store, progress: Progress) -> TradeoffTable:
    from core.data import PrepOptions, load_dataset, split_dataset
    run = store.get(run_id)
    fam = run.spec.get("family", "")
    if not supported(fam):
        raise ModelDeckError(f"Compression covers the neural networks (PyTorch MLP and CNN) and tree ensembles (random "
                             f"forest, gradient boosting); this run is '{fam}'. Train one of those on the Train page.")
    start = time.perf_counter()
    pipeline = pipeline if pipeline is not None else store.load_model(run_id)
    split = split if split is not None else split_dataset(load_dataset(run.dataset_key), PrepOptions.from_dict(run.prep))
    data = prepare_data(pipeline, split)
    folder = compress_folder(run_id, store)
    work = _work_folder(folder)

    def stage(lo, hi):
        return lambda f, m, *_: progress(lo + (hi - lo) * min(max(f, 0.0), 1.0), m)

    variants = _build_variants(fam, pipeline, data, options, work, stage)
    timing = time_variants(variants, data.X_test, threads=options.threads, rounds=options.rounds,
                           repeats=options.repeats, progress=stage(0.55, 0.95))
    progress(0.96, "Scoring every variant on the test split")
    rows = _score_rows(variants, data, timing)
    if options.shap_check and fam != "cnn":   # a CNN's reasons are checked on the picture (Explain page), not here
        progress(0.97, "Checking whether each variant still has the same reasons (SHAP ranks)")
        add_shap_agreement(rows, variants, data, seed=options.seed)
    metric = "accuracy" if data.head.task == "classification" else "r2"
    baseline = _add_ratios(rows, metric)
    import onnxruntime
    import torch
    table = TradeoffTable(run_id=run_id, family=fam, task=data.head.task, metric=metric, baseline=baseline, rows=rows,
                          threads=options.threads, cpu=cpu_info(), options=options.to_dict(), test_rows=len(data.X_test),
                          val_rows=0 if data.X_val is None else len(data.X_val),
                          seconds=time.perf_counter() - start, torch_version=torch.__version__,
                          ort_version=onnxruntime.__version__)
    table.notes = slow_notes(table) + [note for note in [reasons_note(table)] if note]
    _save_result(work, folder, table, data, variants)
    progress(1.0, f"Measured {len(rows)} variants in {table.seconds:.0f} s")
    return table
