"""The short list: only the variants a one-minute story shows, measured as honestly as the full table.

`compress_shortlist` builds the model as trained, the same model through ONNX Runtime, and the one or two
compressed versions most likely to ship (int8 through ONNX Runtime for a network; a quarter of the trees, and both
ensembles through ONNX Runtime, for a tree ensemble); exports a network with the fastest exporter whose parity
check passes (`export_torch_fastest`: TorchScript, ~0.05 s, else the dynamo exporter, ~1.3 s); times every variant
on a quiet moment (a `before_timing` hook lets a caller finish concurrent work first); shows with `story_versions`
the fastest honest deployment (`fastest_honest`: the best batch-1 time whose score on the validation rows held out
of the training split moved by at most a point, whichever engine; the test rows choose nothing) and the smallest file within the same budget and checks "same reasons" with SHAP on the versions it shows only. The table is saved as the run's
compression result, so the Compress page and the report show what the story measured.
"""
from __future__ import annotations

import copy
import time
from pathlib import Path
from typing import Callable

import numpy as np

from core.common import ModelDeckError, Progress, no_progress
from core.compress._data import CompressData, CompressOptions, prepare_data
from core.compress._export import (INPUT_NAME, OnnxModel, _path_beside, _quiet_logs, export_sklearn, export_torch,
                                   parity, quantize_onnx_dynamic)
from core.compress._pick import _change_key, fastest_honest, slow_notes
from core.compress._reasons import rank_agreement, reasons_note, shap_values
from core.compress._store import _save_result, _work_folder, compress_folder
from core.compress._table import TradeoffTable, _add_ratios, _score_rows
from core.compress._timing import cpu_info, time_variants
from core.compress._trees import TREE_FAMILIES, _tree_settings
from core.compress._variant import Variant, _attach_onnx, _sklearn_variant, _slug, _torch_variant

#: how much the validation-row score may drop (in points) for a variant to be chosen
LOSS_BUDGET_POINTS = 1.0


def export_torch_fastest(net, n_features: int, path: Path, X_check: np.ndarray,
                         classification: bool) -> tuple[Path, str]:
    """(ONNX file, exporter used): the TorchScript exporter when its output matches the network's on `X_check`
    (within PARITY_TOLERANCE, same labels), else the dynamo exporter (`export_torch`)."""
    import torch

    path = Path(path)
    example = torch.zeros(2, int(n_features), dtype=torch.float32)
    try:
        with _path_beside(path) as tmp, _quiet_logs(), torch.no_grad():
            torch.onnx.export(net.eval(), (example,), str(tmp), dynamo=False, input_names=[INPUT_NAME],
                              output_names=["output"], dynamic_axes={INPUT_NAME: {0: "batch"}, "output": {0: "batch"}},
                              opset_version=17)
        with torch.inference_mode():
            reference = net(torch.from_numpy(np.ascontiguousarray(X_check, dtype=np.float32))).float().numpy()
        if parity(reference, OnnxModel(path, 1).raw(X_check), classification).ok:
            return path, "TorchScript"
    except Exception:  # noqa: BLE001 - any failure of the quick exporter: use the one that always works here
        pass
    return export_torch(net, n_features, path), "dynamo"


def story_versions(table: TradeoffTable, max_loss_points: float = LOSS_BUDGET_POINTS) -> tuple[dict | None,
                                                                                             dict | None]:
    """The versions the story shows: (the fastest honest deployment, `fastest_honest`: the best batch-1 time within
    the budget on the validation rows, whichever engine, the original included; the smallest file within the same
    budget when it is smaller than that one, else None). The test rows choose nothing."""
    fastest = fastest_honest(table, max_loss_points)
    change = _change_key(table)
    ok = [r for r in table.rows if r.get(change, -np.inf) >= -max_loss_points]
    smallest = min(ok, key=lambda r: (r["bytes"], r["b1_ms"])) if ok else None
    if fastest is None or smallest is None or smallest["bytes"] >= fastest["bytes"] / 1.1:
        smallest = None
    return fastest, smallest


def _network_variants(pipeline, data: CompressData, options: CompressOptions, folder: Path,
                      progress: Progress) -> list[Variant]:
    """The network as trained, through ONNX Runtime, and int8 through ONNX Runtime."""
    model = pipeline.named_steps["model"]
    net = getattr(model, "net_", None)
    if net is None:
        raise ModelDeckError("This run's model has no PyTorch network to compress.")
    net = copy.deepcopy(net).cpu().eval()
    original = _torch_variant("as trained (PyTorch)", "baseline", net, folder, "the trained network as is")
    progress(0.1, "Saving the network in a standard format")
    fp32, exporter = export_torch_fastest(net, data.X_train.shape[1], folder / "as_trained.onnx", data.X_test,
                                          data.head.task == "classification")
    _attach_onnx(original, fp32, data, options.threads)
    progress(0.5, "Storing its numbers as small whole numbers")
    int8 = quantize_onnx_dynamic(fp32, folder / "int8_dynamic_onnx_runtime.onnx")
    out = [original]
    for name, method, path, note in (("fp32 (ONNX Runtime)", "baseline", fp32, f"{exporter} export, same network"),
                                     ("int8 dynamic (ONNX Runtime)", "quantize", int8,
                                      "ORT quantize_dynamic, weights int8")):
        session = OnnxModel(path, options.threads)
        out.append(Variant(name, method, "ONNX Runtime", session.raw, path, original.params, original.nonzero,
                           note=note, onnx_file=path.name))
    return out


def _tree_variants(pipeline, data: CompressData, options: CompressOptions, folder: Path,
                   progress: Progress) -> list[Variant]:
    """The ensemble as trained and a quarter of its trees refitted on the same rows, each also through ONNX Runtime
    (when skl2onnx converts it)."""
    from sklearn.base import clone

    original = copy.deepcopy(pipeline.named_steps["model"])
    if "n_jobs" in original.get_params():
        original.set_params(n_jobs=options.threads)
    count_name, _depth, count = _tree_settings(original)
    fewer = max(2, count // 4)
    sk = [_sklearn_variant("as trained", "baseline", original, data, folder, f"{count} trees")]
    progress(0.2, f"Refitting with {fewer} trees instead of {count}")
    y = (data.y_train * data.head.y_scale + data.head.y_mean if data.head.task == "regression"
         else data.head.classes[data.y_train])
    small = clone(original).set_params(**{count_name: fewer}).fit(data.X_train, y)
    sk.append(_sklearn_variant(f"{fewer} trees", "trees", small, data, folder, "refitted on the same training rows"))
    out = list(sk)
    for i, v in enumerate(sk):
        progress(0.5 + 0.4 * i / len(sk), f"Saving '{v.name}' in a standard format")
        try:
            path = export_sklearn(v.module, data.X_train.shape[1], folder / f"{_slug(v.name)}.onnx")
        except ModelDeckError as exc:   # no converter for this ensemble: none for its smaller copy either
            for other in sk:
                other.note += f"; no ONNX export ({exc})"
            break
        _attach_onnx(v, path, data, options.threads)
        session = OnnxModel(path, options.threads)
        out.append(Variant(f"{v.name} (ONNX Runtime)", "baseline" if v is sk[0] else v.method, "ONNX Runtime",
                           session.raw, path, v.params, v.nonzero, scaled=False, note="skl2onnx export of the same trees",
                           onnx_file=path.name, parity=v.parity))
    return out


def compress_shortlist(run_id: str, *, pipeline=None, split=None, store=None, progress: Progress | None = None,
                       before_timing: Callable[[], None] | None = None, shap_check: bool = True,
                       options: CompressOptions | None = None) -> TradeoffTable:
    """Build, time and score the short list of a run's variants; save it as the run's compression result.

    Only the versions `story_versions` shows (and the original they are compared with) get the SHAP "same reasons"
    check; the table's last note names them.
    """
    from core.runs import RunStore

    store = store or RunStore()
    options = (options or CompressOptions(rounds=3, repeats=10)).check()
    progress = progress or no_progress
    with store.job("compress", run_id, f"Compressing run {run_id} (short list)"):
        from threadpoolctl import threadpool_limits
        with threadpool_limits(limits=options.threads):   # native threads fixed, as for the timed engines
            return _shortlist(run_id, pipeline, split, store, progress, before_timing, shap_check, options)


def _shortlist(run_id, pipeline, split, store, progress, before_timing, shap_check, options) -> TradeoffTable:
    run = store.get(run_id)
    family = run.spec.get("family", "")
    if family != "mlp" and family not in TREE_FAMILIES:
        raise ModelDeckError(f"The short list covers the neural network and tree ensembles; this run is '{family}'.")
    start = time.perf_counter()
    if pipeline is None or split is None:
        from core.data import PrepOptions, load_dataset, split_dataset
        pipeline = pipeline if pipeline is not None else store.load_model(run_id)
        split = split if split is not None else split_dataset(load_dataset(run.dataset_key),
                                                              PrepOptions.from_dict(run.prep))
    data = prepare_data(pipeline, split)
    folder = compress_folder(run_id, store)
    work = _work_folder(folder)
    build = _network_variants if family == "mlp" else _tree_variants
    variants = build(pipeline, data, options, work, _part(progress, 0.0, 0.5))
    if before_timing is not None:
        progress(0.5, "Waiting for a quiet moment to time the models")
        before_timing()
    timing = time_variants(variants, data.X_test, threads=options.threads, rounds=options.rounds,
                           repeats=options.repeats, progress=_part(progress, 0.55, 0.75))
    progress(0.75, "Scoring every version on the test rows")
    rows = _score_rows(variants, data, timing)
    metric = "accuracy" if data.head.task == "classification" else "r2"
    table = _table(run_id, family, data, metric, _add_ratios(rows, metric), rows, options, start)
    shown = [r for r in story_versions(table) if r is not None and r is not rows[0]]
    if shap_check and shown:
        progress(0.8, "Checking that the version shown still has the same reasons")
        for row in shown:
            _same_reasons(rows[0], row, variants[0], next(v for v in variants if v.name == row["variant"]), data,
                          options.seed)
    table.notes = slow_notes(table) + [note for note in [reasons_note(table)] if note]
    table.notes.append("Short list for the story: " + (", ".join(f"'{r['variant']}'" for r in shown) + " shown"
                                                       if shown else "the original stays fastest"))
    table.seconds = time.perf_counter() - start
    _save_result(work, folder, table, data, variants)
    progress(1.0, f"Measured {len(rows)} versions in {table.seconds:.1f} s")
    return table


def _same_reasons(original_row: dict, row: dict, original: Variant, chosen: Variant, data: CompressData,
                  seed: int) -> None:
    """SHAP rank agreement of the chosen variant with the original, both explained by the method the chosen variant
    allows (the original is not explained a second time by its own method: nothing reads that)."""
    values, method = shap_values(chosen, data, seed=seed)
    reference = shap_values(original, data, seed=seed, method=method)[0]
    rho, low, high = rank_agreement(reference, values, seed)
    row.update(shap_rank_corr=rho, shap_rank_low=low, shap_rank_high=high, shap_method=method, shap_rows=len(values))
    original_row.update(shap_rank_corr=1.0, shap_rank_low=1.0, shap_rank_high=1.0, shap_method=method,
                        shap_rows=len(values))


def _part(progress: Progress, lo: float, hi: float) -> Progress:
    return lambda f, m="", *_: progress(lo + (hi - lo) * min(max(float(f), 0.0), 1.0), m)


def _table(run_id, family, data, metric, baseline, rows, options, start) -> TradeoffTable:
    import onnxruntime
    import torch
    return TradeoffTable(run_id=run_id, family=family, task=data.head.task, metric=metric, baseline=baseline,
                         rows=rows, threads=options.threads, cpu=cpu_info(), options=options.to_dict() | {"shortlist": True},
                         test_rows=len(data.X_test), val_rows=0 if data.X_val is None else len(data.X_val),
                         seconds=time.perf_counter() - start,
                         torch_version=torch.__version__, ort_version=onnxruntime.__version__)
