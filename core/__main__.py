"""Command line: `python -m core train …` trains headless and saves a run the app can open."""
from __future__ import annotations

import argparse
import sys

from core.common import ModelDeckError


def _parse_params(pairs: list[str]) -> dict:
    params = {}
    for pair in pairs:
        if "=" not in pair:
            raise ModelDeckError(f"--param expects name=value, got '{pair}'.")
        key, value = pair.split("=", 1)
        params[key.strip()] = value.strip()
    return params


def _print_progress(fraction: float, message: str, history=None) -> None:
    print(f"[{fraction:6.1%}] {message}", file=sys.stderr, flush=True)


def cmd_train(args) -> int:
    from core.data import load_dataset
    from core.models import ModelSpec
    from core.data import PrepOptions
    from core.runs import RunStore, save_trained
    from core.train import train_model
    dataset = load_dataset(args.dataset if ":" in args.dataset else f"builtin:{args.dataset}")
    spec = ModelSpec.create(args.model, seed=args.seed, **_parse_params(args.param))
    prep = PrepOptions(seed=args.seed, test_size=args.test_size)
    trained = train_model(dataset, spec, prep, cv_folds=args.cv, progress=None if args.quiet else _print_progress)
    run = save_trained(RunStore(), trained, dataset.name, name=args.name)
    print(f"{trained.title} on {dataset.name} — run {run.id}")
    print(f"{'metric':<22}{'train':>10}{'test':>10}{'cv mean':>10}{'cv std':>10}")
    for metric, test_value in trained.report.test.items():
        mean, std = trained.report.cv.get(metric, (float('nan'), float('nan')))
        print(f"{metric:<22}{trained.report.train.get(metric, float('nan')):>10.4f}{test_value:>10.4f}"
              f"{mean:>10.4f}{std:>10.4f}")
    print(trained.report.headline())
    print(f"Open it in the app: ?run={run.id}")
    return 0


def cmd_run_job(args) -> int:
    from core.train import run_job
    run = run_job(args.run)
    print(f"run {run.id}: {run.status}{' — ' + run.error if run.error else ''}")
    return 0 if run.status == "done" else 1


def cmd_list(args) -> int:
    from core.runs import RunStore
    for run in RunStore().list():
        print(f"{run.id}  {run.status:<8} {run.created_at:%Y-%m-%d %H:%M}  {run.name}")
    return 0


# Capability modules that add their own sub-commands through `register_cli(subparsers)`.
CLI_MODULES: list[str] = ["core.tune._tune", "core.share._report", "core.compress._cli", "core.explain._explain"]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m core", description="ModelDeck from the command line.")
    sub = parser.add_subparsers(dest="command", required=True)
    train = sub.add_parser("train", help="train a model headless and save it as a run")
    train.add_argument("--dataset", default="breast_cancer", help="built-in name (breast_cancer, churn, …) or a key")
    train.add_argument("--model", default="mlp", help="linear, random_forest, hist_gb, knn, svm or mlp")
    train.add_argument("--param", action="append", default=[], help="model setting name=value (repeatable)")
    train.add_argument("--seed", type=int, default=42)
    train.add_argument("--test-size", type=float, default=0.2)
    train.add_argument("--cv", type=int, default=5, help="cross-validation folds (0 to skip)")
    train.add_argument("--name", default=None)
    train.add_argument("--quiet", action="store_true")
    train.set_defaults(func=cmd_train)
    job = sub.add_parser("run-job", help="train a queued run (used by the app for background jobs)")
    job.add_argument("--run", required=True)
    job.set_defaults(func=cmd_run_job)
    sub.add_parser("list", help="list saved runs").set_defaults(func=cmd_list)
    import importlib
    for module in CLI_MODULES:
        importlib.import_module(module).register_cli(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except ModelDeckError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
