"""Command line: `python -m core train | leaderboard | list | run-job | tune … | report | …`. Each capability adds
its sub-commands through `register_cli(subparsers)` in its `_cli` module (CLI_MODULES); a ModelDeckError ends the
command with status 2 and one line on stderr."""
from __future__ import annotations

import argparse
import sys

from core.common import ModelDeckError


# Capability modules that add their own sub-commands through `register_cli(subparsers)`.
CLI_MODULES: list[str] = ["core.train._cli", "core.runs._cli", "core.tune._cli", "core.share._cli",
                         "core.compress._cli", "core.explain._cli", "core.predict._cli", "core.jobs._cli"]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m core", description="ModelDeck from the command line.")
    sub = parser.add_subparsers(dest="command", required=True)
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
