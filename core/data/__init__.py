"""Data sets: everything between a table and a model's inputs.

- A ``Dataset`` is a table with one target column, its task (classification or regression) and a type
  for every other column; only numeric and categorical columns are model inputs (``Dataset.features``).
  ``fingerprint`` is a content hash that names uploads and keys caches.
- Built-ins: ``BUILTINS`` (key -> title, description), ``load_builtin("iris")``; ``DEFAULT_DATASET``.
- Uploads: ``read_csv(bytes)`` detects encoding, separator and header (``CsvRead``) within ``upload_limits()``;
  ``clean_types`` / ``detect_column_types`` read numbers, dates and identifiers out of text; ``infer_task``
  suggests a task; ``make_dataset`` validates a table and target into a ``Dataset``; ``save_upload``, ``load_dataset``
  (``"builtin:<name>"`` or ``"upload:<fingerprint>"``) and ``list_uploads`` keep them under MODELDECK_HOME.
  Anything a user can get wrong ends as a ``core.common.ModelDeckError`` that says what to do.
- Every column's fate: ``column_plan(dataset, prep)`` -> ``ColumnFate`` per column (used as a number, one-hot,
  frequent one-hot, target-encoded, date parts, or left out, with the reason), by stated rules the user can
  override (``PrepOptions.column_uses``); ``plan_table`` for the page, ``inputs_of`` / ``left_out``.
- Before training: ``profile`` (``Profile``) and ``preview_cleaning`` (``CleaningPreview``) for the Data page;
  ``PrepOptions`` -> ``build_preprocessor`` (a ColumnTransformer over the plan's columns, fitted on training
  rows only, with ``IQRClipper`` / ``DateParts``) and ``split_dataset`` (``Split``). Infinite numbers are
  treated as missing when a data set is made.
- Labels: human names and units for columns (``load_labels``, ``save_labels``, ``display_names``), per owner,
  applied at display time to sentences and figures (``relabel_text``, ``relabel_figure``); names for classes that
  are bare codes (``bare_codes``, ``load_class_names``, ``save_class_names``), shown through ``class_name``.
- Charts: ``core.data.charts`` (profile, target, distributions, correlations, cleaning before/after, images).
- Images: an image set is a ``Dataset`` with ``image_shape`` and one column per pixel (``is_image``,
  ``image_geometry``, ``images_of``, ``make_image_dataset``); built-ins ``IMAGE_BUILTINS`` (``"images:mnist"``…,
  loaded by ``load_dataset``), ``image_set_options``; a zip of class folders read without trusting it
  (``read_image_zip`` -> ``ImageZipRead``, ``IMAGE_SIZES``) and stored by ``save_image_upload``; ``resize_images``;
  seeded per-picture augmentation (``Augment``, ``augment_batch``, ``augment_preview``). Charts in
  ``core.data.image_charts``.
"""
# Imported now: plain Python and NumPy (every page reads these). The rest load pandas or scikit-learn, so they are
# imported on first use (`_LAZY`): importing this package, as every page does, stays light.
from core.data._builtin import BUILTINS, DEFAULT_DATASET, load_builtin
from core.data._labels import (bare_codes, class_name, display_names, load_class_names, load_labels, relabel_figure,
                               relabel_text, save_class_names, save_labels)
from core.data._options import IMPUTERS, SCALERS, PrepOptions
from core.data._augment import FLIPS, Augment, augment_batch
from core.data._augment import preview as augment_preview
from core.data._imagezip import SIZES as IMAGE_SIZES
from core.data._imagezip import ImageZipRead, decode_image, read_image_zip

__all__ = [
    # the data set
    "Dataset", "TASKS", "COLUMN_TYPES", "USABLE_TYPES",
    # built-ins
    "BUILTINS", "DEFAULT_DATASET", "load_builtin",
    # uploads: reading, typing, validation, storage
    "read_csv", "CsvRead", "MAX_UPLOAD_BYTES", "upload_limits", "clean_types", "detect_column_types", "infer_task", "make_dataset",
    "integer_identifier", "near_unique", "free_text",
    "save_upload", "load_dataset", "list_uploads",
    # every column's fate (used as / left out because), with the user's overrides
    "column_plan", "ColumnFate", "plan_table", "inputs_of", "left_out", "USES", "ALLOWED",
    # profile, cleaning pipeline, split
    "profile", "Profile", "preview_cleaning", "CleaningPreview",
    "PrepOptions", "IMPUTERS", "SCALERS", "IQRClipper", "DateParts", "build_preprocessor", "native_category_count",
    "split_dataset", "Split",
    # labels
    "load_labels", "save_labels", "display_names", "relabel_text", "relabel_figure", "bare_codes", "class_name",
    "load_class_names", "save_class_names",
    # images: sets, zip uploads, augmentation
    "IMAGE_BUILTINS", "is_image", "image_geometry", "images_of", "flat_pixels", "pixel_columns", "pixel_range",
    "make_image_dataset", "image_set_options", "save_image_upload", "resize_images", "read_image_zip",
    "ImageZipRead", "decode_image", "IMAGE_SIZES", "Augment", "FLIPS", "augment_batch", "augment_preview",
]

#: name -> private module, for the names imported on first use (see the imports above)
_LAZY = {name: module for module, names in {
    "_columns": ("ALLOWED", "USES", "ColumnFate", "column_plan", "inputs_of", "left_out", "plan_table"),
    "_csv": ("MAX_UPLOAD_BYTES", "CsvRead", "read_csv", "upload_limits"),
    "_dataset": ("COLUMN_TYPES", "TASKS", "USABLE_TYPES", "Dataset"),
    "_types": ("clean_types", "detect_column_types", "free_text", "infer_task", "integer_identifier", "near_unique"),
    "_uploads": ("list_uploads", "load_dataset", "save_upload"),
    "_validate": ("make_dataset",),
    "_images": ("IMAGE_BUILTINS", "flat_pixels", "image_geometry", "image_set_options", "images_of", "is_image",
                "make_image_dataset", "pixel_columns", "pixel_range", "resize_images", "save_image_upload"),
    "_prep": ("DateParts", "IQRClipper", "Split", "build_preprocessor", "native_category_count", "split_dataset"),
    "_profile": ("CleaningPreview", "Profile", "preview_cleaning", "profile"),
}.items() for name in names}


def __getattr__(name: str):
    if name not in _LAZY:
        raise AttributeError(f"module 'core.data' has no attribute '{name}'")
    import importlib
    value = getattr(importlib.import_module(f"core.data.{_LAZY[name]}"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY))
