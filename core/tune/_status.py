"""The state of a search, read from the database: `TuneStatus` (configuration, every trial, who is working on
it; counts, the best trial, the best-so-far curve and a headline in plain words), `study_status` to read one
(marking trials of dead workers failed first), and `list_studies` for the searches on a data set.
"""
from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from datetime import datetime

import numpy as np

from core.common import ModelDeckError
from core.models import FAMILIES, IMAGE_FAMILIES, ModelSpec
from core.tune._config import CLOSE, STRATEGIES, Metric, TuneConfig, metric_for
from core.tune._storage import ATTR, OWNER_ATTR, STOP_ATTR, load_study, open_storage, visible
from core.tune._worker import worker_alive


def best_so_far(values: list[float], direction: str) -> list[float]:
    """The best value up to each point of a sequence of scores."""
    pick = np.maximum if direction == "maximize" else np.minimum
    return [float(v) for v in pick.accumulate(np.asarray(values, dtype=float))] if values else []


def _counting(state: str) -> property:
    """A read-only count of the study's trials in one Optuna state."""
    return property(lambda self: sum(t.state.name == state for t in self.trials))


@dataclass
class TuneStatus:
    """A snapshot of a search: its configuration, every trial so far and who is working on it."""

    name: str
    config: TuneConfig
    task: str
    dataset_name: str
    trials: list                       # optuna FrozenTrials, by number
    workers: dict[str, dict]
    stop_requested: bool = False
    group: str | None = None
    lost: dict[int, str] = field(default_factory=dict)

    # ---- counts of trials by state
    n_complete = _counting("COMPLETE")
    n_pruned = _counting("PRUNED")
    n_failed = _counting("FAIL")
    n_running = _counting("RUNNING")

    @property
    def n_finished(self) -> int:
        return self.n_complete + self.n_pruned + self.n_failed

    @property
    def metric(self) -> Metric:
        return metric_for(self.task, self.config.metric)

    @property
    def active_workers(self) -> int:
        return sum(worker_alive(w) for w in self.workers.values())

    @property
    def active(self) -> bool:
        return self.active_workers > 0 or self.n_running > 0

    @property
    def done(self) -> bool:
        return not self.active and self.n_finished >= self.config.budget

    @property
    def version(self) -> str:
        """Changes whenever a trial finishes (a cache key for charts)."""
        last = max((t.datetime_complete for t in self.trials if t.datetime_complete), default=None)
        return f"{self.n_finished}:{last}"

    # ---- scores
    def complete_trials(self) -> list:
        return [t for t in self.trials if t.state.name == "COMPLETE"]

    @property
    def best(self):
        done = self.complete_trials()
        if not done:
            return None
        pick = max if self.config.direction == "maximize" else min
        return pick(done, key=lambda t: t.value)

    def best_so_far(self) -> tuple[list[int], list[float]]:
        """Trial numbers and the best value up to each complete trial, in trial order."""
        done = self.complete_trials()
        return [t.number for t in done], best_so_far([t.value for t in done], self.config.direction)

    def best_spec(self) -> ModelSpec:
        best = self.best
        if best is None:
            raise ModelDeckError("No trial has finished yet, so there is no best configuration to train.")
        return self.config.space.spec(best.params, self.config.seed)

    @property
    def elapsed_s(self) -> float:
        starts = [t.datetime_start for t in self.trials if t.datetime_start]
        if not starts:
            return 0.0
        ends = [t.datetime_complete for t in self.trials if t.datetime_complete]
        end = datetime.now() if self.active or not ends else max(ends)
        return max((end - min(starts)).total_seconds(), 0.0)

    def fail_reasons(self) -> list[str]:
        reasons = [self.lost.get(t.number) or t.system_attrs.get("fail_reason", "") for t in self.trials
                   if t.state.name == "FAIL"]
        return [r for r in reasons if r]

    # ---- sentences
    def headline(self) -> str:
        """Where the search stands, in one or two sentences."""
        metric, best, budget = self.metric, self.best, self.config.budget
        workers = self.active_workers
        who = f" by {workers} worker{'s' * (workers != 1)}" if workers else ""
        text = (f"{self.n_finished} of {budget} trials done{who} in {duration(self.elapsed_s)}"
                + (f" ({self.n_pruned} stopped early by the pruner)" if self.n_pruned else "") + ".")
        if self.n_failed:
            reasons = self.fail_reasons()
            text += f" {self.n_failed} failed" + (f" — e.g. {reasons[0].splitlines()[0][:160]}" if reasons else "") + "."
        if best is None:
            return text + " No trial has finished yet."
        text += (f" Best cross-validated {metric.label.lower()} so far: {metric.format(best.value)} "
                 f"(trial {best.number}).")
        return text + self._plateau_sentence()

    def _plateau_sentence(self, window: int = 10) -> str:
        _, curve = self.best_so_far()
        if len(curve) <= window:
            return ""
        gain = abs(curve[-1] - curve[-1 - window])
        if gain < CLOSE:
            return (f" The last {window} finished trials did not improve it by {self.metric.close_text}: more trials "
                    "are unlikely to help much.")
        return f" The last {window} finished trials improved it by {self.metric.points(gain)}."


def duration(seconds: float) -> str:
    seconds = int(round(seconds))
    if seconds < 60:
        return f"{seconds} s"
    minutes, seconds = divmod(seconds, 60)
    if minutes < 60:
        return f"{minutes} min {seconds:02d} s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes:02d} min"


def fail_trials_of_gone_workers(study, trials: list) -> bool:
    """Mark failed the running `trials` whose worker process on this machine is gone; → whether any was. Optuna's
    heartbeat check (`fail_stale_trials`) skips a trial that has no heartbeat yet, so a worker killed in the instant
    between starting a trial and its first heartbeat left that trial running for ever (and its search never done)."""
    import socket

    from optuna.exceptions import UpdateFinishedTrialError
    from optuna.trial import TrialState

    from core.runs import pid_alive
    from core.tune._storage import _note_lost_trial
    here, failed = socket.gethostname(), False
    for trial in trials:
        host, _, pid = str(trial.user_attrs.get("worker", "")).rpartition(":")
        if trial.state == TrialState.RUNNING and host == here and pid.isdigit() and not pid_alive(int(pid)):
            try:
                study._storage.set_trial_state_values(trial._trial_id, state=TrialState.FAIL)
            except UpdateFinishedTrialError:      # it ended meanwhile after all
                continue
            _note_lost_trial(study, trial)
            failed = True
    return failed


def study_status(name: str) -> TuneStatus:
    """Read a search from the database (marking trials of dead workers failed first)."""
    import optuna
    from optuna.exceptions import ExperimentalWarning
    study, config = load_study(name, worker=None)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ExperimentalWarning)
        optuna.storages.fail_stale_trials(study)
    trials = study.get_trials(deepcopy=False)
    if fail_trials_of_gone_workers(study, trials):      # read once; again only when a trial was just failed
        trials = study.get_trials(deepcopy=False)
    trials = sorted(trials, key=lambda t: t.number)
    attrs = study.user_attrs
    return TuneStatus(
        name=name, config=config, task=attrs.get("task", "classification"),
        dataset_name=attrs.get("dataset_name", config.dataset_key), trials=trials,
        workers={k[len("worker:"):]: v for k, v in attrs.items() if k.startswith("worker:")},
        stop_requested=bool(attrs.get(STOP_ATTR)), group=attrs.get("group"),
        lost={int(k[len("lost:"):]): v for k, v in attrs.items() if k.startswith("lost:")},
    )


@dataclass(frozen=True)
class StudyInfo:
    name: str
    dataset_key: str
    family: str
    strategy: str
    metric: str
    budget: int
    n_trials: int
    created: str
    group: str | None

    def label(self, task: str) -> str:
        known = FAMILIES | IMAGE_FAMILIES
        title = known[self.family].title[task] if self.family in known else self.family
        group = " · comparison" if self.group else ""
        return (f"{title}, {STRATEGIES.get(self.strategy, self.strategy)}, {self.n_trials}/{self.budget} "
                f"trials{group} — {self.name}")


def list_studies(dataset_key: str | None = None, visible_to: str | None = None) -> list[StudyInfo]:
    """ModelDeck searches in the database, newest first (optionally only those on one data set; with
    `visible_to`, only that owner's searches and the ones that belong to no one)."""
    import optuna
    infos = []
    for summary in optuna.get_all_study_summaries(open_storage(), include_best_trial=False):
        attrs = summary.user_attrs
        conf = attrs.get(ATTR)
        if not conf or (dataset_key and conf["dataset_key"] != dataset_key) or \
                not visible(attrs.get(OWNER_ATTR), visible_to):
            continue
        infos.append(StudyInfo(summary.study_name, conf["dataset_key"], conf["space"]["family"], conf["strategy"],
                               conf["metric"], int(conf["budget"]), summary.n_trials, attrs.get("created", ""),
                               attrs.get("group")))
    return sorted(infos, key=lambda s: s.created, reverse=True)


