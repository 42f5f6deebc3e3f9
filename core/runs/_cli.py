"""`python -m core list`: the saved runs, newest first (id, status, when, name)."""
from __future__ import annotations


def cmd_list(args) -> int:
    from core.runs._store import RunStore
    for run in RunStore().list():
        print(f"{run.id}  {run.status:<8} {run.created_at:%Y-%m-%d %H:%M}  {run.name}")
    return 0


def register_cli(sub) -> None:
    sub.add_parser("list", help="list saved runs").set_defaults(func=cmd_list)
