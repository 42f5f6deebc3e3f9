"""What the finished trials say about the settings: an in-memory copy of them as an Optuna study (for Optuna's
importances and plots), each tuned setting's share of the importance, and the sentences that caption the
importance and landscape charts.
"""
from __future__ import annotations

from core.tune._status import TuneStatus
from core.tune._storage import quiet_optuna


def memory_study(status: TuneStatus):
    """An in-memory copy of the finished trials (Optuna's plots and importances take a Study)."""
    import optuna
    quiet_optuna()
    study = optuna.create_study(direction=status.config.direction)
    study.add_trials(status.complete_trials())
    return study


def importances(status: TuneStatus) -> dict[str, float]:
    """Share of importance per tuned setting (Optuna's PED-ANOVA; sums to 1), most important first.
    Empty when fewer than 3 trials finished or only one setting is tuned and never varied."""
    import optuna
    done = status.complete_trials()
    if len(done) < 3 or not status.config.space.dims:
        return {}
    values = {t.value for t in done}
    if len(values) < 2:
        return {}
    try:
        result = optuna.importance.get_param_importances(memory_study(status))
    except (ValueError, RuntimeError):
        return {}
    return dict(sorted(result.items(), key=lambda kv: -kv[1]))


def importance_sentence(status: TuneStatus, shares: dict[str, float]) -> str:
    if not shares:
        return "Setting importances need at least 3 finished trials with different scores."
    names = list(shares)
    if len(names) == 1:
        return f"Only '{names[0]}' is tuned, so it carries all the importance."
    if shares[names[0]] - shares[names[1]] < 0.05:
        text = (f"'{names[0]}' and '{names[1]}' matter most for reaching the best {status.metric.label.lower()} "
                f"({shares[names[0]]:.0%} and {shares[names[1]]:.0%} of the importance)")
    else:
        text = (f"'{names[0]}' matters most for reaching the best {status.metric.label.lower()} "
                f"({shares[names[0]]:.0%} of the importance)")
    if len(names) > 1 and shares[names[-1]] < 0.05:
        text += f"; '{names[-1]}' barely matters ({shares[names[-1]]:.0%})"
    return text + f". Measured on {len(status.complete_trials())} finished trials, so treat it as a hint."


def landscape_sentence(status: TuneStatus, shares: dict[str, float]) -> str:
    """The caption of charts.landscape_figure."""
    names = list(shares)[:2]
    if len(names) == 2:
        return (f"Darker means a better score; dots are trials. Where the dark region sits in '{names[0]}' and "
                f"'{names[1]}' is where to search next (between trials the colours are interpolated).")
    if names:
        where = "highest" if status.config.direction == "maximize" else "lowest"
        return f"Each dot is a trial: its score against '{names[0]}'. The best values sit where the dots are {where}."
    return ""


