"""ONNX export with parity checks, and ONNX Runtime sessions and quantization.

PyTorch networks go through `torch.onnx.export`'s default (dynamo, torch.export-based) exporter, which needs
`onnxscript`; it writes one self-contained `.onnx` file here (`external_data=False`), and artifact sizes still
count any `.onnx.data` file next to a model. scikit-learn models go through `skl2onnx` where it has a converter.
A dynamically quantized PyTorch model cannot be exported: the int8 ONNX variants are made by quantizing the
fp32 ONNX file with ONNX Runtime (dynamic, and static QDQ with calibration rows).

Heavy modules (torch, onnx, onnxruntime, skl2onnx) are imported inside the functions that need them.
"""
from __future__ import annotations

import contextlib
import io
import logging
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import numpy as np

from core.common import ModelDeckError, atomic_write

INPUT_NAME = "input"
PARITY_TOLERANCE = 1e-4


def artifact_files(path: Path) -> list[Path]:
    """An artifact and, when there is one, the ONNX external-data file beside it."""
    path = Path(path)
    extra = Path(str(path) + ".data")
    return [path, extra] if extra.exists() else [path]


def artifact_bytes(path: Path) -> int:
    """Bytes of an artifact on disk, including an ONNX external-data file beside it."""
    return sum(f.stat().st_size for f in artifact_files(path))


@contextlib.contextmanager
def _path_beside(path: Path) -> Iterator[Path]:
    """A temporary file name beside `path` for writers that only take a file name (the ONNX exporter and ONNX
    Runtime's quantizers); it replaces `path` only if the block ends without an error."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    try:
        yield tmp
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


@contextlib.contextmanager
def _quiet_logs():
    """Silence the exporters' and quantizers' progress prints, root-logger advice and deprecation warnings."""
    import warnings

    root = logging.getLogger()
    level = root.level
    root.setLevel(logging.ERROR)
    try:
        with contextlib.redirect_stdout(io.StringIO()), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            yield
    finally:
        root.setLevel(level)


def export_torch(net, n_features: int, path: Path) -> Path:
    """Export a float network (input: float32 rows, any batch size) to one ONNX file, atomically."""
    import torch

    path = Path(path)
    example = torch.zeros(2, int(n_features), dtype=torch.float32)
    with _path_beside(path) as tmp:
        try:
            with _quiet_logs(), torch.no_grad():
                torch.onnx.export(net.eval(), (example,), str(tmp), dynamo=True, input_names=[INPUT_NAME],
                                  output_names=["output"], dynamic_shapes=({0: torch.export.Dim("batch")},),
                                  external_data=False, optimize=True, verbose=False)
        except Exception as exc:  # the exporter raises many types; say which network failed
            raise ModelDeckError(f"ONNX export of this network failed: {exc}") from exc
    return path


def export_sklearn(estimator, n_features: int, path: Path) -> Path:
    """Export a fitted scikit-learn estimator (on preprocessed float rows) with skl2onnx; ModelDeckError if unsupported."""
    from skl2onnx import to_onnx
    from skl2onnx.common.data_types import FloatTensorType

    from core.models import has_category_splits
    if has_category_splits(estimator):      # skl2onnx reads numeric thresholds only: its trees would be wrong
        raise ModelDeckError(f"skl2onnx cannot convert {type(estimator).__name__} that splits on categories itself")
    path = Path(path)
    options = {id(estimator): {"zipmap": False}} if hasattr(estimator, "predict_proba") else None
    try:
        model = to_onnx(estimator, initial_types=[(INPUT_NAME, FloatTensorType([None, int(n_features)]))],
                        options=options, target_opset={"": 17, "ai.onnx.ml": 3})
    except Exception as exc:  # skl2onnx raises RuntimeError/NotImplementedError/... for missing converters
        reason = str(exc).splitlines()[0][:160]
        raise ModelDeckError(f"skl2onnx could not convert {type(estimator).__name__}: {reason}") from exc
    atomic_write(path, model.SerializeToString())
    return path


def quantize_onnx_dynamic(src: Path, dst: Path) -> Path:
    """ONNX Runtime dynamic int8 quantization (weights int8, activations quantized on the fly)."""
    from onnxruntime.quantization import QuantType, quantize_dynamic

    with _path_beside(dst) as tmp, _quiet_logs():
        quantize_dynamic(str(src), str(tmp), weight_type=QuantType.QInt8)
    return Path(dst)


def quantize_onnx_static(src: Path, dst: Path, calibration: np.ndarray, batch: int = 32) -> Path:
    """ONNX Runtime static int8 quantization (QDQ format), calibrated on rows of training data."""
    from onnxruntime.quantization import CalibrationDataReader, QuantFormat, QuantType, quantize_static

    rows = np.ascontiguousarray(calibration, dtype=np.float32)

    class _Reader(CalibrationDataReader):
        def __init__(self):
            self.batches = iter([{INPUT_NAME: rows[i:i + batch]} for i in range(0, len(rows), batch)])

        def get_next(self):
            return next(self.batches, None)

    with _path_beside(dst) as tmp, _quiet_logs():
        quantize_static(str(src), str(tmp), _Reader(), quant_format=QuantFormat.QDQ,
                        activation_type=QuantType.QInt8, weight_type=QuantType.QInt8, per_channel=False)
    return Path(dst)


class OnnxModel:
    """An ONNX Runtime session with a fixed thread count; `raw(X)` returns the model's float output."""

    def __init__(self, path: Path, threads: int = 1):
        import onnxruntime as ort

        options = ort.SessionOptions()
        options.intra_op_num_threads = int(threads)
        options.inter_op_num_threads = 1
        options.log_severity_level = 3
        self.path = Path(path)
        self.session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
        outputs = self.session.get_outputs()
        # skl2onnx classifiers output (label, probabilities): use the float scores
        self.output_index = next((i for i, o in enumerate(outputs) if "float" in o.type), 0)
        self.output_name = outputs[self.output_index].name

    @property
    def n_features(self) -> int | None:
        dim = self.session.get_inputs()[0].shape[-1]
        return dim if isinstance(dim, int) else None

    def raw(self, X: np.ndarray) -> np.ndarray:
        out = self.session.run([self.output_name], {INPUT_NAME: np.ascontiguousarray(X, dtype=np.float32)})[0]
        return out.reshape(len(X), -1) if out.ndim == 1 else out


@dataclass(frozen=True)
class Parity:
    """How closely an ONNX file reproduces its source model on the same rows."""

    max_abs_diff: float
    labels_equal: float      # share of rows with the same predicted label (classification) or 1.0 (regression)
    rows: int

    @property
    def ok(self) -> bool:
        return self.max_abs_diff <= PARITY_TOLERANCE and self.labels_equal == 1.0


def parity(reference: np.ndarray, onnx_out: np.ndarray, classification: bool) -> Parity:
    """Compare the source model's outputs with ONNX Runtime's on the same rows."""
    reference = np.asarray(reference, dtype=np.float64).reshape(len(reference), -1)
    onnx_out = np.asarray(onnx_out, dtype=np.float64).reshape(len(onnx_out), -1)
    diff = float(np.max(np.abs(reference - onnx_out))) if reference.size else 0.0
    same = float(np.mean(reference.argmax(1) == onnx_out.argmax(1))) if classification and len(reference) else 1.0
    return Parity(diff, same, len(reference))
