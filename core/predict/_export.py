"""Predictions as a CSV a spreadsheet opens safely.

A text cell that starts with '=', '+', '-' or '@' (or a tab or carriage return) is a formula to Excel, LibreOffice
and Google Sheets; an uploaded value like `=HYPERLINK(...)` would run when someone opens the download. Such cells get
a leading apostrophe, which spreadsheets show as text (OWASP's advice for CSV injection). Numbers stay numbers:
a negative number in a numeric column is not a formula.
"""
from __future__ import annotations

import pandas as pd

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def neutralise(value):
    """The value, made inert when it is text a spreadsheet would run as a formula."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def safe_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """A copy with every text cell and column name neutralised (numeric columns untouched)."""
    out = frame.copy()
    for column in out.columns:
        if not pd.api.types.is_numeric_dtype(out[column]) and not pd.api.types.is_bool_dtype(out[column]):
            out[column] = out[column].map(neutralise)
    out.columns = [neutralise(str(c)) for c in out.columns]
    return out


def to_safe_csv(frame: pd.DataFrame) -> bytes:
    """CSV bytes (UTF-8 with a byte-order mark, so Excel reads accents right) with formulas neutralised.

    Lines end in CRLF as RFC 4180 says: the csv writer then quotes any cell holding a carriage return or a line
    feed (with a bare LF terminator it leaves a lone CR unquoted, and readers split the row there)."""
    return safe_frame(frame).to_csv(index=False, lineterminator="\r\n").encode("utf-8-sig")
