"""The story as one self-contained HTML slide deck: the same slides and figures as the app, plotly.js inline, no
network, arrow keys / space / Page Up-Down to move, dots to jump, N for speaker notes, F for full screen.

`build_deck(story)` returns the HTML text; `write_deck(story, path)` writes it.
"""
from __future__ import annotations

import html
from pathlib import Path

from core.common import atomic_write
from core.share._theme import CSS_VARS, logo_svg

CSS = """
*{box-sizing:border-box}html,body{margin:0;height:100%;background:#fff;color:var(--md-ink);font-family:var(--md-font)}
.deck{height:100vh;width:100vw;overflow:hidden;position:relative}
.slide{display:none;height:100vh;padding:2.2vh 3.5vw 1vh;flex-direction:column}
.slide.on{display:flex}
.top{display:flex;align-items:center;gap:1.2rem;height:6vh;min-height:38px}
.top .logo svg{height:4.6vh;min-height:30px;width:auto}
.top .where{font-size:1.05rem;letter-spacing:.08em;text-transform:uppercase;color:#57606a}
.dots{margin-left:auto;display:flex;gap:.55rem}
.dot{width:14px;height:14px;border-radius:50%;border:2px solid var(--md-blue);background:transparent;cursor:pointer;padding:0}
.dot.on{background:var(--md-blue)}
.body{flex:1;display:grid;grid-template-columns:minmax(320px,38fr) 62fr;gap:3vw;align-items:center;min-height:0}
.step{font-size:1.25rem;font-weight:700;color:var(--md-blue);text-transform:uppercase;letter-spacing:.08em}
.big{font-size:clamp(1.8rem,3.4vw,3.3rem);font-weight:700;line-height:1.15;margin:.6rem 0 1.2rem}
.number{font-size:clamp(2.6rem,5.4vw,5.2rem);font-weight:800;color:var(--md-blue);line-height:1}
.label{font-size:1.25rem;color:#57606a;margin:.3rem 0 1.2rem}
.text{font-size:clamp(1.1rem,1.5vw,1.55rem);line-height:1.45}
.picture{height:100%;min-height:0;display:flex;align-items:center}
.picture>div{width:100%}
.notes{display:none;position:absolute;left:3.5vw;right:3.5vw;bottom:5vh;background:var(--md-soft);
border-left:6px solid var(--md-orange);padding:1rem 1.4rem;font-size:1.1rem;line-height:1.45;border-radius:6px}
.notes.show{display:block}.notes h3{margin:.1rem 0 .5rem;font-size:1rem;text-transform:uppercase;letter-spacing:.08em}
.hint{height:3.5vh;font-size:.95rem;color:#8b949e;text-align:right}
"""

JS = """
(function(){
  var slides=[].slice.call(document.querySelectorAll('.slide')), dots=[].slice.call(document.querySelectorAll('.dot'));
  var i=0, notes=false;
  function show(n){
    i=Math.max(0,Math.min(slides.length-1,n));
    slides.forEach(function(s,k){s.classList.toggle('on',k===i);});
    dots.forEach(function(d){var on=+d.getAttribute('data-k')===i;d.classList.toggle('on',on);
      d.setAttribute('aria-current',on?'step':'false');});
    document.querySelectorAll('.notes').forEach(function(el){el.classList.toggle('show',notes);});
    var plot=slides[i].querySelector('.plotly-graph-div');
    if(plot&&window.Plotly){Plotly.Plots.resize(plot);}
    if(history.replaceState){history.replaceState(null,'','#'+(i+1));}
    document.body.setAttribute('data-slide',String(i+1));
  }
  document.addEventListener('keydown',function(e){
    var k=e.key;
    if(k==='ArrowRight'||k==='ArrowDown'||k===' '||k==='PageDown'||k==='Enter'){show(i+1);e.preventDefault();}
    else if(k==='ArrowLeft'||k==='ArrowUp'||k==='PageUp'||k==='Backspace'){show(i-1);e.preventDefault();}
    else if(k==='Home'){show(0);}else if(k==='End'){show(slides.length-1);}
    else if(k==='n'||k==='N'){notes=!notes;show(i);}
    else if((k==='f'||k==='F')&&document.documentElement.requestFullscreen){
      if(document.fullscreenElement){document.exitFullscreen();}else{document.documentElement.requestFullscreen();}}
  });
  dots.forEach(function(d){d.addEventListener('click',function(){show(+d.getAttribute('data-k'));});});
  window.addEventListener('resize',function(){show(i);});
  var start=parseInt((location.hash||'#1').slice(1),10);
  show(isNaN(start)?0:start-1);
})();
"""


def _figure_html(fig, index: int) -> str:
    fig = fig.to_dict() if hasattr(fig, "to_dict") else fig
    import plotly.graph_objects as go
    figure = go.Figure(fig)
    figure.update_layout(height=None, autosize=True)
    return figure.to_html(full_html=False, include_plotlyjs=False, div_id=f"picture-{index + 1}",
                          default_height="62vh", default_width="100%",
                          config={"displaylogo": False, "displayModeBar": False, "responsive": True})


def _slide(step, index: int, total: int, dataset: str) -> str:
    e = html.escape
    dots = "".join(f"<button class='dot' data-k='{k}' aria-label='slide {k + 1}' title='{k + 1}'></button>"
                   for k in range(total))
    notes = "".join(f"<li>{e(n)}</li>" for n in step.notes)
    picture = _figure_html(step.figure, index) if step.figure is not None else ""
    return (f"<section class='slide' id='slide-{index + 1}' data-key='{e(step.key)}'>"
            f"<div class='top'><span class='logo'>{logo_svg()}</span>"
            f"<span class='where'>{e(dataset)} · {index + 1} / {total}</span><nav class='dots'>{dots}</nav></div>"
            f"<div class='body'><div class='words'><div class='step'>{e(step.title)}</div>"
            f"<div class='big'>{e(step.big)}</div><div class='number'>{e(step.number)}</div>"
            f"<div class='label'>{e(step.number_label)}</div><div class='text'>{e(step.sentence)}</div></div>"
            f"<div class='picture'>{picture}</div></div>"
            f"<aside class='notes'><h3>Speaker notes</h3><ul>{notes}</ul></aside>"
            "<div class='hint'>← → or space to move · N notes · F full screen</div></section>")


def build_deck(story) -> str:
    """The whole deck as one HTML page that opens offline."""
    from plotly.offline import get_plotlyjs
    title = f"ModelDeck · {story.dataset_name}"
    slides = "".join(_slide(step, i, len(story.steps), story.dataset_name) for i, step in enumerate(story.steps))
    return (f"<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>"
            f"<meta name='viewport' content='width=device-width,initial-scale=1'><title>{html.escape(title)}</title>"
            f"<style>{CSS_VARS}{CSS}</style><script>{get_plotlyjs()}</script></head>"
            f"<body data-slide='1'><main class='deck'>{slides}</main><script>{JS}</script></body></html>")


def write_deck(story, path: Path | str) -> Path:
    path = Path(path)
    atomic_write(path, build_deck(story).encode("utf-8"))
    return path


SUMMARY_CSS = """.md-summary{display:grid;grid-template-columns:repeat(auto-fill,minmax(480px,1fr));gap:1rem;margin:1rem 0}
.md-card{border:1px solid #d0d7de;border-radius:8px;padding:.8rem 1rem}
.md-card .step{font-size:.85rem;font-weight:700;color:var(--md-blue);text-transform:uppercase;letter-spacing:.08em}
.md-card h3{margin:.3rem 0 .4rem;font-size:1.2rem;line-height:1.25}
.md-card .number{font-size:2rem;font-weight:800;color:var(--md-blue);line-height:1}
.md-card .label{color:#57606a;margin-bottom:.3rem}.md-card p{margin:.3rem 0}"""


def summary_html(steps) -> str:
    """The slides on one page (the report's summary): a card per slide with its headline, number, text and a small
    picture. Needs plotly.js on the page."""
    e = html.escape
    cards = []
    for i, step in enumerate(steps):
        picture = ""
        if step.figure is not None:
            import plotly.graph_objects as go
            figure = go.Figure(step.figure)
            figure.update_layout(height=300, title=None, margin=dict(l=10, r=10, t=30, b=40), font=dict(size=13))
            figure.update_annotations(font=dict(size=12))
            picture = figure.to_html(full_html=False, include_plotlyjs=False, div_id=f"summary-{i + 1}",
                                     config={"displaylogo": False, "displayModeBar": False})
        cards.append(f"<div class='md-card'><div class='step'>{i + 1} · {e(step.title)}</div><h3>{e(step.big)}</h3>"
                     f"<div class='number'>{e(step.number)}</div><div class='label'>{e(step.number_label)}</div>"
                     f"<p>{e(step.sentence)}</p>{picture}</div>")
    return f"<style>{SUMMARY_CSS}</style><div class='md-summary'>{''.join(cards)}</div>"
