"""Data sets: built-in and uploaded tables, CSV reading, type inference, profile, the cleaning pipeline, labels."""
from core.data._datasets import (TASKS, COLUMN_TYPES, USABLE_TYPES, CHURN_CSV, DEFAULT_DATASET, MAX_UPLOAD_BYTES, BUILTINS, Dataset, frame_fingerprint, load_builtin, CsvRead, read_csv, clean_types, detect_column_types, infer_task, make_dataset, save_upload, load_dataset, list_uploads)
from core.data._labels import (DEFAULT_LABELS, load_labels, save_labels, display_names, relabel_text, relabel_figure)
from core.data._prep import (IMPUTERS, SCALERS, PrepOptions, IQRClipper, Split, build_preprocessor, split_dataset, Profile, profile, CleaningPreview, preview_cleaning)
