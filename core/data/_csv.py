"""Reading an uploaded CSV file: size and binary checks, encoding, separator, header and decimal-comma
detection, and parse errors turned into messages that say which line to fix.

``read_csv`` returns a ``CsvRead`` (the raw frame plus what was detected and every fix made on the way);
typing the columns is ``clean_types``' job, validating the target ``make_dataset``'s.
"""
from __future__ import annotations

import csv
import io
import re
import warnings
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from core.common import ModelDeckError

MAX_UPLOAD_BYTES = 100 * 2**20  # larger files get a clear message (server.maxUploadSize stops them in the browser)
# What one upload may hold beyond its size (issue 12; the Data page states them, `upload_limits`): a file past a limit
# is refused with a message before any cleaning or training code sees it.
MAX_ROWS = 1_000_000
MAX_COLUMNS = 2_000
MAX_CELL_CHARS = 10_000

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
        return _delimiter_name(self.delimiter)


def _delimiter_name(delimiter: str) -> str:
    return _DELIMITER_NAMES.get(delimiter, repr(delimiter))


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


def _parse(source: str | bytes, delimiter: str, names: list[str], has_header: bool, decimal: str) -> pd.DataFrame:
    """The frame from text, or from UTF-8 bytes (parsed as they are: no copy of a large file as text in memory)."""
    utf8 = {"encoding": "utf-8-sig"} if isinstance(source, bytes) else {}
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return pd.read_csv(
                io.BytesIO(source) if isinstance(source, bytes) else io.StringIO(source),
                **utf8,
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
    name = _delimiter_name(delimiter)
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
    if len(names) > MAX_COLUMNS:
        raise ModelDeckError(f"'{filename}' has {len(names):,} columns; ModelDeck reads at most {MAX_COLUMNS:,}. "
                             "Keep the columns the model needs and upload again.")
    source = data if encoding == "utf-8" else text     # UTF-8 bytes are parsed as they are
    del text
    frame = _parse(source, delimiter, names, has_header, decimal)
    _check_shape(frame, sample, delimiter, filename)
    _check_limits(frame, filename)
    notes += _multiline_notes(frame)
    return CsvRead(frame=frame, delimiter=delimiter, encoding=encoding, has_header=has_header, notes=notes)


def _multiline_notes(frame: pd.DataFrame) -> list[str]:
    """A quoted value that spans lines usually means a stray double quote swallowed the lines after it."""
    notes = []
    for column in frame.columns:
        if not pd.api.types.is_string_dtype(frame[column]) and frame[column].dtype != object:
            continue
        spans = frame[column].astype(str).str.contains("\n", regex=False) & frame[column].notna()
        if spans.any():
            first = int(np.flatnonzero(spans.to_numpy())[0])
            notes.append(f"Column '{column}': {int(spans.sum()):,} value(s) span several lines (the first in data row "
                         f"{first + 1:,}). A double quote (\") opened there swallowed the lines up to the next quote; "
                         "if that is not meant, remove the stray quote and upload again.")
    return notes


def upload_limits() -> str:
    """The limits of an upload, in the words the Data page shows."""
    return (f"up to {MAX_UPLOAD_BYTES // 2**20} MB, {MAX_ROWS:,} rows, {MAX_COLUMNS:,} columns and "
            f"{MAX_CELL_CHARS:,} characters per value")


def _check_limits(frame: pd.DataFrame, filename: str) -> None:
    if len(frame) > MAX_ROWS:
        raise ModelDeckError(f"'{filename}' has {len(frame):,} rows; ModelDeck reads at most {MAX_ROWS:,}. Upload a "
                             "sample of the rows.")
    for column in frame.columns:
        values = frame[column]
        if values.dtype == object or pd.api.types.is_string_dtype(values):
            longest = int(values.dropna().astype(str).str.len().max() or 0) if values.notna().any() else 0
            if longest > MAX_CELL_CHARS:
                raise ModelDeckError(f"Column '{str(column)[:80]}' of '{filename}' holds a value of {longest:,} "
                                     f"characters; ModelDeck reads at most {MAX_CELL_CHARS:,} per value. Shorten or "
                                     "drop that column and upload again.")


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
            f"Only one column was found in '{filename}' using the {_delimiter_name(delimiter)} "
            f"as separator (also tried: {tried}). The first line reads: '{first_line}'. "
            "Save the file with commas between values; a data set needs a target and at least one input column."
        )
