"""The home page's demo story: run it with progress, show it as cards or as a presentation."""
from __future__ import annotations

from html import escape

import streamlit as st

from core.share import Story, run_story
from ui.common import caption, chart, say, select, user_errors
from ui.runs import require_write

PRESENT_CSS = """<style>
[data-testid="stSidebar"], header {display: none;}
.md-big {font-size: 3.2rem; font-weight: 700; line-height: 1.15; margin: 1.5rem 0;}
.md-step {font-size: 1.1rem; color: #57606a; text-transform: uppercase; letter-spacing: .08em;}
.md-sentence {font-size: 1.5rem; line-height: 1.5;}
</style>"""


def run_demo(dataset_key: str) -> Story:
    with st.status("Running the story: data → model → how good → why → smaller → advice", expanded=True) as status:
        bar = st.progress(0.0)
        with user_errors():
            story = run_story(dataset_key, progress=lambda f, m: bar.progress(min(f, 1.0), text=m),
                              store=require_write())
        status.update(label=f"Story ready in {story.seconds:.0f} s", state="complete", expanded=False)
    st.session_state["story"] = story
    st.session_state["story_page"] = 0
    select("run", story.run_id)
    return story


def show_cards(story: Story) -> None:
    st.success(say(story.summary()))
    for step in story.steps:
        with st.container(border=True):
            caption(step.title.upper())
            st.markdown(f"### {say(step.big)}")
            st.write(say(step.sentence))
            if step.figure is not None:
                chart(step.figure, key=f"story_{step.key}")


def show_presentation(story: Story) -> None:
    """One idea per screen, large type, previous / next only."""
    st.markdown(PRESENT_CSS, unsafe_allow_html=True)
    page = st.session_state.get("story_page", 0)
    step = story.steps[page]
    # the text holds names from the data (class labels, column names and labels typed by users): escaped, so it
    # shows as text and never as markup
    st.markdown(f"<div class='md-step'>{page + 1} / {len(story.steps)} · {escape(step.title)}</div>"
                f"<div class='md-big'>{escape(say(step.big))}</div>"
                f"<div class='md-sentence'>{escape(say(step.sentence))}</div>", unsafe_allow_html=True)
    if step.figure is not None:
        chart(step.figure, key=f"present_{step.key}")
    back, _, forward, leave = st.columns([1, 4, 1, 1])
    if back.button("Previous", disabled=page == 0, key="present_prev", icon=":material/arrow_back:"):
        st.session_state["story_page"] = page - 1
        st.rerun()
    if forward.button("Next", disabled=page == len(story.steps) - 1, key="present_next", type="primary",
                      icon=":material/arrow_forward:"):
        st.session_state["story_page"] = page + 1
        st.rerun()
    if leave.button("Exit", key="present_exit"):
        st.session_state["present"] = False
        st.rerun()
