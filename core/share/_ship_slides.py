"""The story's last slides: smaller and faster (or already small), what running it costs, and what to do next.

Headlines are generated from the measured rows and never contradict them: "smaller" only with a smaller file,
"faster" only with a shorter median time per answer, and a slower version is called slower, with whether a person
would notice (a tenth of a second or more).
"""
from __future__ import annotations

from core.share import _slide_figures as figs
from core.share._checks import checklist, plain_advice
from core.share._slides import INSTANT_MS, Contender, StoryStep, Words
from core.share._words import fmt_money, fmt_ms, fmt_size, fmt_times, plain_model

SAME = 1.1                  # ratios within 10% of 1 are "about the same"


def _how(row: dict) -> str:
    """What was done to the model, in plain words."""
    method = row.get("method", "")
    engine = " It also runs on a faster engine." if row.get("engine") == "ONNX Runtime" else ""
    if method == "quantize":
        return "Its numbers are stored as small whole numbers." + engine
    if method == "trees":
        return f"It keeps fewer trees ({row['variant'].split(' ')[0]})." + engine
    if method == "baseline":
        return "It is the same model on a faster engine."
    return "It is a lighter copy of the model." + engine


def speed_words(before_ms: float, after_ms: float) -> tuple[str, float]:
    """('2.1× faster' | 'about as fast' | 'a bit slower …', ratio before/after)."""
    ratio = before_ms / after_ms if after_ms > 0 else float("inf")
    if ratio >= SAME:
        return f"{fmt_times(ratio)} faster", ratio
    if ratio > 1 / SAME:
        return f"about as fast ({fmt_ms(after_ms)} per answer)", ratio
    feel = "still instant for a person" if after_ms < INSTANT_MS else "slow enough for a person to notice"
    return (f"answers in {fmt_ms(after_ms)}, slower than the original's {fmt_ms(before_ms)} but {feel}"
            if after_ms < INSTANT_MS else f"answers in {fmt_ms(after_ms)}, slower than the original's "
            f"{fmt_ms(before_ms)}: {feel}"), ratio


def smaller_headline(before: dict, after: dict) -> str:
    """The smaller-and-faster headline, from the two rows' bytes and median times."""
    size = before["bytes"] / after["bytes"]
    speed, ratio = speed_words(before["b1_ms"], after["b1_ms"])
    if size >= SAME:
        lead = f"{fmt_times(size)} smaller"
    elif size > 1 / SAME:
        lead = "The same size"
    else:
        lead = f"{fmt_times(1 / size)} larger"
    joiner = " and " if ratio >= SAME else ", "
    return f"{lead}{joiner}{speed}."


def _title(before: dict, after: dict) -> str:
    smaller, faster = before["bytes"] / after["bytes"] >= SAME, before["b1_ms"] / after["b1_ms"] >= SAME
    return {(True, True): "Smaller and faster", (True, False): "Smaller", (False, True): "Faster"}.get(
        (smaller, faster), "Smaller or faster?")


def _same_answers(row: dict, table, words: Words) -> str:
    if table.task == "classification":
        return f"It gives the same answer for {round(row['agreement'] * table.test_rows)} of {table.test_rows} " \
               f"{words.many}."
    return f"Its answers track the original's closely ({row['agreement']:.0%} alike)."


def _reasons(row: dict) -> str:
    if row.get("shap_rank_corr") is None:
        return ""
    firm = row["shap_rank_corr"] >= 0.8 and row.get("shap_rank_low", 0.0) >= 0.8
    return (" It leans on the same facts in the same order." if firm else
            " The order of the facts it leans on shifted a little: check before you use it.")


def smaller_slide(table, words: Words, fastest: dict | None, smallest: dict | None = None) -> StoryStep:
    """Before / after: the original against the fastest honest deployment (`fastest`), or against the smallest file
    within the budget (`smallest`) when nothing answers faster than the original."""
    from core.compress import headline
    before = table.rows[0]
    technical = " ".join([headline(table), *table.notes])
    notes = [f"Times: the middle value of {before.get('b1_runs', 0)} or more one-{words.one} requests each, on "
             f"{table.threads} core of this machine ({table.cpu.get('model', 'this CPU')}), measured in this run.",
             f"Same answers counted on the {table.test_rows} {words.many} set aside. Versions that lost more than "
             f"a point on the {words.many} it learned from were not considered."]
    shown = fastest if fastest is not None and fastest is not before else smallest
    if shown is None:
        fig = figs.before_after_figure(("Original", before["bytes"], before["b1_ms"]))
        return StoryStep("smaller", "Smaller or faster?", "Nothing smaller or faster kept its answers: we keep the "
                         "original.", f"It answers in {fmt_ms(before['b1_ms'])} and its file is "
                         f"{fmt_size(before['bytes'])}.", fig, fmt_size(before["bytes"]), "file size, unchanged",
                         notes, technical, "pages/compress.py")
    head = smaller_headline(before, shown)
    text = f"{_same_answers(shown, table, words)}{_reasons(shown)} {_how(shown)}"
    if shown is fastest and smallest is not None:
        pace, ratio = speed_words(before["b1_ms"], smallest["b1_ms"])
        pace = f"is {pace} than the original" if ratio >= SAME else f"is {pace}" if ratio > 1 / SAME else pace
        text += f" A version {fmt_times(before['bytes'] / smallest['bytes'])} smaller {pace}."
    elif shown is smallest:
        text += " The original itself answers fastest."
    size, speed = before["bytes"] / shown["bytes"], before["b1_ms"] / shown["b1_ms"]
    number, label = ((fmt_times(size), "smaller file") if size >= SAME else (fmt_times(speed), "faster answers")
                     if speed >= SAME else (fmt_ms(shown["b1_ms"]), "per answer"))
    notes.insert(0, f"Sizes are the model files on disk: {fmt_size(before['bytes'])} before, "
                    f"{fmt_size(shown['bytes'])} after.")
    versions = [("Original", before["bytes"], before["b1_ms"]),
                ("Smaller" if size >= SAME else "Ready to ship", shown["bytes"], shown["b1_ms"])]
    if shown is fastest and smallest is not None:
        versions.append(("Smallest", smallest["bytes"], smallest["b1_ms"]))
    fig = figs.before_after_figure(*versions)
    return StoryStep("smaller", _title(before, shown), head, text, fig, number, label, notes, technical,
                     "pages/compress.py")


def already_small_slide(board: list[Contender], words: Words) -> StoryStep:
    chosen = next(i for i, c in enumerate(board) if c.chosen)
    win = board[chosen]
    biggest = max(board, key=lambda c: c.size_bytes)
    head = f"Already small: {fmt_size(win.size_bytes)}, and about {fmt_ms(win.ms_per_row)} per answer."
    text = f"It is a {plain_model(win.family).lower()}, so there is nothing to shrink."
    if win.family == "cnn":
        text = (f"It is a {plain_model(win.family).lower()}; the story does not shrink it, the Compress page can "
                "(rounder numbers, fewer parts, a smaller copy).")
    if biggest is not win and win.size_bytes > 0:
        text += (f" The {plain_model(biggest.family).lower()} would be "
                 f"{fmt_times(biggest.size_bytes / win.size_bytes)} bigger.")
    quickest = min(board, key=lambda c: c.ms_per_row)
    if quickest is not win and win.ms_per_row > SAME * quickest.ms_per_row:
        feel = "all are instant for a person" if win.ms_per_row < INSTANT_MS else "a person may notice the wait"
        text += (f" The {plain_model(quickest.family).lower()} answers faster ({fmt_ms(quickest.ms_per_row)}), "
                 f"but {feel}.")
    fig = figs.contenders_cost_figure([plain_model(c.family) for c in board], [c.size_bytes for c in board],
                                      [c.ms_per_row for c in board], chosen)
    notes = ["Sizes are the saved model files. Times are per answer when the rows set aside are asked all at once "
             "(cleaning step included), measured in this run on this machine."]
    technical = "; ".join(f"{c.title}: {c.size_bytes:,} bytes, {c.ms_per_row:.4f} ms per row" for c in board)
    return StoryStep("smaller", "Small already", head, text, fig, fmt_size(win.size_bytes), "file size", notes,
                     technical, "pages/compress.py")


# ---------------------------------------------------------------- cost
VOLUMES = (10_000, 1_000_000, 100_000_000)


def cost_slide(throughputs: list, variant: str, words: Words) -> StoryStep | None:
    """What running the shipped version costs, from its measured answers per second on one core (None when it
    was not measured)."""
    from core.compress import DEFAULT_PRICE_PER_HOUR, serving_cost
    rows = [t for t in throughputs if t.batch == 1 and t.variant == variant] or \
        [t for t in throughputs if t.batch == 1]
    if not rows:
        return None
    t = max(rows, key=lambda r: r.rows_per_s)
    costs = [serving_cost(t.variant, t.rows_per_s, v) for v in VOLUMES]
    main = costs[1]
    cores = "One computer core" if main.cores == 1 else f"{main.cores} computer cores"
    busy = "less than 1%" if main.busy < 0.01 else f"{main.busy:.0%}"
    head = f"About {fmt_money(main.per_month)} a month for a million answers a day."
    text = (f"{cores} can do it, busy {busy} of the time. One core answers about {t.rows_per_s:,.0f} "
            f"{words.many} a second.")
    if t.model_rows_per_s and t.rows_per_s < 0.5 * t.model_rows_per_s:
        text += " Most of that time goes into tidying the facts, not into the model."
    notes = [f"Measured in this run: {t.rows_per_s:,.0f} answers a second on one core, one {words.one} per request, "
             "cleaning step included.",
             f"Price: ${DEFAULT_PRICE_PER_HOUR:g} per core-hour (about a rented cloud computer), with at least one core "
             "kept on all month. Traffic is spread evenly over the day; peaks need more."]
    return StoryStep("cost", "What it costs to run", head, text,
                     figs.cost_figure(list(VOLUMES), [c.per_month for c in costs], 1),
                     fmt_money(main.per_month), "a month, a million answers a day", notes, main.sentence(),
                     "pages/compress.py")


# ---------------------------------------------------------------- advice
def _in_words(advice, words: Words):
    """The advice with class names said the data set's way ('yes' -> 'left the company') and column labels."""
    from dataclasses import replace

    from core.share._slides import _yes
    evidence = {k: words.target if k == "smallest_class" and _yes(str(v)) else
                words.col(v) if isinstance(v, str) and k in ("feature", "column", "worst_column") else v
                for k, v in (advice.evidence or {}).items()}
    return replace(advice, evidence=evidence)


def advice_slide(advice: list, task: str, network: bool, words: Words) -> StoryStep:
    checks = checklist(advice, task, network)
    passed = sum(1 for _c, s in checks if s == "ok")
    warnings = [a for a in advice if a.severity in ("critical", "warning") and a.rule != "compression_pick"]
    notes_only = [a for a in advice if a.severity == "info" and a.rule != "compression_pick"]
    if warnings:
        finding, action = plain_advice(_in_words(warnings[0], words))
        head, text = action, finding
    elif notes_only:
        finding, action = plain_advice(_in_words(notes_only[0], words))
        head = f"No warnings in {len(checks)} checks. Next: try it on fresh {words.many}."
        text = f"One note: {finding[0].lower() + finding[1:]} {action}"
    else:
        head = f"All {len(checks)} checks passed. Next: try it on fresh {words.many}."
        text = "Nothing worrying stood out. Before anyone relies on it, check it on new cases from real use."
    notes = ["Each check is a rule run over the numbers on the earlier slides; the Advice page shows the numbers "
             "behind every one."]
    technical = " ".join(f"[{a.severity}] {a.finding} {a.action}" for a in advice) or "No advisor rule fired."
    return StoryStep("advice", "What to do next", head, text, figs.checks_figure(checks), f"{passed} / {len(checks)}",
                     "checks passed", notes, technical, "pages/advice.py")
