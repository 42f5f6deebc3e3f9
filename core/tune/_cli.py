"""The `python -m core tune-worker` command: join a study from this process (or from another machine that has
the database URL) and print one line per trial.

    python -m core tune-worker --study NAME [--trials N] [--timeout S] [--worker K]

The study's trial budget is shared by all its workers (Optuna's MaxTrialsCallback, counting complete, pruned,
failed and running trials): a worker stops once the study has all its trials, whoever ran them, so a worker that
dies leaves its trials to the others. Without --trials a worker runs until then. `--trials N` caps this worker
at N trials, and it still stops at the budget; it no longer runs N trials past it. (Capped workers do not hand
each other the last slots: caps that add up to more than what is left may end one trial over the budget when
two of them finish at the same instant. Workers started from the Tune page are not capped.)
"""
from __future__ import annotations

from core.common import interrupt_on_sigterm
from core.tune._status import study_status
from core.tune._storage import WORKER
from core.tune._worker import run_worker, worker_offset


def cmd_tune_worker(args) -> int:
    """`python -m core tune-worker --study NAME [--trials N]`: join a study, print one line per trial.
    A stopped search takes no new trials (resume it first); SIGTERM fails the running trial and exits 130."""
    interrupt_on_sigterm()          # a terminated worker marks its trial failed
    worker = worker_offset(args.study) if args.worker is None else args.worker
    try:
        ran = run_worker(args.study, n_trials=args.trials, timeout=args.timeout, worker=worker,
                         log=lambda line: print(line, flush=True))
    except KeyboardInterrupt:
        print(f"worker {WORKER}: stopped", flush=True)
        return 130
    status = study_status(args.study)
    best = "" if status.best is None else f", best {status.metric.label} {status.metric.format(status.best.value)}"
    stopped = " The search is stopped: resume it on the Tune page first." if status.stop_requested and not ran else ""
    print(f"worker {WORKER}: ran {ran} trials; '{args.study}' has {status.n_finished}/{status.config.budget} "
          f"trials finished{best}.{stopped}", flush=True)
    return 0


def register_cli(subparsers) -> None:
    worker = subparsers.add_parser("tune-worker", help="join a tuning study from this process (or machine)")
    worker.add_argument("--study", required=True, help="the study name shown on the Tune page")
    worker.add_argument("--trials", type=int, default=None, help="at most this many trials from this worker; the study's budget is shared by "
                             "all its workers and never exceeded (default: until the budget is spent)")
    worker.add_argument("--timeout", type=float, default=None, help="seconds to run at most (default: the study's)")
    worker.add_argument("--worker", type=int, default=None, help="seed offset; default: one past every earlier worker")
    worker.set_defaults(func=cmd_tune_worker)
