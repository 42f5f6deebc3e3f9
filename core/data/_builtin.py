"""The data sets that ship with ModelDeck: five scikit-learn tables and the synthetic churn CSV.

Each loads from disk without network and goes through ``make_dataset`` like an upload, so built-ins
and uploads are validated and typed the same way.
"""
from __future__ import annotations

from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING

from core.common import ModelDeckError

if TYPE_CHECKING:  # pandas loads when a data set does, not with this module (the table below is read by every page)
    import pandas as pd

    from core.data._dataset import Dataset

CHURN_CSV = Path(__file__).resolve().parents[2] / "data" / "churn.csv"
DEFAULT_DATASET = "breast_cancer"

BUILTINS: dict[str, tuple[str, str]] = {
    "breast_cancer": (
        "Breast cancer (Wisconsin)",
        "569 tumour biopsies described by 30 cell measurements; is the tumour malignant or benign?",
    ),
    "wine": (
        "Wine cultivars",
        "178 Italian wines described by 13 chemical measurements; which of 3 cultivars made it?",
    ),
    "iris": (
        "Iris flowers",
        "150 iris flowers described by petal and sepal sizes in cm; which of 3 species is it?",
    ),
    "digits": (
        "Handwritten digits (8×8)",
        "1,797 handwritten digits as 8×8 grey images (64 pixel values 0-16); which digit 0-9 is it?",
    ),
    "diabetes": (
        "Diabetes progression",
        "442 diabetes patients described by age, sex, BMI, blood pressure and 6 blood tests; "
        "how far does the disease progress in one year?",
    ),
    "churn": (
        "Telecom customer churn (synthetic)",
        "3,020 invented telecom customers (synthetic data with known causes); will the customer leave?",
    ),
}


def _sklearn_frame(bunch, target: str, labels: list[str] | None) -> pd.DataFrame:
    import numpy as np
    import pandas as pd

    frame = pd.DataFrame(np.asarray(bunch.data), columns=list(bunch.feature_names))
    y = np.asarray(bunch.target)
    frame[target] = [labels[int(v)] for v in y] if labels is not None else y.astype(float)
    return frame


def _load_named_classes(loader: str, target: str) -> tuple[pd.DataFrame, str]:
    """A scikit-learn classification set whose classes have names (``sklearn.datasets.<loader>``)."""
    from sklearn import datasets

    bunch = getattr(datasets, loader)()
    return _sklearn_frame(bunch, target, [str(n) for n in bunch.target_names]), target


def _load_digits() -> tuple[pd.DataFrame, str]:
    import numpy as np
    import pandas as pd
    from sklearn.datasets import load_digits

    bunch = load_digits()
    pixels = [f"px_{r}_{c}" for r in range(8) for c in range(8)]
    frame = pd.DataFrame(np.asarray(bunch.data, dtype=float), columns=pixels)
    frame["digit"] = [str(int(v)) for v in bunch.target]
    return frame, "digit"


_DIABETES_NAMES = {
    "bp": "blood_pressure",
    "s1": "total_cholesterol",
    "s2": "ldl",
    "s3": "hdl",
    "s4": "cholesterol_hdl_ratio",
    "s5": "log_triglycerides",
    "s6": "blood_sugar",
}


def _load_diabetes() -> tuple[pd.DataFrame, str]:
    from sklearn.datasets import load_diabetes

    frame = _sklearn_frame(load_diabetes(scaled=False), "disease_progression", None)
    return frame.rename(columns=_DIABETES_NAMES), "disease_progression"


def _load_churn() -> tuple[pd.DataFrame, str]:
    if not CHURN_CSV.exists():
        raise ModelDeckError(
            f"The churn data file is missing ({CHURN_CSV}). Rebuild it with `python data/make_churn.py`."
        )
    import pandas as pd

    return pd.read_csv(CHURN_CSV), "churned"


_LOADERS = {
    "breast_cancer": partial(_load_named_classes, "load_breast_cancer", "diagnosis"),
    "wine": partial(_load_named_classes, "load_wine", "cultivar"),
    "iris": partial(_load_named_classes, "load_iris", "species"),
    "digits": _load_digits,
    "diabetes": _load_diabetes,
    "churn": _load_churn,
}


def load_builtin(name: str) -> Dataset:
    """One of ``BUILTINS`` (``"iris"`` or ``"builtin:iris"``), read from disk without network."""
    from core.data._validate import make_dataset

    short = name.removeprefix("builtin:")
    if short not in BUILTINS:
        raise ModelDeckError(f"There is no built-in data set called '{short}'. Choose one of: {', '.join(BUILTINS)}.")
    frame, target = _LOADERS[short]()
    title, description = BUILTINS[short]
    image_shape = (8, 8) if short == "digits" else None
    # Pixel columns stay numeric even when constant (corner pixels), so images keep 64 pixels.
    column_types = {c: "numeric" for c in frame.columns if c != target} if image_shape else None
    return make_dataset(
        frame,
        target,
        task="regression" if short == "diabetes" else "classification",
        name=title,
        key=f"builtin:{short}",
        description=description,
        image_shape=image_shape,
        synthetic=short == "churn",
        column_types=column_types,
    )
