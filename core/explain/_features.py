"""What SHAP values are about: the columns (FeatureMap) and the number explained (OutputSpec).

Every explainer works on what the model step really sees, the output of the pipeline's "prep"
ColumnTransformer (scaled numbers, one 0/1 column per category). SHAP values are additive, so the
values of a category's one-hot columns are summed back into one value for the original column
(`FeatureMap.group`); numeric columns map one to one.

Which output is explained (stated on every chart, additivity checked against exactly that output):
- Tree SHAP: random forests explain the class probability (their trees average leaf frequencies);
  gradient boosting its raw margin, the log-odds (two classes) or the per-class score before the softmax.
- Linear SHAP: the log-odds / class scores.
- Deep SHAP and Gradient SHAP: the network's logits; for two classes their difference, the log-odds.
- Permutation / Kernel SHAP: the class probability, or the predicted value for regression.
For two classes only the positive class is explained (the other is its mirror image).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from core.common import ModelDeckError, softmax
from core.explain._methods import is_agnostic


@dataclass(frozen=True)
class FeatureMap:
    """Which original column each transformed column comes from (one-hot groups share an owner)."""

    columns: list[str]
    transformed: list[str]
    owner: np.ndarray            # (m,) index into columns
    categorical: list[str]

    def _grouping(self) -> np.ndarray:
        """(m, p) 0/1 matrix: transformed column -> the original column it comes from."""
        grouping = np.zeros((len(self.transformed), len(self.columns)))
        grouping[np.arange(len(self.transformed)), self.owner] = 1.0
        return grouping

    def group(self, values: np.ndarray) -> np.ndarray:
        """(n, m, k) values per transformed column -> (n, p, k) per original column (sums over one-hot groups)."""
        return np.einsum("nmk,mp->npk", values, self._grouping())

    def group_square(self, values: np.ndarray) -> np.ndarray:
        """(n, m, m, k) interaction values -> (n, p, p, k)."""
        grouping = self._grouping()
        return np.einsum("nabk,ap,bq->npqk", values, grouping, grouping)


def _outputs_per_column(step, n_columns: int) -> list[int]:
    """How many output columns a fitted transformer makes from each of its input columns."""
    from sklearn.preprocessing import OneHotEncoder, TargetEncoder
    steps = [s for _, s in step.steps] if hasattr(step, "steps") else [step]
    for part in steps:      # a step that makes several columns from each input (date parts, multi-class target codes)
        if hasattr(part, "outputs_per_column_"):
            return list(part.outputs_per_column_)
        if isinstance(part, TargetEncoder) and part.target_type_ == "multiclass":
            return [len(part.classes_)] * n_columns
    last = steps[-1]
    if isinstance(last, OneHotEncoder):
        infrequent = getattr(last, "infrequent_categories_", None) or [None] * n_columns
        return [len(cats) - (len(inf) - 1 if inf is not None else 0) for cats, inf in zip(last.categories_, infrequent)]
    return [1] * n_columns


def feature_map(prep) -> FeatureMap:
    """The FeatureMap of a fitted ColumnTransformer (numeric columns 1:1, one-hot columns grouped)."""
    names = [str(n) for n in prep.get_feature_names_out()]
    columns, owner, categorical = [], [], []
    for name, step, cols in prep.transformers_:
        if name == "remainder" or step == "drop" or len(cols) == 0:
            continue
        for col, count in zip(cols, _outputs_per_column(step, len(cols))):
            owner += [len(columns)] * count
            columns.append(str(col))
            if name.startswith("cat"):      # "cat", and "cat_frequent" / "cat_target" (core.data's encoder rule)
                categorical.append(str(col))
    if len(owner) != len(names):
        raise ModelDeckError("The model's preprocessing makes columns ModelDeck cannot trace back to the data set's "
                             "columns, so SHAP values cannot be shown per column.")
    return FeatureMap(columns, names, np.asarray(owner, dtype=int), categorical)


@dataclass(frozen=True)
class OutputSpec:
    """The number SHAP explains. explained = (native @ reduce) * scale + offset (offset for outputs only)."""

    kind: str                      # "probability" | "log-odds" | "class score" | "value"
    names: list[str]               # one per explained output
    classes: list[str] | None      # all classes (classification)
    reduce: np.ndarray             # (K_native, k)
    scale: float = 1.0
    offset: float = 0.0

    def apply(self, native: np.ndarray, with_offset: bool) -> np.ndarray:
        out = (native @ self.reduce) * self.scale
        return out + self.offset if with_offset else out

    def label(self, index: int = 0) -> str:
        name = self.names[index]
        if self.kind == "probability":
            return f"probability of '{name}'"
        if self.kind == "log-odds":
            return f"log-odds of '{name}'"
        if self.kind == "class score":
            return f"score of '{name}' (log-odds scale, before the softmax)"
        return f"predicted {name}"

    def proba(self, native: np.ndarray) -> np.ndarray | None:
        """Class probabilities from the native outputs (n, K_native) — no extra model call."""
        if self.classes is None:
            return None
        if self.kind == "probability":
            return native
        if native.shape[1] == 1:                         # one log-odds column for classes_[1]
            p1 = 1.0 / (1.0 + np.exp(-native[:, 0]))
            return np.column_stack([1.0 - p1, p1])
        return softmax(native)


def _binary_reduce(classes: list[str], positive: str, n_native: int) -> np.ndarray:
    pos = classes.index(positive)
    if n_native == 1:                                    # native = log-odds of classes[1]
        return np.array([[1.0 if pos == 1 else -1.0]])
    reduce = np.zeros((n_native, 1))
    reduce[pos, 0] = 1.0
    return reduce


def output_spec(model, method: str, task: str, target: str) -> OutputSpec:
    """What number the chosen method explains for this model (see the module docstring)."""
    if task != "classification":
        scale, offset = 1.0, 0.0
        if method in ("deep", "gradient"):
            scale, offset = float(np.ravel(model.y_scale_)[0]), float(np.ravel(model.y_mean_)[0])
        return OutputSpec("value", [target], None, np.ones((1, 1)), scale, offset)
    from core.evaluate import default_positive_label
    classes = [str(c) for c in model.classes_]
    if is_agnostic(method) or (method == "tree" and not hasattr(model, "_predictors")):
        native_kind = "probability"                      # forests average leaf class frequencies
    else:
        native_kind = "score"                            # raw margin / logits
    binary = len(classes) == 2
    if native_kind == "probability":
        n_native = len(classes)
    else:
        n_native = 1 if binary and method in ("tree", "linear") else len(classes)
    if binary:
        positive = default_positive_label(classes)
        reduce = _binary_reduce(classes, positive, n_native)
        if native_kind == "score" and n_native == 2:     # logit_pos - logit_neg = log-odds
            reduce[1 - classes.index(positive), 0] = -1.0
        return OutputSpec("probability" if native_kind == "probability" else "log-odds", [positive], classes, reduce)
    return OutputSpec("probability" if native_kind == "probability" else "class score", classes, classes,
                      np.eye(len(classes)))
