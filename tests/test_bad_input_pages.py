"""Bad uploads on the Data page: a clear message, no traceback, and the chosen data set is kept."""
from __future__ import annotations

import numpy as np
import pytest

from tests.test_pages import button, open_page

ROWS = 40
NUMS = "\n".join(f"{i},{i * 2.5:.1f},{'a' if i % 2 else 'b'}" for i in range(ROWS))

# name -> (file bytes, what the message must mention); all fail when the file is read
READ_ERRORS = {
    "empty file": (b"", "empty"),
    "header only": (b"x,y,label\n", "no data rows"),
    "binary file": (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)) * 4, "not a text file"),
    "200 MB file": (b"x,y\n" + b"1,2\n" * (50 * 2**20), "limit"),
}

# name -> (file bytes, target picked, task picked, what the message must mention); fail on "Use this data set"
DATASET_ERRORS = {
    "target with one class": (("x,y,label\n" + "\n".join(f"{i},{i},same" for i in range(ROWS))).encode(),
                              "label", "classification", "only 1 distinct value"),
    "class of one sample": (("x,y,label\n" + "\n".join(f"{i},{i},{'a' if i else 'lonely'}" for i in range(ROWS))).encode(),
                            "label", "classification", "lonely"),
    "regression target as classification": (
        ("x,price\n" + "\n".join(f"{i},{v:.3f}" for i, v in enumerate(np.random.default_rng(0).normal(size=3000)))).encode(),
        "price", "classification", "regression"),
    "only unusable columns": (("id,const,label\n" + "\n".join(f"r{i},1,{'a' if i % 2 else 'b'}" for i in range(ROWS))).encode(),
                              "label", "classification", "model input"),
}

# name -> (file bytes, what a note or caption says); these load, with an explanation. (Issue 11: a column 0, 1, …, 39
# is a row number and left out, so the inputs below repeat their values, e.g. i % 9.)
ACCEPTED_WITH_NOTES = {
    "wrong delimiter": (("x;y;label\n" + NUMS.replace(",", ";")).encode(), "separator: semicolon (;)"),
    "non-UTF-8 text": (("ville,y,label\n" + "\n".join(f"Genève{i},{i % 7},{'a' if i % 2 else 'b'}" for i in range(ROWS))).encode("cp1252"),
                       "read as cp1252"),
    "mixed types in a column": (("x,y,label\n" + NUMS.replace("\n3,", "\nthree,", 1)).encode(),
                                "('three') were treated as missing"),
    "duplicate column names": (("x,x,label\n" + NUMS).encode(), "renamed 'x.1'"),
    "all-NaN column": (("x,blank,label\n" + "\n".join(f"{i % 9},,{'a' if i % 2 else 'b'}" for i in range(ROWS))).encode(), "'blank' (empty)"),
    "constant column": (("x,const,label\n" + "\n".join(f"{i % 9},7,{'a' if i % 2 else 'b'}" for i in range(ROWS))).encode(), "'const' (constant)"),
}


def upload(at, name: str, data: bytes):
    at.file_uploader[0].upload(name, data, "text/csv")
    return at.run()


def still_on_breast_cancer(at) -> bool:
    return any(m.label == "Rows" and m.value == "569" for m in at.metric)


@pytest.mark.parametrize("case", list(READ_ERRORS))
def test_unreadable_files_get_a_message(case, fresh_home):
    data, expected = READ_ERRORS[case]
    at = upload(open_page("pages/data.py"), "bad.csv", data)
    assert not at.exception
    assert at.error and expected in at.error[0].value, [e.value for e in at.error]
    assert still_on_breast_cancer(at)


@pytest.mark.parametrize("case", list(DATASET_ERRORS))
def test_unusable_targets_get_a_message(case, fresh_home):
    data, target, task, expected = DATASET_ERRORS[case]
    at = upload(open_page("pages/data.py"), "bad.csv", data)
    assert not at.exception and not at.error
    next(s for s in at.selectbox if s.key == "upload_target").select(target).run()
    next(r for r in at.radio if r.key == f"upload_task_{target}").set_value(task).run()
    button(at, "upload_use").click().run()
    assert not at.exception
    assert at.error and expected in at.error[0].value, [e.value for e in at.error]
    assert still_on_breast_cancer(at)


@pytest.mark.parametrize("case", list(ACCEPTED_WITH_NOTES))
def test_fixable_files_load_with_an_explanation(case, fresh_home):
    data, expected = ACCEPTED_WITH_NOTES[case]
    at = upload(open_page("pages/data.py"), "odd.csv", data)
    assert not at.exception and not at.error, [e.value for e in at.error]
    said = " ".join([i.value for i in at.info] + [c.value for c in at.caption] + [m.value for m in at.markdown])
    button(at, "upload_use").click().run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    said += " ".join([i.value for i in at.info] + [c.value for c in at.caption])
    assert expected in said
    assert any(m.label == "Rows" and m.value == f"{ROWS}" for m in at.metric)
