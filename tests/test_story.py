"""The one-minute demo story: core steps and the home page (cards and presentation mode)."""
from __future__ import annotations

from core.runs import RunStore
from tests.test_pages import assert_clean, button, open_page


def test_home_story_runs_end_to_end_and_presents(fresh_home):
    at = open_page("pages/home.py")
    button(at, "home_story").click().run()
    assert_clean(at)
    story = at.session_state["story"]
    assert [s.key for s in story.steps] == ["data", "best_model", "how_good", "why", "smaller", "advice"]
    assert story.steps[2].big.startswith("Right ") and "times out of 100" in story.steps[2].big
    assert story.steps[3].big.startswith("Top drivers:")
    run = RunStore().get(story.run_id)
    assert run.status == "done" and run.name.startswith("Demo:")
    from core.share import build_report
    report = build_report(run.id)                      # the story's SHAP values and compression are in the report
    assert "Why the model decides" in report and "<h2>Smaller and faster</h2>" in report
    assert any("times out of 100" in s.value for s in at.success)
    assert len(at.get("plotly_chart")) >= 2
    button(at, "home_present").click().run()
    assert_clean(at)
    assert any("1 / 6" in m.value for m in at.markdown)
    button(at, "present_next").click().run()
    assert any("2 / 6" in m.value for m in at.markdown)
    button(at, "present_prev").click().run()
    button(at, "present_exit").click().run()
    assert_clean(at)
    assert not at.session_state["present"]
