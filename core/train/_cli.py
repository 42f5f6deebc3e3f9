"""`python -m core train`, `python -m core leaderboard` and `python -m core run-job` (what a background training
job runs): the command line as a stable interface.

    python -m core train (--dataset NAME | --csv PATH --target COL [--task …] | --from-run ID) [--model NAME]
                         [--param k=v …] [--seed N] [--test-size F] [--cv K] [--name TEXT] [--json] [--quiet]
    python -m core leaderboard (--dataset NAME | --csv PATH --target COL [--task …]) [--models a,b,…] [--metric M]
                               [--json]

Both save runs the app opens. Multi-process training: `torchrun --standalone --nproc_per_node N -m core train …`
trains the neural network with DistributedDataParallel over N processes (gloo on CPU, NCCL on GPU; `--param
batch_size` is the effective batch, split over the processes); rank 0 alone saves the run and prints. `--json` prints one JSON document on stdout: the columns used and left out (with
reasons), train / cross-validation / test metrics (with bootstrap 95% intervals), the selection rule and the
chosen model. `--from-run ID` re-trains a run with its data, cleaning, model and seed and says whether every metric
came out the same. Errors exit with status 2 and one line on stderr (core/__main__.py).
"""
from __future__ import annotations

import json
import sys
from pathlib import Path

from core.common import ModelDeckError


def _print_progress(fraction: float, message: str, history=None) -> None:
    print(f"[{fraction:6.1%}] {message}", file=sys.stderr, flush=True)


def _parse_params(pairs: list[str]) -> dict:
    params = {}
    for pair in pairs:
        if "=" not in pair:
            raise ModelDeckError(f"--param expects name=value, got '{pair}'.")
        key, value = pair.split("=", 1)
        params[key.strip()] = value.strip()
    return params


def _load_data(args, save: bool = True):
    """The data set named by --dataset, or the CSV of --csv with its --target (stored as an upload, so runs reopen;
    `save=False` on the processes of a multi-process run other than rank 0, which alone writes)."""
    from core.data import load_dataset, make_dataset, read_csv, save_upload
    if args.csv:
        if not args.target:
            raise ModelDeckError("--csv needs --target: the column the model should predict.")
        path = Path(args.csv)
        if not path.is_file():
            raise ModelDeckError(f"There is no file '{args.csv}'. Give the path of a CSV file.")
        read = read_csv(path.read_bytes(), path.name)
        dataset = make_dataset(read.frame, args.target, task=args.task, name=path.stem,
                               description=f"From {path.name}: {len(read.frame):,} rows, predicting '{args.target}'.")
        dataset.notes[:0] = read.notes
        dataset.key = save_upload(dataset) if save else f"upload:{dataset.fingerprint}"
        return dataset
    if args.target or args.task:
        raise ModelDeckError("--target and --task go with --csv; a built-in data set has its own target.")
    return load_dataset(args.dataset if ":" in args.dataset else f"builtin:{args.dataset}")


def columns_json(dataset, prep) -> dict:
    """{"used": [...], "left_out": [...]}: every column's fate with its reason."""
    from core.data import USES, column_plan
    plan = column_plan(dataset, prep)
    return {"used": [{"column": f.column, "type": f.kind, "used_as": USES[f.use], "why": f.reason}
                     for f in plan if f.used],
            "left_out": [{"column": f.column, "type": f.kind, "why": f.reason} for f in plan if not f.used]}


def metrics_json(report) -> dict:
    return {"train": report.train, "cv": {k: {"mean": m, "std": s} for k, (m, s) in report.cv.items()},
            "cv_folds": report.cv_folds, "test": report.test,
            "test_interval_95": {k: list(v) for k, v in report.test_ci.items()}, "test_rows": report.n_test,
            "train_rows": report.n_train, "test_label": report.test_label()}


def _run_json(trained, dataset, run, selection: str) -> dict:
    return {"run": run.id, "dataset": {"key": dataset.key, "name": dataset.name, "target": dataset.target,
                                       "task": dataset.task, "rows": len(dataset.frame), "notes": dataset.notes},
            "model": {"title": trained.title, "family": trained.spec.family, "params": trained.spec.params,
                      "seed": trained.spec.seed},
            "cleaning": trained.prep.to_dict(), "columns": columns_json(dataset, trained.prep),
            "metrics": metrics_json(trained.report), "selection_rule": selection, "chosen_model": trained.title}


def _metric_table(report) -> None:
    print(f"{'metric':<22}{'train':>10}{'test':>10}{'cv mean':>10}{'cv std':>10}   test 95% interval")
    for metric, test_value in report.test.items():
        mean, std = report.cv.get(metric, (float("nan"), float("nan")))
        low, high = report.test_ci.get(metric, (float("nan"), float("nan")))
        interval = f"{low:.4f}–{high:.4f}" if metric in report.test_ci else ""
        print(f"{metric:<22}{report.train.get(metric, float('nan')):>10.4f}{test_value:>10.4f}"
              f"{mean:>10.4f}{std:>10.4f}   {interval}")


def _from_run(args):
    """(dataset, spec, prep, folds, stored metrics) of a saved run, to train it again."""
    from core.data import PrepOptions, load_dataset
    from core.models import ModelSpec
    from core.runs import RunStore
    run = RunStore().get(args.from_run)
    if not run.metrics:
        raise ModelDeckError(f"Run '{run.id}' has no metrics ({run.status}); only a finished run can be reproduced.")
    folds = int(run.metrics.get("cv_folds") or (5 if run.metrics.get("cv") else 0))
    return (load_dataset(run.dataset_key), ModelSpec.from_json(json.dumps(run.spec)), PrepOptions.from_dict(run.prep),
            folds, run)


def _differences(old: dict, new: dict) -> list[str]:
    """Metrics (train, test, cv) that differ between a stored report and a new one."""
    out = []
    for part in ("train", "test"):
        for key, value in old.get(part, {}).items():
            again = new.get(part, {}).get(key)
            if again is None or abs(float(again) - float(value)) > 1e-12:
                out.append(f"{part} {key}: {value} then, {again} now")
    for key, (mean, _std) in old.get("cv", {}).items():
        again = new.get("cv", {}).get(key, [None])[0]
        if again is None or abs(float(again) - float(mean)) > 1e-12:
            out.append(f"cv {key}: {mean} then, {again} now")
    return out


def cmd_train(args) -> int:
    """Train and save a run; under torchrun every process trains and rank 0 alone saves and prints."""
    from core.models import distributed_session
    with distributed_session() as world:
        return _train_command(args, world)


def _train_command(args, world) -> int:
    from core.data import PrepOptions
    from core.models import ModelSpec
    from core.runs import RunStore, save_trained
    from core.train._jobs import check_processes
    from core.train._train import train_model
    progress = None if args.quiet or args.json or not world.is_main else _print_progress
    original = None
    if args.from_run:
        if args.csv or args.target or args.param or args.model:
            raise ModelDeckError("--from-run re-trains a run exactly as it was; give no data, model or settings.")
        dataset, spec, prep, folds, original = _from_run(args)
    else:
        dataset = _load_data(args, save=world.is_main)
        spec = ModelSpec.create(args.model or "mlp", seed=args.seed, **_parse_params(args.param))
        prep, folds = PrepOptions(seed=args.seed, test_size=args.test_size), args.cv
    check_processes(spec, dataset.task, world.size)
    trained = train_model(dataset, spec, prep, cv_folds=folds, progress=progress)
    if not world.is_main:
        return 0
    name = args.name or (f"Reproduction of {original.name}" if original else None)
    if name is None and world.distributed:
        name = f"{trained.title} on {dataset.name} ({world.size} processes)"
    run = save_trained(RunStore(), trained, dataset.name, name=name)
    differences = _differences(original.metrics, trained.report.to_dict()) if original else []
    if args.json:
        doc = _run_json(trained, dataset, run, trained.report.selection or "one model, no choice made")
        doc["processes"] = world.size
        if original:
            doc["reproduces"] = {"run": original.id, "same_metrics": not differences, "differences": differences}
        print(json.dumps(doc, indent=2, default=float))
    else:
        together = f", trained by {world.size} processes together" if world.distributed else ""
        print(f"{trained.title} on {dataset.name} — run {run.id}{together}")
        _metric_table(trained.report)
        print(trained.report.headline())
        print(trained.report.test_label())
        if original:
            print(f"Same metrics as run {original.id}: " + ("yes, every one." if not differences else
                                                             "no — " + "; ".join(differences)))
        print(f"Open it in the app: ?run={run.id}")
    return 1 if differences else 0


def cmd_leaderboard(args) -> int:
    from core.models import env_world
    if env_world().distributed:
        raise ModelDeckError("The leaderboard trains in one process; start it with python -m core leaderboard, not "
                             "torchrun (torchrun … -m core train trains one neural network over several processes).")
    from core.data import PrepOptions
    from core.models import DEFAULT_LEADERBOARD, ModelSpec
    from core.runs import RunStore, save_trained
    from core.train._board import choose_best, leaderboard_sentence, leaderboard_table
    from core.train._parallel import train_many
    import uuid
    dataset = _load_data(args)
    families = [f.strip() for f in args.models.split(",") if f.strip()] if args.models else list(DEFAULT_LEADERBOARD)
    if args.cv < 2:
        raise ModelDeckError("A leaderboard chooses by cross-validation: use --cv 2 or more.")
    specs = [ModelSpec.create(family, seed=args.seed) for family in families]
    prep = PrepOptions(seed=args.seed, test_size=args.test_size)
    progress = None if args.quiet or args.json else _print_progress
    models = train_many(dataset, specs, prep, cv_folds=args.cv, progress=progress)
    metric = args.metric or models[0].report.primary
    best, rule = choose_best(models, metric)
    table = leaderboard_table(models, metric)
    group, store = uuid.uuid4().hex[:10], RunStore()
    runs = {id(m): save_trained(store, m, dataset.name, group_id=group) for m in models}
    if args.json:
        rows = [{"model": m.title, "family": m.spec.family, "run": runs[id(m)].id,
                 "cv_mean": m.report.cv.get(metric, (None, None))[0], "cv_std": m.report.cv.get(metric, (None, None))[1],
                 "test": m.report.test.get(metric) if m is best else None} for m in models]
        rows.sort(key=lambda r: r["cv_mean"], reverse=metric not in ("mae", "rmse"))
        doc = _run_json(best, dataset, runs[id(best)], rule) | {"metric": metric, "leaderboard": rows}
        print(json.dumps(doc, indent=2, default=float))
        return 0
    print(f"Leaderboard on {dataset.name} by cross-validated {metric} ({args.cv} folds of the training rows)")
    for row in table.itertuples():
        test = f"   test {row.test:.4f} ({row.test_low:.4f}–{row.test_high:.4f})" if row.chosen else ""
        print(f"{'→' if row.chosen else ' '} {row.model:<34}{row.cv_mean:>8.4f} ± {row.cv_std:.4f}{test}")
    print(f"Chosen: {leaderboard_sentence(models, metric)}")
    print(f"Runs saved (group {group}); open the chosen one in the app: ?run={runs[id(best)].id}")
    return 0


def cmd_run_job(args) -> int:
    from core.models import distributed_session
    from core.train._jobs import run_job
    with distributed_session() as world:   # started by torchrun for a multi-process job
        run = run_job(args.run, world=world)
    if not world.is_main:
        return 0
    print(f"run {run.id}: {run.status}{' — ' + run.error if run.error else ''}")
    return 0 if run.status == "done" else 1


def _data_arguments(parser, dataset_default: str | None) -> None:
    parser.add_argument("--dataset", default=dataset_default, help="built-in name (breast_cancer, churn, …) or a key")
    parser.add_argument("--csv", default=None, help="a CSV file to train on (needs --target)")
    parser.add_argument("--target", default=None, help="the column of --csv to predict")
    parser.add_argument("--task", default=None, choices=("classification", "regression"),
                        help="with --csv: the task (guessed from the target when left out)")
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--test-size", type=float, default=0.2)
    parser.add_argument("--json", action="store_true", help="print one JSON document (for scripts and tests)")
    parser.add_argument("--quiet", action="store_true")


def register_cli(sub) -> None:
    train = sub.add_parser("train", help="train a model headless and save it as a run")
    _data_arguments(train, "breast_cancer")
    train.add_argument("--model", default=None, help="linear, random_forest, hist_gb, knn, svm or mlp (default mlp)")
    train.add_argument("--param", action="append", default=[], help="model setting name=value (repeatable)")
    train.add_argument("--cv", type=int, default=5, help="cross-validation folds (0 to skip)")
    train.add_argument("--name", default=None)
    train.add_argument("--from-run", default=None, metavar="ID",
                       help="re-train a saved run (its data, cleaning, model and seed) and compare the metrics")
    train.set_defaults(func=cmd_train)
    board = sub.add_parser("leaderboard", help="train several models, choose one by cross-validation, test it once")
    _data_arguments(board, "breast_cancer")
    board.add_argument("--models", default=None, help="comma-separated families (default: the app's leaderboard)")
    board.add_argument("--metric", default=None, help="what to rank by (default: accuracy / r2)")
    board.add_argument("--cv", type=int, default=5, help="cross-validation folds (at least 2)")
    board.set_defaults(func=cmd_leaderboard)
    job = sub.add_parser("run-job", help="train a queued run (used by the app for background jobs; under torchrun "
                                         "the processes train it together)")
    job.add_argument("--run", "--run-id", dest="run", required=True,
                     help="the run's id (--run-id under torchrun, whose own --run-path would swallow --run)")
    job.set_defaults(func=cmd_run_job)
