"""Built-in and uploaded data sets as one ``Dataset`` object (frame, target, task, column types).

Everything a user can get wrong with a file (encoding, separator, header, a target with one
class, ...) ends as a ``ModelDeckError`` whose message says what to do, never a traceback.
"""
from __future__ import annotations

import csv
import hashlib
import io
import json
import os
import re
import tempfile
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from core.common import home
from core.common import ModelDeckError

TASKS = ("classification", "regression")
COLUMN_TYPES = ("numeric", "categorical", "date", "identifier", "constant", "empty")
USABLE_TYPES = ("numeric", "categorical")
CHURN_CSV = Path(__file__).resolve().parents[2] / "data" / "churn.csv"
DEFAULT_DATASET = "breast_cancer"
MAX_UPLOAD_BYTES = 100 * 2**20  # larger files get a clear message (the browser uploader allows up to 250 MB)

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

_NUMERIC_SHARE = 0.95  # a text column this numeric becomes numeric
_DATE_SHARE = 0.90  # a text column this date-like becomes a date
_MAX_EXAMPLES = 3
_SNIFF_CHARS = 64 * 1024
_DELIMITERS = (",", ";", "\t", "|")
_DELIMITER_NAMES = {",": "comma (,)", ";": "semicolon (;)", "\t": "tab", "|": "pipe (|)"}
# Exact float parsing: pandas 3 does it by default and deprecates the argument.
_FLOAT_EXACT = {"float_precision": "round_trip"} if int(pd.__version__.split(".")[0]) < 3 else {}
_PREFERRED_ENCODINGS = ("cp1252", "latin_1", "iso8859_15")
_MAGIC = {
    b"\x89PNG": "a PNG image",
    b"GIF8": "a GIF image",
    b"\xff\xd8\xff": "a JPEG image",
    b"%PDF": "a PDF document",
    b"PK\x03\x04": "a ZIP archive or an Excel workbook (.xlsx); in Excel use File > Save As > CSV",
    b"\xd0\xcf\x11\xe0": "an old Excel workbook (.xls); in Excel use File > Save As > CSV",
    b"\x1f\x8b": "a gzip-compressed file; unzip it first",
    b"PAR1": "a Parquet file",
}


@dataclass(eq=False)
class Dataset:
    """A table ready for modelling: feature columns plus one target column.

    Treat ``frame`` as read-only: ``fingerprint`` is computed once and cached.
    """

    key: str
    name: str
    frame: pd.DataFrame
    target: str
    task: str
    column_types: dict[str, str]
    description: str
    image_shape: tuple[int, int] | None = None
    synthetic: bool = False
    notes: list[str] = field(default_factory=list)
    _fingerprint: str | None = field(default=None, init=False, repr=False)

    @property
    def features(self) -> list[str]:
        """Usable model inputs: numeric and categorical columns, in frame order."""
        return [c for c in self.frame.columns if c != self.target and self.column_types.get(c) in USABLE_TYPES]

    @property
    def numeric_features(self) -> list[str]:
        return [c for c in self.features if self.column_types[c] == "numeric"]

    @property
    def categorical_features(self) -> list[str]:
        return [c for c in self.features if self.column_types[c] == "categorical"]

    @property
    def X(self) -> pd.DataFrame:
        return self.frame[self.features]

    @property
    def y(self) -> pd.Series:
        return self.frame[self.target]

    @property
    def unused_columns(self) -> dict[str, str]:
        """Columns the models do not use, with the reason (identifier, date, constant, empty)."""
        return {c: t for c, t in self.column_types.items() if t not in USABLE_TYPES and c != self.target}

    @property
    def classes(self) -> list[str] | None:
        """Sorted class labels (numbers in numeric order), or None for regression."""
        if self.task != "classification":
            return None
        return _sorted_labels(self.frame[self.target].dropna().unique())

    @property
    def fingerprint(self) -> str:
        """First 16 hex chars of a sha256 over column names, cell values, target and task."""
        if self._fingerprint is None:
            self._fingerprint = frame_fingerprint(self.frame, self.target, self.task)
        return self._fingerprint


def frame_fingerprint(frame: pd.DataFrame, target: str, task: str) -> str:
    """Content hash that is the same in every process (pandas' hash uses a fixed key)."""
    digest = hashlib.sha256()
    digest.update(json.dumps([str(c) for c in frame.columns]).encode())
    digest.update(pd.util.hash_pandas_object(frame, index=False).to_numpy().tobytes())
    digest.update(f"|{target}|{task}".encode())
    return digest.hexdigest()[:16]


def _sorted_labels(values) -> list[str]:
    labels = [str(v) for v in values]
    try:
        return sorted(labels, key=float)
    except ValueError:
        return sorted(labels)


# --------------------------------------------------------------------------- built-ins


def _sklearn_frame(bunch, target: str, labels: list[str] | None) -> pd.DataFrame:
    frame = pd.DataFrame(np.asarray(bunch.data), columns=list(bunch.feature_names))
    y = np.asarray(bunch.target)
    frame[target] = [labels[int(v)] for v in y] if labels is not None else y.astype(float)
    return frame


def _load_breast_cancer() -> tuple[pd.DataFrame, str]:
    from sklearn.datasets import load_breast_cancer

    bunch = load_breast_cancer()
    return _sklearn_frame(bunch, "diagnosis", [str(n) for n in bunch.target_names]), "diagnosis"


def _load_wine() -> tuple[pd.DataFrame, str]:
    from sklearn.datasets import load_wine

    bunch = load_wine()
    return _sklearn_frame(bunch, "cultivar", [str(n) for n in bunch.target_names]), "cultivar"


def _load_iris() -> tuple[pd.DataFrame, str]:
    from sklearn.datasets import load_iris

    bunch = load_iris()
    return _sklearn_frame(bunch, "species", [str(n) for n in bunch.target_names]), "species"


def _load_digits() -> tuple[pd.DataFrame, str]:
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
    return pd.read_csv(CHURN_CSV), "churned"


_LOADERS = {
    "breast_cancer": _load_breast_cancer,
    "wine": _load_wine,
    "iris": _load_iris,
    "digits": _load_digits,
    "diabetes": _load_diabetes,
    "churn": _load_churn,
}


def load_builtin(name: str) -> Dataset:
    """One of ``BUILTINS`` (``"iris"`` or ``"builtin:iris"``), read from disk without network."""
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


# --------------------------------------------------------------------------- CSV reading


@dataclass
class CsvRead:
    """A parsed CSV plus what was detected and what was changed on the way."""

    frame: pd.DataFrame
    delimiter: str
    encoding: str
    has_header: bool
    notes: list[str] = field(default_factory=list)

    @property
    def delimiter_name(self) -> str:
        return _DELIMITER_NAMES.get(self.delimiter, repr(self.delimiter))


def _mb(n_bytes: float) -> str:
    return f"{n_bytes / 2**20:.1f} MB"


def _check_size(data: bytes, filename: str, max_bytes: int) -> None:
    if len(data) > max_bytes:
        raise ModelDeckError(
            f"'{filename}' is {_mb(len(data))}; the limit is {_mb(max_bytes)}. "
            "Upload a smaller file, e.g. a sample of the rows or fewer columns."
        )
    if not data.strip():
        raise ModelDeckError(f"'{filename}' is empty. Upload a CSV file with a header row and data rows.")


def _check_not_binary(data: bytes, filename: str) -> None:
    for magic, kind in _MAGIC.items():
        if data.startswith(magic):
            raise ModelDeckError(f"'{filename}' is not a text file: it looks like {kind}. Upload a CSV file.")
    if b"\x00" in data[:_SNIFF_CHARS] and not data.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise ModelDeckError(
            f"'{filename}' is not a text file (it contains binary bytes). "
            "Upload a CSV file: plain text, one row per line, values separated by commas."
        )


def _decode(data: bytes, filename: str) -> tuple[str, str, list[str]]:
    """Text, encoding name and notes; UTF-8 first, then a detected encoding."""
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return data.decode("utf-16"), "utf-16", ["The file is UTF-16 text; it was converted."]
    try:
        return data.decode("utf-8-sig"), "utf-8", []
    except UnicodeDecodeError:
        pass
    encoding = _detect_encoding(data)
    if encoding is None:
        raise ModelDeckError(
            f"'{filename}' could not be read as text in any known encoding. "
            "Save it again as 'CSV UTF-8' and upload that file."
        )
    text = data.decode(encoding, errors="replace")
    notes = [
        f"The file is not UTF-8; it was read as {encoding}. "
        "Check that accented letters look right; if not, save it as 'CSV UTF-8'."
    ]
    if replaced := text.count("\ufffd"):
        notes.append(f"{replaced:,} character(s) could not be read in {encoding} and were replaced with '\ufffd'.")
    return text, encoding, notes


def _detect_encoding(data: bytes) -> str | None:
    """charset-normalizer's guess; Windows-1252 when the guess has no language evidence."""
    from charset_normalizer import from_bytes

    matches = from_bytes(data[: 4 * _SNIFF_CHARS])
    best = matches.best()
    if best is not None and best.coherence >= 0.1:
        # Short samples fit several code pages equally well; prefer the commonest (Excel's Western).
        close = [m for m in matches if m.chaos <= best.chaos + 0.01 and m.coherence >= best.coherence - 0.1]
        ties = {enc for m in close for enc in [m.encoding, *m.could_be_from_charset]}
        return next((enc for enc in _PREFERRED_ENCODINGS if enc in ties), best.encoding)
    for fallback in ("cp1252", "latin-1"):
        try:
            text = data.decode(fallback)
        except UnicodeDecodeError:
            continue
        if _control_share(text) < 0.01:
            return fallback
    return best.encoding if best is not None else None


def _control_share(text: str) -> float:
    sample = text[:_SNIFF_CHARS]
    controls = sum(1 for ch in sample if ord(ch) < 32 and ch not in "\t\r\n")
    return controls / max(len(sample), 1)


def _sample(text: str) -> str:
    """The first lines of the text (whole lines only) for sniffing."""
    if len(text) <= _SNIFF_CHARS:
        return text
    cut = text.rfind("\n", 0, _SNIFF_CHARS)
    return text[: cut if cut > 0 else _SNIFF_CHARS]


def _field_counts(sample: str, delimiter: str) -> list[int]:
    rows = csv.reader(io.StringIO(sample), delimiter=delimiter)
    try:
        return [len(row) for row in rows if row][:200]
    except csv.Error:
        return []


def _delimiter_score(sample: str, delimiter: str) -> tuple[float, int]:
    """(share of lines with the most common field count, that count) — consistency first."""
    counts = _field_counts(sample, delimiter)
    if not counts:
        return 0.0, 0
    mode = max(set(counts), key=counts.count)
    if mode < 2:
        return 0.0, mode
    return counts.count(mode) / len(counts), mode


def _detect_delimiter(sample: str) -> str:
    try:
        sniffed = csv.Sniffer().sniff(sample, delimiters="".join(_DELIMITERS)).delimiter
    except csv.Error:
        sniffed = None
    scores = {d: _delimiter_score(sample, d) for d in _DELIMITERS}
    best = max(_DELIMITERS, key=lambda d: scores[d])
    if sniffed in scores and scores[sniffed][1] >= 2 and scores[sniffed][0] >= scores[best][0]:
        return sniffed
    return best if scores[best][1] >= 2 else ","


_NUMBER = re.compile(r"^[+-]?(\d+([.,]\d*)?|[.,]\d+)([eE][+-]?\d+)?$")


def _is_number(text: str) -> bool:
    return bool(_NUMBER.match(text.strip()))


def _detect_header(first_row: list[str]) -> bool:
    """A first row holding a number is data, not column names (headers are words)."""
    return not any(_is_number(value) for value in first_row)


def _first_row(sample: str, delimiter: str) -> list[str]:
    for row in csv.reader(io.StringIO(sample), delimiter=delimiter):
        if row:
            return row
    return []


def _column_names(raw: list[str]) -> tuple[list[str], list[str]]:
    """Stripped, non-empty, unique names (duplicates get '.1', '.2'), plus notes."""
    names, notes, seen = [], [], set()
    for i, value in enumerate(raw):
        name = value.strip() or f"unnamed_{i + 1}"
        if not value.strip():
            notes.append(f"Column {i + 1} has no name; it is called '{name}'.")
        base, k = name, 0
        while name in seen:
            k += 1
            name = f"{base}.{k}"
        if name != base:
            notes.append(
                f"Column name '{base}' appears more than once; the copy at position {i + 1} was renamed '{name}'."
            )
        seen.add(name)
        names.append(name)
    return names, notes


def _decimal_comma(sample: str, delimiter: str) -> bool:
    return delimiter == ";" and re.search(r"(?<![\d.,])\d+,\d+(?![\d,])", sample) is not None


def _parse(text: str, delimiter: str, names: list[str], has_header: bool, decimal: str) -> pd.DataFrame:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return pd.read_csv(
                io.StringIO(text),
                sep=delimiter,
                header=0 if has_header else None,
                names=names,
                index_col=False,
                decimal=decimal,
                **_FLOAT_EXACT,
                skipinitialspace=True,
            )
    except pd.errors.ParserError as exc:
        raise ModelDeckError(_ragged_message(str(exc), delimiter, len(names))) from None
    except (ValueError, csv.Error, UnicodeError) as exc:
        raise ModelDeckError(f"The file could not be parsed as CSV ({exc}). Check it opens in a spreadsheet.") from None


def _ragged_message(error: str, delimiter: str, n_columns: int) -> str:
    name = _DELIMITER_NAMES[delimiter] if delimiter in _DELIMITER_NAMES else repr(delimiter)
    if quote := re.search(r"EOF inside string starting at row (\d+)", error):
        return (
            f'A double quote (") opened on line {int(quote.group(1)) + 1} is never closed. '
            "Close the quote or remove it, then upload again."
        )
    match = re.search(r"Expected (\d+) fields in line (\d+), saw (\d+)", error)
    if match:
        expected, line, saw = match.groups()
        return (
            f"Line {line} has {saw} values but the lines before it have {expected} "
            f"(separator: {name}). A value probably contains an unquoted {name}: "
            "put such values in double quotes, or fix that line."
        )
    return f"The rows do not all have {n_columns} values (separator: {name}): {error}. Fix the file and upload again."


def read_csv(
    data: bytes,
    filename: str = "upload.csv",
    max_bytes: int = MAX_UPLOAD_BYTES,
    delimiter: str | None = None,
) -> CsvRead:
    """Parse uploaded bytes: detect encoding, separator and header; explain every fix in notes."""
    _check_size(data, filename, max_bytes)
    _check_not_binary(data, filename)
    text, encoding, notes = _decode(data, filename)
    if not text.strip():
        raise ModelDeckError(f"'{filename}' is empty. Upload a CSV file with a header row and data rows.")
    if _control_share(text) > 0.01:
        raise ModelDeckError(
            f"'{filename}' does not look like a text file (many control characters). Upload a CSV file."
        )
    sample = _sample(text)
    delimiter = delimiter or _detect_delimiter(sample)
    first = _first_row(sample, delimiter)
    has_header = _detect_header(first)
    if has_header:
        names, name_notes = _column_names(first)
        notes += name_notes
    else:
        names = [f"column_{i + 1}" for i in range(len(first))]
        notes.append(f"The first row holds values, not names; columns are called column_1 … column_{len(first)}.")
    decimal = "," if _decimal_comma(sample, delimiter) else "."
    if decimal == ",":
        notes.append("Numbers use a decimal comma (e.g. 1,5); they were read as decimals.")
    frame = _parse(text, delimiter, names, has_header, decimal)
    _check_shape(frame, sample, delimiter, filename)
    return CsvRead(frame=frame, delimiter=delimiter, encoding=encoding, has_header=has_header, notes=notes)


def _check_shape(frame: pd.DataFrame, sample: str, delimiter: str, filename: str) -> None:
    if len(frame) == 0:
        columns = ", ".join(map(str, frame.columns[:8]))
        raise ModelDeckError(
            f"'{filename}' has column names ({columns}) but no data rows. Upload the file with its data."
        )
    if frame.shape[1] < 2:
        first_line = sample.strip().splitlines()[0][:80] if sample.strip() else ""
        tried = ", ".join(_DELIMITER_NAMES.values())
        raise ModelDeckError(
            f"Only one column was found in '{filename}' using the {_DELIMITER_NAMES.get(delimiter, repr(delimiter))} "
            f"as separator (also tried: {tried}). The first line reads: '{first_line}'. "
            "Save the file with commas between values; a data set needs a target and at least one input column."
        )


# --------------------------------------------------------------------------- column types


_ID_NAME = re.compile(r"^(id|key|uuid|guid|index|unnamed_\d+)$|[_\s\-.](id|key|uuid)$|^id[_\s\-.]", re.IGNORECASE)


def _looks_like_id_name(name: object) -> bool:
    text = str(name).strip()
    return bool(_ID_NAME.search(text) or re.search(r"[a-z]ID$", text) or text.startswith("Unnamed:"))


def _is_textual(series: pd.Series) -> bool:
    return not (
        pd.api.types.is_numeric_dtype(series)
        or pd.api.types.is_bool_dtype(series)
        or pd.api.types.is_datetime64_any_dtype(series)
    )


def _examples(values: pd.Series) -> str:
    shown = [repr(str(v)) for v in pd.unique(values)[:_MAX_EXAMPLES]]
    return ", ".join(shown)


_CURRENCY = r"[$€£¥]"
_THOUSANDS = re.compile(r"^[+-]?\d{1,3}(,\d{3})+(\.\d+)?$")


def _undecorate(text: pd.Series) -> pd.Series:
    """'$1,200' -> '1200', '45%' -> '45': symbols people type around numbers (done once per distinct value)."""
    uniques = pd.Series(text.unique(), dtype=object)
    cleaned = uniques.str.strip().str.replace(rf"^([+-]?){_CURRENCY}\s?|\s?{_CURRENCY}$|\s?%$", r"\1", regex=True)
    cleaned = cleaned.where(~cleaned.str.match(_THOUSANDS), cleaned.str.replace(",", "", regex=False))
    return text.map(dict(zip(uniques, cleaned)))


def _decorated(text: pd.Series) -> bool:
    return bool(text.astype(str).str.contains(rf"{_CURRENCY}|%|\d,\d{{3}}", regex=True).any())


def _head(series: pd.Series, n: int = 2000) -> pd.Series:
    return series.sample(n, random_state=0) if len(series) > n else series


def _numeric_share(values: pd.Series) -> float:
    text = values.astype(str)
    plain = pd.to_numeric(text.str.strip(), errors="coerce").notna()
    return float((plain | pd.to_numeric(_undecorate(text), errors="coerce").notna()).mean())


def _try_numeric(series: pd.Series) -> tuple[pd.Series, pd.Series] | None:
    """(numbers, cells that were not numbers) when >= 95% of filled cells parse, else None."""
    filled = series.dropna()
    if filled.empty or _numeric_share(_head(filled)) < _NUMERIC_SHARE - 0.05:
        return None  # cheap rejection of text columns on a sample
    text = filled.astype(str)
    parsed = pd.to_numeric(text.str.strip(), errors="coerce")
    if parsed.notna().mean() < _NUMERIC_SHARE:
        parsed = pd.to_numeric(_undecorate(text), errors="coerce")
    if parsed.notna().mean() < _NUMERIC_SHARE:
        return None
    bad = filled[parsed.isna()]
    return parsed.reindex(series.index).astype(float), bad


def _try_dates(series: pd.Series) -> pd.Series | None:
    """Datetimes when >= 90% of filled cells parse as dates, else None."""
    filled = series.dropna().astype(str).str.strip()
    # A date has a 4-digit year or three numbers (day, month, year); '1/2' and '10:30' are not dates.
    datelike = filled.str.contains(r"\d{4}") | (filled.str.count(r"\d+") >= 3)
    if filled.empty or datelike.mean() < _DATE_SHARE or not filled.str.contains(r"[-/.:\s]").mean() > 0.9:
        return None
    if len(filled) > 2000 and _try_dates(_head(filled)) is None:
        return None  # cheap rejection on a sample before parsing every cell
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for fmt, dayfirst in (("ISO8601", False), (None, False), (None, True)):
            try:
                parsed = pd.to_datetime(filled, errors="coerce", format=fmt, dayfirst=dayfirst)
            except (ValueError, TypeError, OverflowError):
                continue
            if parsed.notna().mean() >= _DATE_SHARE:
                return parsed.reindex(series.index)
    return None


def _classify_numeric(name: object, series: pd.Series) -> str:
    distinct = series.nunique(dropna=True)
    if _looks_like_id_name(name) and distinct >= 0.95 * series.notna().sum() and distinct > 20:
        return "identifier"
    return "numeric"


def _classify_text(name: object, series: pd.Series) -> str:
    filled = series.dropna()
    distinct = filled.nunique()
    if distinct > 20 and distinct >= 0.95 * len(filled):
        return "identifier"
    if _looks_like_id_name(name) and distinct >= 0.95 * len(filled) and distinct > 1:
        return "identifier"
    return "categorical"


def _clean_column(name: object, series: pd.Series) -> tuple[pd.Series, str, list[str]]:
    """A column converted to its best dtype, its type name and notes on the conversion."""
    notes: list[str] = []
    if _is_textual(series):
        numeric = _try_numeric(series)
        if numeric is not None:
            if _decorated(series.dropna()):
                notes.append(
                    f"Column '{name}': currency symbols, % signs or thousands separators were removed to read numbers."
                )
            series, bad = numeric
            if len(bad):
                notes.append(
                    f"Column '{name}' is numeric; {len(bad):,} cell(s) that are not numbers "
                    f"({_examples(bad)}) were treated as missing."
                )
        elif (dates := _try_dates(series)) is not None:
            series = dates
    if series.isna().all():
        return series, "empty", notes
    if series.nunique(dropna=True) == 1:
        return series, "constant", notes
    if pd.api.types.is_bool_dtype(series):
        return series, "categorical", notes
    if pd.api.types.is_datetime64_any_dtype(series):
        return series, "date", notes
    if pd.api.types.is_numeric_dtype(series):
        return series, _classify_numeric(name, series), notes
    return series, _classify_text(name, series), notes


def clean_types(frame: pd.DataFrame, target: str | None = None) -> tuple[pd.DataFrame, dict[str, str], list[str]]:
    """Convert mostly-numeric text to numbers and date text to dates; type every non-target column.

    Returns (converted copy of frame, column -> type, notes about conversions).
    """
    cleaned = frame.copy()
    types: dict[str, str] = {}
    notes: list[str] = []
    for name in frame.columns:
        if name == target:
            continue
        series, kind, column_notes = _clean_column(name, frame[name])
        cleaned[name] = series
        types[name] = kind
        notes += column_notes
    return cleaned, types, notes


def detect_column_types(frame: pd.DataFrame, target: str | None = None) -> dict[str, str]:
    """Column -> "numeric" | "categorical" | "date" | "identifier" | "constant" | "empty"."""
    return clean_types(frame, target)[1]


def infer_task(series: pd.Series) -> str:
    """Regression for fractional numbers or many distinct numbers, classification otherwise."""
    values = series.dropna()
    if _is_textual(values) and (numeric := _try_numeric(values)) is not None:
        values = numeric[0].dropna()
    if values.empty or pd.api.types.is_bool_dtype(values) or not pd.api.types.is_numeric_dtype(values):
        return "classification"
    as_float = values.astype(float)
    if not np.allclose(as_float, np.round(as_float)):
        return "regression"
    distinct = values.nunique()
    return "regression" if distinct > 20 and distinct > 0.05 * len(values) else "classification"


# --------------------------------------------------------------------------- validation


def _label_strings(series: pd.Series) -> pd.Series:
    """Class labels as strings; 1.0 becomes '1'."""
    if pd.api.types.is_float_dtype(series) and np.allclose(series, np.round(series)):
        series = series.astype("int64")
    return series.astype(str)


def _prepare_target(frame: pd.DataFrame, target: str, task: str | None, notes: list[str]) -> tuple[pd.DataFrame, str]:
    series = frame[target]
    if series.isna().all():
        raise ModelDeckError(f"The target column '{target}' is empty (every value is missing). Pick another column.")
    missing = int(series.isna().sum())
    if missing:
        notes.append(
            f"Dropped {missing:,} row(s) ({missing / len(frame):.1%}) with no value in the target '{target}'."
        )
        frame = frame.loc[series.notna()].reset_index(drop=True)
    task = task or infer_task(frame[target])
    if task not in TASKS:
        raise ModelDeckError(f"Unknown task '{task}'. Choose 'classification' or 'regression'.")
    if task == "regression":
        frame = _numeric_target(frame, target, notes)
    else:
        _check_classes(frame[target], target)
        frame[target] = _label_strings(frame[target])
    return frame, task


def _numeric_target(frame: pd.DataFrame, target: str, notes: list[str]) -> pd.DataFrame:
    series = frame[target]
    if pd.api.types.is_bool_dtype(series):
        raise ModelDeckError(
            f"The target '{target}' is yes/no (true/false); regression needs numbers. Choose classification."
        )
    if pd.api.types.is_numeric_dtype(series):
        frame[target] = series.astype(float)
        return frame
    numeric = _try_numeric(series)
    if numeric is None:
        examples = _examples(series.dropna())
        raise ModelDeckError(
            f"The target '{target}' holds text (e.g. {examples}); regression needs numbers. Choose classification."
        )
    values, bad = numeric
    if len(bad):
        notes.append(f"Dropped {len(bad):,} row(s) whose target '{target}' is not a number ({_examples(bad)}).")
    frame[target] = values
    return frame.loc[values.notna()].reset_index(drop=True)


def _check_classes(series: pd.Series, target: str) -> None:
    labels = _label_strings(series)
    counts = labels.value_counts()
    if len(counts) < 2:
        raise ModelDeckError(
            f"The target column '{target}' has only 1 distinct value ('{counts.index[0]}'). "
            "Pick a column with at least 2 classes."
        )
    numeric = pd.api.types.is_numeric_dtype(series) and not pd.api.types.is_bool_dtype(series)
    if numeric and len(counts) > 50 and infer_task(series) == "regression":
        raise ModelDeckError(
            f"The target '{target}' has {len(counts):,} distinct values; this looks like a regression target. "
            "Choose regression."
        )
    if not numeric and len(counts) > 50 and len(counts) > 0.5 * len(series):
        raise ModelDeckError(
            f"The target '{target}' has {len(counts):,} distinct values in {len(series):,} rows, too many "
            "classes to learn. Pick a column with a few classes."
        )
    rare = counts[counts < 2]
    if len(rare):
        names = ", ".join(f"'{c}'" for c in list(rare.index)[:10])
        raise ModelDeckError(
            f"In the target '{target}', {len(rare)} class(es) have only 1 row: {names}. Each class needs at "
            "least 2 rows to appear in both training and test data; drop those rows or merge them into a "
            "similar class."
        )


def _check_features(frame: pd.DataFrame, target: str, types: dict[str, str]) -> None:
    if any(kind in USABLE_TYPES for kind in types.values()):
        return
    if not types:
        raise ModelDeckError(f"The data has only the target column '{target}'. Add at least one input column.")
    reasons = "; ".join(f"'{c}' is {kind}" for c, kind in list(types.items())[:8])
    raise ModelDeckError(
        f"No column can be used as a model input ({reasons}). "
        "Add numeric or categorical columns that describe each row."
    )


def _check_unique_names(frame: pd.DataFrame) -> None:
    names = list(frame.columns)
    duplicated = sorted({c for c in names if names.count(c) > 1})
    if duplicated:
        shown = ", ".join(f"'{c}'" for c in duplicated[:10])
        raise ModelDeckError(f"Column names must be unique; these appear more than once: {shown}. Rename them.")


def make_dataset(
    frame: pd.DataFrame,
    target: str,
    task: str | None = None,
    name: str = "Uploaded data",
    key: str | None = None,
    description: str = "",
    *,
    image_shape: tuple[int, int] | None = None,
    synthetic: bool = False,
    column_types: dict[str, str] | None = None,
) -> Dataset:
    """Validate a table and its target; raise ModelDeckError with the fix when it cannot be modelled.

    ``column_types`` skips detection (the given types are trusted); ``key`` defaults to
    ``"upload:<fingerprint>"``.
    """
    if frame is None or frame.shape[0] == 0 or frame.shape[1] == 0:
        raise ModelDeckError("The data set is empty. Upload a file with a header row and data rows.")
    if any(not isinstance(c, str) for c in frame.columns):
        frame, target = frame.set_axis([str(c) for c in frame.columns], axis=1), str(target)
    _check_unique_names(frame)
    if target not in frame.columns:
        shown = ", ".join(f"'{c}'" for c in list(frame.columns)[:10])
        raise ModelDeckError(f"The target column '{target}' is not in the data. Columns are: {shown}.")
    notes: list[str] = []
    frame, task = _prepare_target(frame.reset_index(drop=True), target, task, notes)
    if column_types is None:
        frame, column_types, type_notes = clean_types(frame, target)
        notes += type_notes
    _check_features(frame, target, column_types)
    dataset = Dataset(
        key=key or "",
        name=name,
        frame=frame,
        target=target,
        task=task,
        column_types=column_types,
        description=description,
        image_shape=image_shape,
        synthetic=synthetic,
        notes=notes,
    )
    if not key:
        dataset.key = f"upload:{dataset.fingerprint}"
    return dataset


# --------------------------------------------------------------------------- persistence


def _uploads_dir() -> Path:
    path = home() / "datasets"
    path.mkdir(parents=True, exist_ok=True)
    return path


def _atomic_write(path: Path, text: str) -> None:
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as handle:
            handle.write(text)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def save_upload(dataset: Dataset) -> str:
    """Store the data set under home()/datasets as CSV + JSON sidecar; return "upload:<fingerprint>"."""
    fingerprint = dataset.fingerprint
    folder = _uploads_dir()
    sidecar = {
        "target": dataset.target,
        "task": dataset.task,
        "name": dataset.name,
        "description": dataset.description,
        "column_types": dataset.column_types,
        "columns": [str(c) for c in dataset.frame.columns],
        "storage": {str(c): _storage_kind(dataset.frame[c]) for c in dataset.frame.columns},
        "image_shape": list(dataset.image_shape) if dataset.image_shape else None,
        "synthetic": dataset.synthetic,
        "notes": dataset.notes,
        "fingerprint": fingerprint,
    }
    _atomic_write(folder / f"{fingerprint}.csv", dataset.frame.to_csv(index=False, lineterminator="\n"))
    _atomic_write(folder / f"{fingerprint}.json", json.dumps(sidecar, indent=2))  # written last: marks complete
    return f"upload:{fingerprint}"


def _storage_kind(series: pd.Series) -> str:
    """How a column is written to and read back from CSV: int, float, bool, datetime or text."""
    if pd.api.types.is_bool_dtype(series):
        return "bool"
    if pd.api.types.is_datetime64_any_dtype(series):
        return "datetime"
    if pd.api.types.is_integer_dtype(series) and not series.isna().any():
        return "int"
    if pd.api.types.is_numeric_dtype(series):
        return "float"
    return "text"


def _read_stored_frame(path: Path, kinds: dict[str, str]) -> pd.DataFrame:
    text_columns = {c: str for c, kind in kinds.items() if kind in ("text", "bool")}
    frame = pd.read_csv(path, dtype=text_columns, **_FLOAT_EXACT)
    for column, kind in kinds.items():
        if kind == "int":
            frame[column] = frame[column].astype("int64")
        elif kind == "float":
            frame[column] = frame[column].astype(float)
        elif kind == "bool":
            frame[column] = frame[column].map({"True": True, "False": False})
        elif kind == "datetime":
            frame[column] = pd.to_datetime(frame[column], format="ISO8601")
    return frame


def _load_upload(key: str) -> Dataset:
    fingerprint = key.removeprefix("upload:")
    if not re.fullmatch(r"[0-9a-f]{16}", fingerprint):
        raise ModelDeckError(f"'{key}' is not a valid data set reference. Choose a data set again.")
    folder = _uploads_dir()
    csv_path, meta_path = folder / f"{fingerprint}.csv", folder / f"{fingerprint}.json"
    if not (csv_path.exists() and meta_path.exists()):
        raise ModelDeckError(
            f"The uploaded data set '{key}' is no longer stored on this server. Upload the file again."
        )
    try:
        meta = json.loads(meta_path.read_text(encoding="utf-8"))
        frame = _read_stored_frame(csv_path, meta["storage"])
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise ModelDeckError(f"The stored data set '{key}' is damaged ({exc}). Upload the file again.") from None
    return Dataset(
        key=key,
        name=meta["name"],
        frame=frame[meta["columns"]],
        target=meta["target"],
        task=meta["task"],
        column_types=meta["column_types"],
        description=meta["description"],
        image_shape=tuple(meta["image_shape"]) if meta.get("image_shape") else None,
        synthetic=bool(meta.get("synthetic")),
        notes=list(meta.get("notes", [])),
    )


def load_dataset(key: str) -> Dataset:
    """Load "builtin:<name>" or "upload:<fingerprint>" (a bare built-in name works too)."""
    if key.startswith("upload:"):
        return _load_upload(key)
    if key.startswith("builtin:") or key in BUILTINS:
        return load_builtin(key)
    raise ModelDeckError(f"Unknown data set '{key}'. Choose a built-in data set or upload a CSV file.")


def list_uploads() -> dict[str, str]:
    """Stored uploads, newest first: key -> "name (uploaded)"."""
    sidecars = sorted(_uploads_dir().glob("*.json"), key=lambda p: p.stat().st_mtime, reverse=True)
    uploads = {}
    for path in sidecars:
        try:
            name = json.loads(path.read_text(encoding="utf-8")).get("name", path.stem)
        except (OSError, ValueError):
            continue
        uploads[f"upload:{path.stem}"] = f"{name} (uploaded)"
    return uploads
