"""`python -m core list` (the saved runs, newest first: id, status, when, name), `python -m core hash-password`
(a password hash for the small-team sign-in) and `python -m core init-db` (create the database tables once)."""
from __future__ import annotations


def cmd_list(args) -> int:
    from core.runs._store import RunStore
    for run in RunStore().list():
        print(f"{run.id}  {run.status:<8} {run.created_at:%Y-%m-%d %H:%M}  {run.name}")
    return 0


def cmd_hash_password(args) -> int:
    """Print the scrypt hash of a password for the small-team sign-in ([modeldeck.passwords] in the secrets)."""
    import getpass
    import sys

    from core.common import ModelDeckError
    from core.runs._passwords import hash_password
    password = sys.stdin.readline().rstrip("\n") if args.stdin else getpass.getpass("Password: ")
    if len(password) < 10:
        raise ModelDeckError("Use a password of at least 10 characters.")
    print(hash_password(password))
    return 0


def cmd_init_db(args) -> int:
    """Create the run tables and Optuna's in the database (once, before the app's replicas start)."""
    from core.common import db_url
    from core.runs._schema import prepare_database
    prepare_database(db_url(), optuna=True)
    print("The run store and the tuning tables are ready.")
    return 0


def register_cli(sub) -> None:
    sub.add_parser("list", help="list saved runs").set_defaults(func=cmd_list)
    hashing = sub.add_parser("hash-password", help="print a password hash for the small-team sign-in")
    hashing.add_argument("--stdin", action="store_true", help="read the password from standard input")
    hashing.set_defaults(func=cmd_hash_password)
    sub.add_parser("init-db", help="create the database tables (runs and tuning) once").set_defaults(func=cmd_init_db)
