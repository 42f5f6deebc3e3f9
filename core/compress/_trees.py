"""The variants of a random-forest or gradient-boosting run: fewer and shallower trees, refitted on copies with
the same training rows, beside the original ensemble; and each of them through skl2onnx + ONNX Runtime with its
parity (none, with a note, when skl2onnx has no converter)."""
from __future__ import annotations

import copy
from pathlib import Path

from core.common import ModelDeckError, Progress, no_progress
from core.compress._data import CompressData, CompressOptions
from core.compress._export import export_sklearn
from core.compress._variant import Variant, _attach_onnx, _sklearn_variant, _slug

TREE_FAMILIES = ("random_forest", "hist_gb")


def _tree_settings(est) -> tuple[str, str, int]:
    """(name of the tree-count parameter, name of the depth parameter, current count)."""
    if hasattr(est, "n_estimators"):
        return "n_estimators", "max_depth", int(est.n_estimators)
    return "max_iter", "max_depth", int(est.max_iter)


def tree_variants(pipeline, data: CompressData, options: CompressOptions, folder: Path,
                  progress: Progress = no_progress) -> list[Variant]:
    """Fewer and shallower trees (refitted copies on the same rows) next to the original ensemble."""
    from sklearn.base import clone

    original = copy.deepcopy(pipeline.named_steps["model"])
    if "n_jobs" in original.get_params():
        original.set_params(n_jobs=options.threads)
    count_name, depth_name, count = _tree_settings(original)
    variants = [_sklearn_variant("original ensemble", "baseline", original, data, folder,
                                 f"{count} trees, depth {original.get_params()[depth_name] or 'unlimited'}")]
    counts = sorted({max(2, count // 10), max(2, count // 4), max(2, count // 2)} - {count})
    grid = [(c, None) for c in counts] + [(count, 8), (count, 4), (counts[0] if counts else count, 4)]
    y = data.y_train if data.head.task == "classification" else data.y_train * data.head.y_scale + data.head.y_mean
    for i, (c, depth) in enumerate(grid):
        progress(i / len(grid), f"Refitting with {c} trees, depth {depth or 'as before'}")
        est = clone(original).set_params(**{count_name: c})
        if depth is not None:
            est.set_params(**{depth_name: depth})
        est.fit(data.X_train, y if data.head.task == "regression" else data.head.classes[y])
        depth_text = f"depth ≤ {depth}" if depth else "same depth"
        variants.append(_sklearn_variant(f"{c} trees, {depth_text}", "trees", est, data, folder,
                                         "refitted on the same training rows"))
    return variants


def tree_onnx_variants(variants: list[Variant], data: CompressData, options: CompressOptions,
                       folder: Path) -> list[Variant]:
    """Each ensemble through skl2onnx + ONNX Runtime, parity checked (none, with a note, when no converter exists)."""
    out = []
    for v in variants:
        try:
            path = export_sklearn(v.module, data.X_train.shape[1], folder / f"{_slug(v.name)}.onnx")
        except ModelDeckError as exc:
            v.note += f"; no ONNX export ({exc})"
            return out
        model = _attach_onnx(v, path, data, options.threads)
        out.append(Variant(f"{v.name} (ONNX Runtime)", v.method, "ONNX Runtime", model.raw, path, v.params,
                           v.nonzero, scaled=False, note="skl2onnx export of the same trees", onnx_file=path.name,
                           parity=v.parity))
    return out
