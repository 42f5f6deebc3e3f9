"""Fitted pipelines through skops, loaded with exactly the types recorded when they were written.

skops trusts the plain scikit-learn and NumPy types by itself and names every other type a file needs. When the
run store writes `model.skops` it records those names with the run (in the database, beside the run's record);
loading accepts a file only if it needs nothing more than what was recorded — no prefix such as "numpy." or "core."
is trusted wholesale. Runs written before the record existed are held to `LEGACY_TYPES`, the exact list of types
earlier ModelDeck versions could write. Classes that moved since (`MOVED_CLASSES`) are mapped onto their new homes.
"""
from __future__ import annotations

import importlib
import sys
import types
from pathlib import Path

from core.common import ModelDeckError

#: Every type beyond skops' own trusted set that a pipeline saved by an older ModelDeck (before the types were
#: recorded with each run) may hold: the estimators of each model family, our transformers under their old and new
#: module paths, and what scikit-learn's calibrated, tree, boosting and neighbour models carry inside.
LEGACY_TYPES = frozenset({
    "core.models.torch_mlp.TorchMLPClassifier", "core.models.torch_mlp.TorchMLPRegressor",
    "core.models.torch_cnn.TorchCNNClassifier",
    "core.prep.IQRClipper", "core.data._prep.IQRClipper", "core.data._prep.DateParts",
    "numpy.dtype",
    "sklearn.calibration._CalibratedClassifier", "sklearn.calibration._SigmoidCalibration",
    "sklearn.ensemble._hist_gradient_boosting.predictor.TreePredictor",
    "sklearn.metrics._dist_metrics.EuclideanDistance64", "sklearn.neighbors._kd_tree.KDTree",
    "sklearn.tree._tree.Tree",
})

#: Classes that moved when core/ became one package per capability: skops records a class by the module it lived
#: in when the run was saved, so these old paths are mapped onto the classes' new homes.
MOVED_CLASSES = {"core.prep": ("core.data", ("IQRClipper",))}


def dump_pipeline(pipeline) -> tuple[bytes, list[str]]:
    """The pipeline as skops bytes, and the exact types beyond skops' defaults that loading it will need."""
    import skops.io as sio
    blob = sio.dumps(pipeline)
    return blob, sorted(sio.get_untrusted_types(data=blob))


def load_pipeline(path: Path, recorded: list[str] | None, run_id: str):
    """Load `path` if it needs no type beyond `recorded` (None: a run from before types were recorded)."""
    import skops.io as sio
    needed = sio.get_untrusted_types(file=path)
    allowed = LEGACY_TYPES if recorded is None else frozenset(recorded)
    unexpected = sorted(set(needed) - allowed)
    if unexpected:
        raise ModelDeckError(f"The saved model of run '{run_id}' needs types that were not recorded when it was "
                             f"saved ({', '.join(unexpected)}), so it was not opened. The file may have been "
                             "replaced; train the run again.")
    _alias_moved_modules(needed)
    return sio.load(path, trusted=needed)


def _alias_moved_modules(type_names: list[str]) -> None:
    for old, (new, names) in MOVED_CLASSES.items():
        if old not in sys.modules and any(name.startswith(old + ".") for name in type_names):
            module, home = types.ModuleType(old), importlib.import_module(new)
            for name in names:
                setattr(module, name, getattr(home, name))
            sys.modules[old] = module
