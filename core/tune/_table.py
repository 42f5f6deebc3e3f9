"""The search space as the editable table the Tune page shows: one row per setting of the family (tune it or not,
its range or choices, its value when not tuned), and the way back from an edited table to a validated
SearchSpace, with a clear message for a bad cell.
"""
from __future__ import annotations

import numpy as np

from core.common import ModelDeckError
from core.models import Param, family
from core.tune._space import CHOICE_KINDS, DEFAULT_RANGES, Dim, SearchSpace, default_dim, plain

TABLE_COLUMNS = ("name", "setting", "tune", "low", "high", "log", "choices", "fixed")


def _layers_text(value) -> str:
    return value.replace(" ", "") if isinstance(value, str) else ",".join(str(v) for v in value)


def space_table(space: SearchSpace):
    """A DataFrame with one row per setting of the family: tune?, range / choices, value when not tuned."""
    import pandas as pd
    tuned = {d.name: d for d in space.dims}
    rows = []
    for p in family(space.family).params:
        dim = tuned.get(p.name) or default_dim(p, DEFAULT_RANGES.get(space.family, {}).get(p.name))
        fixed = space.fixed.get(p.name, p.default)
        rows.append({
            "name": p.name, "setting": p.label, "tune": p.name in tuned,
            "low": dim.low if dim.kind != "choice" else None, "high": dim.high if dim.kind != "choice" else None,
            "log": dim.log, "choices": " | ".join(_layers_text(c) if p.kind == "layers" else str(c)
                                                  for c in dim.choices),
            "fixed": _layers_text(fixed) if p.kind == "layers" else str(fixed),
        })
    return pd.DataFrame(rows, columns=list(TABLE_COLUMNS))


def _parse_choice(param: Param, text: str):
    if param.kind == "bool":
        return text.strip().lower() in ("1", "true", "yes", "on")
    return text.strip().replace(" ", "") if param.kind == "layers" else text.strip()


def _parse_fixed(param: Param, text) -> object:
    text = str(text).strip()
    if param.kind in CHOICE_KINDS:
        return _parse_choice(param, text)
    try:
        return int(float(text)) if param.kind == "int" else float(text)
    except ValueError:
        raise ModelDeckError(f"{param.label}: '{text}' is not a number.") from None


def _cell(value) -> float | None:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if np.isfinite(number) else None


def space_from_table(family_key: str, table) -> SearchSpace:
    """Read the edited table back into a SearchSpace and validate it (clear messages for bad cells)."""
    params = {p.name: p for p in family(family_key).params}
    dims, fixed = [], {}
    for row in table.to_dict("records"):
        param = params[row["name"]]
        if not bool(row.get("tune")):
            fixed[param.name] = _parse_fixed(param, row.get("fixed", param.default))
        elif param.kind in CHOICE_KINDS:
            items = [c for c in str(row.get("choices") or "").split("|") if c.strip()]
            dims.append(Dim(param.name, "choice", choices=tuple(_parse_choice(param, c) for c in items)))
        else:
            dims.append(Dim(param.name, param.kind, _cell(row.get("low")), _cell(row.get("high")),
                            bool(row.get("log"))))
    return SearchSpace(family_key, tuple(dims), plain(fixed)).validate()
