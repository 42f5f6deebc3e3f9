"""The Recommend page through AppTest on the built-in data: build (a background job), read, pick a user, save a
run, reopen it; a new session (the tab closed and opened again) finds the built recommenders in the store."""
from __future__ import annotations

from core.runs import RunStore
from tests.test_pages import assert_clean, button, finish_jobs, open_page


def test_recommend_page_builds_explains_and_saves(fresh_home):
    at = open_page("pages/recommend.py")
    assert_clean(at)
    assert [m.value for m in at.metric][:3] == ["1,000", "3,000", "60,083"]
    assert len(at.get("plotly_chart")) == 1                        # the long tail, before building
    button(at, "rec_build").click().run()
    assert_clean(at)
    job = RunStore().jobs(kind="recommend")[0]
    assert job.status in ("queued", "running", "done") and job.params["data_key"] == "recsys:streaming"
    finish_jobs(at)
    assert_clean(at)
    assert RunStore().get_job(job.id).status == "done"
    assert len(at.get("plotly_chart")) >= 6
    headline = next(m.value for m in at.markdown if "ranks best" in m.value)
    assert "Hybrid (content + ALS) ranks best" in headline          # the target on the built-in set
    captions = " ".join(c.value for c in at.caption)
    assert "good star predictions do not make a good top-10" in captions
    assert "library default 0.01 gives" in captions
    table = next(df for df in at.dataframe if "title" in df.value and "ndcg" in df.value).value
    assert len(table) == 7

    at.select_slider(key="rec_k").set_value(5).run()
    assert_clean(at)
    assert any("top 5" in s.value for s in at.subheader)

    button(at, "rec_save").click().run()
    assert_clean(at)
    runs = RunStore().list(kind="recommender")
    assert len(runs) == 1 and runs[0].status == "done" and runs[0].metrics["primary"] == "ndcg@5"
    assert runs[0].id in at.success[0].value

    at.multiselect(key="rec_new_cats").select("Horror").run()
    assert_clean(at)
    lists = [m.value for m in at.markdown if m.value.startswith("1. **")]
    assert len(lists) == 7 + 4                                      # the user's 7 models, the visitor's 4
    visitor_hybrid = lists[7]
    assert visitor_hybrid.count("Popular in Horror, a genre you picked") == 5     # k = 5

    again = open_page("pages/recommend.py")                         # the tab closed and opened again
    assert_clean(again)
    assert not [b for b in again.button if b.key == "rec_build"]    # nothing to build: it is in the store
    assert next(m.value for m in again.markdown if "ranks best" in m.value) == headline
    assert len(RunStore().jobs(kind="recommend")) == 1

    reopened = open_page("pages/recommend.py", run=runs[0].id)       # the saved run, read from its files
    assert_clean(reopened)
    assert any(s.value.startswith("Saved run:") for s in reopened.subheader)
    metrics_page = open_page("pages/metrics.py", run=runs[0].id)     # other pages ignore recommender runs
    assert_clean(metrics_page)
    runs_page = open_page("pages/runs.py")
    assert_clean(runs_page)
