"""`python -m core report` (a run as one self-contained HTML file) and `python -m core card` (its model card)."""
from __future__ import annotations

from core.share._report import write_report


def register_cli(sub) -> None:
    parser = sub.add_parser("report", help="export a run as one self-contained HTML file")
    parser.add_argument("--run", required=True)
    parser.add_argument("--out", default=None, help="file name (default: report-<run>.html)")
    parser.set_defaults(func=_cmd_report)
    card = sub.add_parser("card", help="write a run's model card as one HTML page")
    card.add_argument("--run", required=True)
    card.add_argument("--out", default=None, help="file name (default: card-<run>.html)")
    card.set_defaults(func=_cmd_card)


def _cmd_report(args) -> int:
    path = write_report(args.run, args.out or f"report-{args.run}.html")
    print(f"wrote {path} ({path.stat().st_size / 1024:,.0f} KB)")
    return 0


def _cmd_card(args) -> int:
    from core.share._card import write_card
    path = write_card(args.run, args.out or f"card-{args.run}.html")
    print(f"wrote {path} ({path.stat().st_size / 1024:,.0f} KB)")
    return 0
