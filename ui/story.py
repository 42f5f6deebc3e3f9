"""The home page's demo story: run it with progress, show it as cards, present it full screen, download the slides.

Presentation mode is one slide per screen: the headline, the one number and a short text beside the picture, a row
of progress dots, Previous / Next (also the arrow keys and the space bar), speaker notes and the technical details
in pop-overs, the page behind the slide one click away. The sidebar and Streamlit's toolbar are hidden.
Every text on a slide is escaped: it holds names from the data (class labels, column names, labels users typed).
"""
from __future__ import annotations

from html import escape

import streamlit as st

from ui.common import chart, say, select, user_errors
from ui.runs import require_write

PRESENT_CSS = """<style>
[data-testid="stSidebar"], [data-testid="stSidebarCollapsedControl"], header, [data-testid="stToolbar"],
[data-testid="stDecoration"], [data-testid="stHeader"] {display: none !important;}
[data-testid="stMainBlockContainer"], .block-container {padding-top: 1.2rem !important; padding-bottom: .5rem !important;
  max-width: 100% !important; padding-left: 3.5vw !important; padding-right: 3.5vw !important;}
.st-key-present_space {display: none;}
.md-top {display: flex; align-items: center; gap: 1.2rem;}
.md-top svg {height: 40px; width: auto;}
.md-where {font-size: 1rem; letter-spacing: .08em; text-transform: uppercase; color: #57606a;}
.md-dots {margin-left: auto; display: flex; gap: .55rem;}
.md-dot {width: 14px; height: 14px; border-radius: 50%; border: 2px solid var(--md-blue, #0072B2);}
.md-dot.on {background: var(--md-blue, #0072B2);}
.md-step {font-size: 1.2rem; font-weight: 700; color: #0072B2; text-transform: uppercase; letter-spacing: .08em;
  margin-top: 2.5rem;}
.md-big {font-size: clamp(1.8rem, 3.1vw, 3.1rem); font-weight: 700; line-height: 1.15; margin: .5rem 0 1rem;}
.md-number {font-size: clamp(2.6rem, 5vw, 4.8rem); font-weight: 800; color: #0072B2; line-height: 1;}
.md-label {font-size: 1.2rem; color: #57606a; margin: .3rem 0 1rem;}
.md-sentence {font-size: clamp(1.1rem, 1.45vw, 1.5rem); line-height: 1.45;}
</style>"""

CHART_CONFIG = {"displayModeBar": False, "displaylogo": False}   # the slide's own look: no toolbar, house fonts

CARD_CSS = """<style>
.md-card-big {font-size: 1.6rem; font-weight: 700; line-height: 1.2; margin: .2rem 0 .6rem;}
.md-card-number {font-size: 2.4rem; font-weight: 800; color: #0072B2; line-height: 1;}
.md-card-label {color: #57606a; margin-bottom: .6rem;}
</style>"""


def _md(text: str) -> str:
    """Plain text for markdown: '$' kept as a dollar sign, never the start of a formula."""
    return text.replace("$", "\\$")


def _html(text: str) -> str:
    """Plain text for the slide's own markup: escaped, and '$' as an entity so markdown leaves it alone."""
    return escape(text).replace("$", "&#36;")


def run_demo(dataset_key: str):
    from core.share import run_story
    with st.status("Running the story: data → models → how good → why → smaller → cost → advice",
                   expanded=True) as status:
        bar = st.progress(0.0)
        with user_errors():
            story = run_story(dataset_key, progress=lambda f, m: bar.progress(min(f, 1.0), text=m),
                              store=require_write())
        status.update(label=f"Story ready in {story.seconds:.0f} s", state="complete", expanded=False)
    st.session_state["story"] = story
    st.session_state["story_page"] = 0
    select("run", story.run_id)
    return story


def _words_html(step) -> str:
    return (f"<div class='md-step'>{_html(step.title)}</div><div class='md-big'>{_html(say(step.big))}</div>"
            f"<div class='md-number'>{_html(step.number)}</div><div class='md-label'>{_html(step.number_label)}</div>"
            f"<div class='md-sentence'>{_html(say(step.sentence))}</div>")


def show_cards(story) -> None:
    """The story on the home page: one bordered card per slide, the words beside the picture."""
    st.markdown(CARD_CSS, unsafe_allow_html=True)
    st.success(_md(say(story.summary())))
    for step in story.steps:
        with st.container(border=True):
            words, picture = st.columns([2, 3], vertical_alignment="center")
            with words:
                st.caption(step.title.upper())
                st.markdown(f"<div class='md-card-big'>{_html(say(step.big))}</div>"
                            f"<div class='md-card-number'>{_html(step.number)}</div>"
                            f"<div class='md-card-label'>{_html(step.number_label)}</div>", unsafe_allow_html=True)
                st.markdown(_md(say(step.sentence)))
                if step.page:
                    st.page_link(step.page, label="The details", icon=":material/arrow_forward:")
            if step.figure is not None:
                with picture:
                    chart(step.figure, key=f"story_{step.key}", theme=None, config=CHART_CONFIG)


def download_slides(story, key: str) -> None:
    """One self-contained HTML file of the slides (built when clicked)."""
    from core.share import build_deck
    name = "".join(c if c.isalnum() else "-" for c in story.dataset_name.lower()).strip("-")
    st.download_button("Download the slides", data=lambda: build_deck(story), file_name=f"modeldeck-{name}.html",
                       mime="text/html", key=key, on_click="ignore", icon=":material/download:")


def _go(page: int) -> None:
    st.session_state["story_page"] = page


def _leave() -> None:
    st.session_state["present"] = False


def _top(story, page: int) -> str:
    from core.share import logo_svg
    dots = "".join(f"<span class='md-dot{' on' if k == page else ''}'></span>" for k in range(len(story.steps)))
    return (f"<div class='md-top'>{logo_svg()}<span class='md-where'>{escape(story.dataset_name)} · "
            f"{page + 1} / {len(story.steps)} · {escape(story.steps[page].title)}</span>"
            f"<span class='md-dots' aria-label='slide {page + 1} of {len(story.steps)}'>{dots}</span></div>")


def show_presentation(story) -> None:
    """One slide per screen, large type, keys and buttons to move, notes and details one click away."""
    st.markdown(PRESENT_CSS, unsafe_allow_html=True)
    last = len(story.steps) - 1
    page = min(max(int(st.session_state.get("story_page", 0)), 0), last)
    step = story.steps[page]
    st.markdown(_top(story, page), unsafe_allow_html=True)
    words, picture = st.columns([38, 62], vertical_alignment="center", gap="large")
    words.markdown(_words_html(step), unsafe_allow_html=True)
    if step.figure is not None:
        with picture:
            chart(step.figure, key=f"present_{step.key}", theme=None, config=CHART_CONFIG)
    back, forward, notes, details, download, leave = st.columns([1.1, 1.1, 1.4, 1.2, 1.8, 0.9],
                                                               vertical_alignment="center")
    back.button("Previous", disabled=page == 0, key="present_prev", icon=":material/arrow_back:",
                shortcut="Left", on_click=_go, args=(page - 1,))
    forward.button("Next", disabled=page == last, key="present_next", type="primary", icon=":material/arrow_forward:",
                   shortcut="Right", on_click=_go, args=(page + 1,))
    st.button("Next slide", key="present_space", shortcut="Space", on_click=_go, args=(min(page + 1, last),))
    with notes.popover("Speaker notes", icon=":material/record_voice_over:"):
        for line in step.notes:
            st.markdown(f"- {_md(escape(say(line)))}")
    with details.popover("Details", icon=":material/science:"):
        st.caption("The same facts in technical terms")
        st.markdown(_md(escape(say(step.technical))))
        if step.page:
            st.page_link(step.page, label="Open the page behind this slide", icon=":material/open_in_new:")
    with download:
        download_slides(story, "present_download")
    leave.button("Exit", key="present_exit", shortcut="Esc", on_click=_leave)
