"""Browser test of the Predict page: train a model, upload new rows, read the checks, download the predictions.

Uses the server, browser and helpers of tests/test_e2e_browser.py (a fresh app on a free port, Debian's Chromium).
Run alone with `python -m pytest tests/test_e2e_predict.py -q -s` (or `-m e2e`).
"""
from __future__ import annotations

import csv
import io

import pytest

from tests.test_e2e_browser import (app, assert_no_errors, browser, browsing_as_new_user,  # noqa: F401 (fixtures)
                                    click_sidebar_link, drawn_plotly_charts, log, shoot, train_gradient_boosting,
                                    wait_for_app, _restart_clock)

pytestmark = pytest.mark.e2e


def _new_rows(path) -> int:
    """Breast-cancer rows without the target, one column renamed, one formula-like cell in an extra column."""
    from core.data import load_dataset
    dataset = load_dataset("builtin:breast_cancer")
    rows = dataset.frame.drop(columns=[dataset.target]).sample(40, random_state=3).reset_index(drop=True)
    rows = rows.rename(columns={rows.columns[0]: rows.columns[0].upper()})
    rows["comment"] = ["=1+1" if i == 0 else "ok" for i in range(len(rows))]
    rows.to_csv(path, index=False)
    return len(rows)


@pytest.mark.timeout(300)
def test_upload_new_rows_and_download_the_predictions(browser, app, tmp_path):  # noqa: F811
    from playwright.sync_api import expect
    _restart_clock()
    n = _new_rows(tmp_path / "new rows.csv")
    with browsing_as_new_user(browser, app, "predict") as page:
        page.goto(f"{app.url}/")
        wait_for_app(page)
        run_id = train_gradient_boosting(page)
        click_sidebar_link(page, "Predict", "predict")
        expect(page.get_by_role("heading", name="Predict new rows")).to_be_visible()
        assert f"run={run_id}" in page.url, f"the Predict page lost the run: {page.url}"
        page.get_by_test_id("stFileUploaderDropzoneInput").set_input_files(str(tmp_path / "new rows.csv"))
        wait_for_app(page, started_ms=3_000, timeout_ms=120_000)
        expect(page.get_by_text(f"All {n} patients predicted")).to_be_visible()
        expect(page.get_by_text("Handled automatically")).to_be_visible()
        drawn_plotly_charts(page, 2, "predict")                        # predictions + drift
        assert_no_errors(page, "predict")
        shoot(page, "8_predict")
        with page.expect_download() as info:
            page.get_by_role("button", name="Download the predictions (CSV)").click()
        text = info.value.path().read_text(encoding="utf-8-sig")
        rows = list(csv.reader(io.StringIO(text, newline="")))
        header, body = rows[0], rows[1:]
        assert len(body) == n and "predicted diagnosis" in header and "reason 1" in header
        assert body[0][header.index("comment")] == "'=1+1"
        labels = {r[header.index("predicted diagnosis")] for r in body}
        assert labels <= {"benign", "malignant"} and all(r[header.index("reason 1")] for r in body)
        log(f"predict: {n} rows predicted and downloaded for run {run_id}")
