"""The bad-input corpus (issue 12) as data: each case opens a page through AppTest, does one wrong thing, and names
what the message it gets must say. Used by tests/test_bad_input_corpus.py and `python -m benchmarks reliability`."""
from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np

APP = str(Path(__file__).resolve().parents[1] / "streamlit_app.py")
ROWS = 60


@dataclass(frozen=True)
class Case:
    name: str
    kind: str                                   # malformed file | hostile content | wrong setting | edge data set
    page: str
    act: Callable
    expect: str                                 # what one of the messages on the page says (case-insensitive)
    query: dict = field(default_factory=dict)   # "<RUN>" stands for the saved run's id


# ---------------------------------------------------------------- driving the pages
def _csv(header: str, rows: list[str]) -> bytes:
    return (header + "\n" + "\n".join(rows) + "\n").encode()


def _table(n: int = ROWS, label=lambda i: "x" if i % 3 else "y") -> list[str]:
    return [f"{i % 5},{(i * 7) % 11},{label(i)}" for i in range(n)]


GOOD = _csv("a,b,label", _table())


_NAMES = itertools.count()


def upload(data: bytes, name: str | None = None, target: str | None = None, task: str | None = None,
           use: bool = False) -> Callable:
    """Upload `data` on the Data page; with `use`, pick `target` (and `task`) and press 'Use this data set'.
    Every case's file has its own name: AppTest keeps uploaded files by name across AppTest instances."""
    name = name or f"bad{next(_NAMES)}.csv"

    def act(at):
        at.file_uploader(key="upload_file").upload(name, data, "text/csv")
        at.run()
        if use and not at.exception and at.button(key="upload_use") is not None:
            if target is not None:
                at.selectbox(key="upload_target").select(target).run()
            if task is not None:
                at.radio(key=f"upload_task_{target}").set_value(task).run()
            at.button(key="upload_use").click().run()
        return at
    return act


_WIDGET_KINDS = ("text_input", "number_input", "multiselect", "selectbox", "slider", "checkbox", "radio", "toggle")


def set_widgets(**values) -> Callable:
    """Set widgets by key (key -> value), one rerun each."""
    def act(at):
        for widget_key, value in values.items():
            widget = next(w for kind in _WIDGET_KINDS for w in getattr(at, kind) if w.key == widget_key)
            widget.set_value(value).run()
        return at
    return act


def click(key: str, **values) -> Callable:
    """Set widgets (key -> value) and press the button `key`."""
    def act(at):
        return set_widgets(**values)(at).button(key=key).click().run()
    return act


def choose_family(family: str, then: Callable) -> Callable:
    def act(at):
        at.selectbox(key="train_family").select(family).run()
        return then(at)
    return act


def then_train(first: Callable) -> Callable:
    """`first` on the Data page, then 'Train' on the Train page with the same session."""
    def act(at):
        at = first(at)
        at.switch_page("pages/train.py").run()
        return at.button(key="train_go").click().run()
    return act


def same(at):
    return at


def explain_row(number: int) -> Callable:
    def act(at):
        at.radio(key="explain_pick_mode").set_value("By row number").run()
        box = next(n for n in at.number_input if n.key and n.key.startswith("explain_row_"))
        return box.set_value(number).run()
    return act


def upload_to(key: str, data: bytes, name: str = "rows.csv") -> Callable:
    def act(at):
        at.file_uploader(key=key).upload(name, data, "text/csv")
        return at.run()
    return act


def recsys_upload(data: bytes, name: str = "events.csv") -> Callable:
    def act(at):
        at.segmented_control(key="rec_source").set_value("upload").run()
        return upload_to("rec_upload_events", data, name)(at)
    return act


def rename(name: str) -> Callable:
    def act(at):
        box = next(t for t in at.text_input if t.key and t.key.startswith("runs_name_"))
        box.input(name).run()
        return at.button(key="runs_rename").click().run()
    return act


# ---------------------------------------------------------------- the cases
_rng = np.random.default_rng(0)
_wide = ",".join(f"c{i}" for i in range(10_000)).encode() + b"\n" + b"\n".join(
    b",".join(b"1" for _ in range(10_000)) for _ in range(3))
_reg3 = _csv("a,b,y", [f"{i % 5},{(i * 7) % 11},{(10, 20, 30)[i % 3]}" for i in range(ROWS)])

CASES = [
    # ---- malformed files
    Case("broken quoting", "malformed file", "pages/data.py",
         upload(b'a,b,label\n1,"x,y\n2,z,b\n' + b"\n".join(r.encode() for r in _table())), "quote"),
    Case("ragged rows", "malformed file", "pages/data.py",
         upload(_csv("a,b,label", _table(20) + ["1,2,3,4,y"] + _table(20))), "values"),
    Case("binary file", "malformed file", "pages/data.py",
         upload(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)) * 8), "not a text file"),
    Case("empty file", "malformed file", "pages/data.py", upload(b""), "empty"),
    Case("header only", "malformed file", "pages/data.py", upload(b"a,b,label\n"), "no data rows"),
    Case("byte order mark", "malformed file", "pages/data.py", upload(b"\xef\xbb\xbf" + GOOD), f"Read {ROWS} rows"),
    Case("mixed line endings", "malformed file", "pages/data.py",
         upload(b"a,b,label\r\n" + b"".join(r.encode() + (b"\r\n", b"\n", b"\r\n")[i % 3]
                                           for i, r in enumerate(_table()))), f"Read {ROWS} rows"),
    Case("NUL bytes in the text", "malformed file", "pages/data.py",
         upload(GOOD.replace(b",", b"\x00,")), "not a text file"),
    Case("UTF-16 text", "malformed file", "pages/data.py", upload(GOOD.decode().encode("utf-16")), f"Read {ROWS} rows"),
    Case("only one column", "malformed file", "pages/data.py",
         upload(_csv("a b label", [r.replace(",", " ") for r in _table()])), "Only one column"),
    Case("a quote never closed", "malformed file", "pages/data.py",
         upload(GOOD + b'9,"never closed,x\n' + b"\n".join(r.encode() for r in _table(5))), "quote"),
    Case("decimal commas", "malformed file", "pages/data.py",
         upload(_csv("a;b;label", [f"{i % 5},5;{i % 7},25;{'x' if i % 3 else 'y'}" for i in range(ROWS)])),
         "decimal comma"),
    Case("Windows-1252 text", "malformed file", "pages/data.py",
         upload(_csv("ville,b,label", [f"Genève{i % 4},{i % 7},{'x' if i % 3 else 'y'}" for i in range(ROWS)])
                .decode().encode("cp1252")), "cp1252"),
    # ---- hostile content
    Case("formula cells", "hostile content", "pages/data.py",
         upload(_csv("a,cmd,label", [f"{i % 5},=cmd|' /C calc'!A0,{'x' if i % 3 else 'y'}" for i in range(ROWS)])),
         f"Read {ROWS} rows"),
    Case("a column named <script>", "hostile content", "pages/data.py",
         upload(_csv("<script>alert(1)</script>,b,label", _table())), f"Read {ROWS} rows"),
    Case("5,000-character column name", "hostile content", "pages/data.py",
         upload(_csv("a" * 5_000 + ",b,label", _table())), f"Read {ROWS} rows"),
    Case("emoji and non-Latin names", "hostile content", "pages/data.py",
         upload(_csv("📈 рост,価格,label", _table()), target="label", use=True), f"{ROWS} rows and 2 input columns"),
    Case("10,000 columns", "hostile content", "pages/data.py", upload(_wide), "at most 2,000"),
    Case("thousands separators", "hostile content", "pages/data.py",
         upload(_csv("a,price,label", [f'{i % 5},"{1000 + i * 37:,}",{"x" if i % 3 else "y"}' for i in range(ROWS)])),
         f"Read {ROWS} rows"),
    Case("inf values", "hostile content", "pages/data.py",
         upload(_csv("a,b,label", [f"{'inf' if i % 7 == 0 else i % 5},{i % 11},{'x' if i % 3 else 'y'}"
                                   for i in range(ROWS)]), target="label", use=True), "infinite value"),
    Case("a 12,000-character value", "hostile content", "pages/data.py",
         upload(_csv("a,text,label", [f"{i % 5},{'w' * (12_000 if i == 3 else 5)},x" for i in range(ROWS)])),
         "at most 10,000"),
    Case("duplicate column names", "hostile content", "pages/data.py",
         upload(_csv("a,a,label", _table())), "renamed"),
    Case("markdown link in a value", "hostile content", "pages/data.py",
         upload(_csv("a,link,label", [f"{i % 5},[click](javascript:alert(1)),{'x' if i % 3 else 'y'}"
                                      for i in range(ROWS)])), f"Read {ROWS} rows"),
    Case("a share link with a made-up token", "hostile content", "pages/metrics.py", same, "does not open anything",
         query={"share": "x" * 32}),
    Case("someone else's upload in the URL", "hostile content", "pages/data.py", same, "belongs to someone else",
         query={"data": "upload:0123456789abcdef"}),
    Case("a data set key that does not exist", "hostile content", "pages/data.py", same, "no built-in data set",
         query={"data": "builtin:nope"}),
    Case("a run id that does not exist", "hostile content", "pages/metrics.py", same, "not found",
         query={"run": "0000000000"}),
    # ---- wrong settings on the pages
    Case("hidden layers 'abc'", "wrong setting", "pages/train.py",
         choose_family("mlp", set_widgets(one_mlp_hidden="abc")), "whole numbers"),
    Case("hidden layers '0'", "wrong setting", "pages/train.py",
         choose_family("mlp", set_widgets(one_mlp_hidden="0")), "between 1 and 4096"),
    Case("hidden layers '99999'", "wrong setting", "pages/train.py",
         choose_family("mlp", set_widgets(one_mlp_hidden="99999")), "between 1 and 4096"),
    Case("an empty model list", "wrong setting", "pages/train.py", set_widgets(board_models=[]),
         "Pick at least one model"),
    Case("a search with no trials", "wrong setting", "pages/tune.py", set_widgets(tune_budget=0), "trial"),
    Case("a row number that is not there", "wrong setting", "pages/explain.py", explain_row(99_999),
         "is not among", query={"run": "<RUN>"}),
    Case("predict: a file without the model's columns", "wrong setting", "pages/predict.py",
         upload_to("predict_upload", _csv("x,y", [f"{i},{i}" for i in range(5)])), "missing",
         query={"run": "<RUN>"}),
    Case("predict: an empty file", "wrong setting", "pages/predict.py", upload_to("predict_upload", b""), "empty",
         query={"run": "<RUN>"}),
    Case("recommend: one column of interactions", "wrong setting", "pages/recommend.py",
         recsys_upload(_csv("user", [f"u{i}" for i in range(30)])), "column"),
    Case("recommend: a binary interactions file", "wrong setting", "pages/recommend.py",
         recsys_upload(bytes(range(256)) * 20), "text"),
    Case("rename a run to nothing", "wrong setting", "pages/runs.py", rename("   "), "cannot be empty",
         query={"run": "<RUN>"}),
    Case("compress without a finished run", "wrong setting", "pages/compress.py", same, "Pick a finished run"),
    # ---- edge data sets
    Case("one class", "edge data set", "pages/data.py",
         upload(_csv("a,b,label", _table(label=lambda i: "same")), target="label", task="classification", use=True),
         "1 distinct value"),
    Case("one row per class", "edge data set", "pages/data.py",
         upload(_csv("a,b,label", [f"{i % 5},{i % 7},c{i}" for i in range(ROWS)]), target="label",
                task="classification", use=True), "class"),
    Case("an all-missing column", "edge data set", "pages/data.py",
         upload(_csv("a,blank,label", [f"{i % 5},,{'x' if i % 3 else 'y'}" for i in range(ROWS)]), target="label",
                use=True), "'blank' (empty)"),
    Case("a constant target", "edge data set", "pages/data.py",
         upload(_csv("a,b,y", [f"{i % 5},{i % 7},4.2" for i in range(ROWS)]), target="y", task="regression",
                use=True), "1 distinct value"),
    Case("a regression target with 3 values", "edge data set", "pages/data.py",
         upload(_reg3, target="y", task="regression", use=True), "only 3 values"),
    Case("two rows", "edge data set", "pages/data.py",
         upload(_csv("a,b,label", ["1,2,x", "3,4,y"]), target="label", task="classification", use=True), "rows"),
    Case("a target with no values", "edge data set", "pages/data.py",
         upload(_csv("a,b,y", [f"{i % 5},{i % 7}," for i in range(ROWS)]), target="y", use=True), "target"),
    Case("six rows, three classes: no room for a test split", "edge data set", "pages/data.py",
         then_train(upload(_csv("a,b,label", [f"{i},{i * 2},{'abc'[i % 3]}" for i in range(6)]), target="label",
                           task="classification", use=True)), "test"),
]


# ---------------------------------------------------------------- running and reading
def run_case(case: Case, run_id: str):
    from streamlit.testing.v1 import AppTest
    at = AppTest.from_file(APP, default_timeout=180)
    for key, value in case.query.items():
        at.query_params[key] = value.replace("<RUN>", run_id)
    if case.page != "pages/home.py":
        at.switch_page(case.page)
    at.run()
    return at if at.exception else case.act(at)


def messages(at) -> list[str]:
    """Everything the page says to the person: errors, warnings, notes, captions and markdown."""
    found = []
    for kind in ("error", "warning", "info", "success", "caption", "markdown", "exception"):
        found += [str(e.value) for e in getattr(at, kind)]
    return found


def snapshot_runs() -> list[tuple]:
    from core.runs import RunStore
    return sorted((r.id, r.name, r.status, r.updated_at.isoformat(), str(r.metrics)) for r in RunStore().list())


def check_case(case: Case, run_id: str) -> str | None:
    """Run one case; None when it was handled (no traceback, the expected message, the saved runs unchanged),
    else what went wrong."""
    before = snapshot_runs()
    at = run_case(case, run_id)
    if at.exception:
        return f"traceback: {at.exception[0].value[:300]}"
    shown = messages(at)
    if not any(case.expect.lower() in m.lower() for m in shown):
        return f"no message saying '{case.expect}' (shown: {[m[:120] for m in shown[:6]]})"
    if snapshot_runs() != before:
        return "the saved runs changed"
    return None
