"""Command line: `python -m core COMMAND …`, where COMMAND is one of

    train | leaderboard | run-job          core.train      train headless; run a queued training run
    list | hash-password | init-db         core.runs       the run store
    tune-worker                            core.tune       join a tuning study from this process or machine
    report | card | story                  core.share      HTML report, model card, the one-minute story
    compress | serve                       core.compress   compress a run; serve its model over HTTP
    explain                                core.explain    compute and store a run's SHAP values
    predict | drift                        core.predict    predict new rows; check them for drift
    job                                    core.jobs       run one queued background job (started by the pages)

Each capability adds its sub-commands through `register_cli(subparsers)` in its `_cli` module (COMMANDS). Only the
module of the command being run is imported (they take seconds each), so a background job starts quickly; `--help`
imports them all to list every command. A ModelDeckError ends the command with status 2 and one line on stderr."""
from __future__ import annotations

import argparse
import importlib
import sys

from core.common import ModelDeckError

# Each command and the capability module whose `register_cli(subparsers)` adds it.
COMMANDS: dict[str, str] = {
    "train": "core.train._cli", "leaderboard": "core.train._cli", "run-job": "core.train._cli",
    "list": "core.runs._cli", "hash-password": "core.runs._cli", "init-db": "core.runs._cli",
    "tune-worker": "core.tune._cli",
    "report": "core.share._cli", "card": "core.share._cli", "story": "core.share._cli",
    "compress": "core.compress._cli", "serve": "core.compress._cli",
    "explain": "core.explain._cli",
    "predict": "core.predict._cli", "drift": "core.predict._cli",
    "job": "core.jobs._cli",
}
CLI_MODULES: list[str] = list(dict.fromkeys(COMMANDS.values()))


def build_parser(command: str | None = None) -> argparse.ArgumentParser:
    """The parser with the sub-commands of `command`'s module only, or of every module (None, or unknown)."""
    parser = argparse.ArgumentParser(prog="python -m core", description="ModelDeck from the command line.")
    sub = parser.add_subparsers(dest="command", required=True)
    modules = [COMMANDS[command]] if command in COMMANDS else CLI_MODULES
    for module in modules:
        importlib.import_module(module).register_cli(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    args = build_parser(argv[0] if argv else None).parse_args(argv)
    try:
        return args.func(args)
    except ModelDeckError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
