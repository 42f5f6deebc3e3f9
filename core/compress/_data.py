"""What to try and what to try it on: `CompressOptions` (the knobs and their checks), `Head` (raw outputs to
predictions) and `CompressData` (the run's split after its own fitted preprocessing, as float32 rows, with
validation rows held out of the training split to choose a variant on)."""
from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np
import pandas as pd

from core.common import DEFAULT_SEED, ModelDeckError


@dataclass(frozen=True)
class CompressOptions:
    """What to try and how to measure it. Defaults keep one run of the page under about a minute."""

    sparsities: tuple[float, ...] = (0.5, 0.8)      # global unstructured magnitude pruning
    keep_fraction: float = 0.5                        # structured pruning: share of hidden neurons kept
    student_hidden: tuple[int, ...] = (16,)           # distillation student widths
    temperature: float = 4.0
    alpha: float = 0.7                                # weight of the soft (teacher) loss
    label_fraction: float = 1.0                       # share of training labels the students may use
    finetune_epochs: int = 20
    distill_epochs: int = 60
    half: bool = True                                 # fp16 / bf16 weight variants
    shap_check: bool = True                           # does compression change the model's reasons? (SHAP ranks)
    onnx: bool = True                                 # ONNX export, parity and ONNX Runtime rows
    threads: int = 1                                  # fixed intra-op threads for every engine
    rounds: int = 5                                   # timing rounds (variants alternated in each)
    repeats: int = 20                                 # batch-1 calls per variant per round (fewer for slow ones)
    seed: int = DEFAULT_SEED

    def to_dict(self) -> dict:
        return {k: list(v) if isinstance(v, tuple) else v for k, v in asdict(self).items()}

    @classmethod
    def from_dict(cls, data: dict | None) -> "CompressOptions":
        known = {k: tuple(v) if isinstance(v, list) else v for k, v in (data or {}).items()
                 if k in cls.__dataclass_fields__}
        return cls(**known)

    def check(self) -> "CompressOptions":
        if any(not 0.0 < s < 1.0 for s in self.sparsities):
            raise ModelDeckError("Sparsities are shares of weights to remove: pick values between 0.3 and 0.9.")
        if not 0.05 <= self.keep_fraction < 1.0:
            raise ModelDeckError("Structured pruning keeps between 5% and 99% of the hidden neurons.")
        if not self.student_hidden or any(w < 1 for w in self.student_hidden):
            raise ModelDeckError("The student needs at least one hidden layer with at least 1 unit, e.g. 16.")
        if not 0.0 <= self.alpha <= 1.0 or self.temperature <= 0:
            raise ModelDeckError("Distillation needs a temperature above 0 and a mix α between 0 and 1.")
        if not 0.01 <= self.label_fraction <= 1.0:
            raise ModelDeckError("The label budget is a share between 1% and 100% of the training rows.")
        if self.threads < 1 or self.rounds < 1 or self.repeats < 1:
            raise ModelDeckError("Threads, rounds and repeats must be at least 1.")
        return self


@dataclass
class Head:
    """Turns a variant's raw outputs into predictions: logits/probabilities -> labels, scaled values -> values."""

    task: str
    classes: np.ndarray | None = None
    y_mean: float = 0.0
    y_scale: float = 1.0

    def predict(self, out: np.ndarray, scaled: bool = True) -> np.ndarray:
        out = np.asarray(out, dtype=np.float64).reshape(len(out), -1)
        if self.task == "classification":
            return self.classes[out.argmax(axis=1)]
        return out[:, 0] * self.y_scale + self.y_mean if scaled else out[:, 0]


@dataclass
class CompressData:
    """The run's split after its own (fitted) preprocessing, as float32 rows. `X_val` / `y_val` are validation rows
    carved from the training split: no variant is fitted on them, and the pick reads its score change there, so the
    test rows choose nothing."""

    X_train: np.ndarray
    y_train: np.ndarray      # class indices (classification) or standardised targets (regression, MLP)
    X_test: np.ndarray
    y_test: np.ndarray       # raw test labels / values
    head: Head
    X_val: np.ndarray | None = None
    y_val: np.ndarray | None = None     # raw validation labels / values


def _dense32(X) -> np.ndarray:
    X = X.toarray() if hasattr(X, "toarray") else X
    return np.ascontiguousarray(np.asarray(X, dtype=np.float32))


#: share of the training rows held out to choose a variant (at least MIN_VALIDATION_ROWS when there are enough)
VALIDATION_SHARE = 0.2
MIN_VALIDATION_ROWS = 20


def validation_rows(y, seed: int = DEFAULT_SEED) -> np.ndarray:
    """Boolean mask of the training rows held out to choose a variant: a seeded, stratified (when every class has
    two rows) VALIDATION_SHARE of them; none when the split is too small to spare MIN_VALIDATION_ROWS."""
    from sklearn.model_selection import train_test_split
    n = len(y)
    size = max(MIN_VALIDATION_ROWS, int(round(VALIDATION_SHARE * n)))
    mask = np.zeros(n, dtype=bool)
    if n < 3 * MIN_VALIDATION_ROWS:
        return mask
    labels = pd.Series(np.asarray(y)).astype(str)
    counts = labels.value_counts()
    stratify = labels if len(counts) <= size and counts.min() >= 2 and len(counts) < n - size else None
    _fit, held = train_test_split(np.arange(n), test_size=size, random_state=seed, stratify=stratify)
    mask[held] = True
    return mask


def prepare_data(pipeline, split, seed: int = DEFAULT_SEED) -> CompressData:
    """Transform the run's train/test rows with the pipeline's fitted preprocessing (nothing is refitted) and hold
    out validation rows from the training split (`validation_rows`) that no variant is fitted on."""
    prep, model = pipeline.named_steps["prep"], pipeline.named_steps["model"]
    X_all, X_test = _dense32(prep.transform(split.X_train)), _dense32(prep.transform(split.X_test))
    y_all, y_test = np.asarray(split.y_train), np.asarray(split.y_test)
    held = validation_rows(y_all, seed)
    X_train, y_train = X_all[~held], y_all[~held]
    if hasattr(model, "classes_"):
        head = Head("classification", classes=np.asarray(model.classes_))
        y_enc = pd.Index(head.classes).get_indexer(y_train).astype(np.int64)
    else:
        mean = float(np.ravel(getattr(model, "y_mean_", [0.0]))[0])
        scale = float(np.ravel(getattr(model, "y_scale_", [1.0]))[0])
        head = Head("regression", y_mean=mean, y_scale=scale)
        y_enc = ((y_train.astype(np.float64) - mean) / scale).astype(np.float32)
    X_val, y_val = (X_all[held], y_all[held]) if held.any() else (None, None)
    return CompressData(np.ascontiguousarray(X_train), y_enc, X_test, y_test, head, X_val, y_val)
