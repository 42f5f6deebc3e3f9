"""Data sets: everything between a table and a model's inputs.

- A ``Dataset`` is a table with one target column, its task (classification or regression) and a type
  for every other column; only numeric and categorical columns are model inputs (``Dataset.features``).
  ``fingerprint`` is a content hash that names uploads and keys caches.
- Built-ins: ``BUILTINS`` (key -> title, description), ``load_builtin("iris")``; ``DEFAULT_DATASET``.
- Uploads: ``read_csv(bytes)`` detects encoding, separator and header (``CsvRead``); ``clean_types`` /
  ``detect_column_types`` read numbers, dates and identifiers out of text; ``infer_task`` suggests a task;
  ``make_dataset`` validates a table and target into a ``Dataset``; ``save_upload``, ``load_dataset``
  (``"builtin:<name>"`` or ``"upload:<fingerprint>"``) and ``list_uploads`` keep them under MODELDECK_HOME.
  Anything a user can get wrong ends as a ``core.common.ModelDeckError`` that says what to do.
- Before training: ``profile`` (``Profile``) and ``preview_cleaning`` (``CleaningPreview``) for the Data page;
  ``PrepOptions`` -> ``build_preprocessor`` (a ColumnTransformer fitted on training rows only, with
  ``IQRClipper``) and ``split_dataset`` (``Split``).
- Labels: human names and units for columns (``load_labels``, ``save_labels``, ``display_names``), applied
  at display time to sentences and figures (``relabel_text``, ``relabel_figure``).
- Charts: ``core.data.charts`` (profile, target, distributions, correlations, cleaning before/after, images).
"""
from core.data._builtin import BUILTINS, DEFAULT_DATASET, load_builtin
from core.data._csv import MAX_UPLOAD_BYTES, CsvRead, read_csv
from core.data._dataset import COLUMN_TYPES, TASKS, USABLE_TYPES, Dataset
from core.data._labels import display_names, load_labels, relabel_figure, relabel_text, save_labels
from core.data._prep import IMPUTERS, SCALERS, IQRClipper, PrepOptions, Split, build_preprocessor, split_dataset
from core.data._profile import CleaningPreview, Profile, preview_cleaning, profile
from core.data._types import clean_types, detect_column_types, infer_task
from core.data._uploads import list_uploads, load_dataset, save_upload
from core.data._validate import make_dataset

__all__ = [
    # the data set
    "Dataset", "TASKS", "COLUMN_TYPES", "USABLE_TYPES",
    # built-ins
    "BUILTINS", "DEFAULT_DATASET", "load_builtin",
    # uploads: reading, typing, validation, storage
    "read_csv", "CsvRead", "MAX_UPLOAD_BYTES", "clean_types", "detect_column_types", "infer_task", "make_dataset",
    "save_upload", "load_dataset", "list_uploads",
    # profile, cleaning pipeline, split
    "profile", "Profile", "preview_cleaning", "CleaningPreview",
    "PrepOptions", "IMPUTERS", "SCALERS", "IQRClipper", "build_preprocessor", "split_dataset", "Split",
    # labels
    "load_labels", "save_labels", "display_names", "relabel_text", "relabel_figure",
]
