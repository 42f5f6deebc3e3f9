"""`python -m core report` (a run as one self-contained HTML file), `python -m core card` (its model card) and
`python -m core story` (the one-minute story headless: each slide's headline, text and seconds; `--deck` writes the
slides as one offline HTML file)."""
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
    story = sub.add_parser("story", help="run the one-minute story on a data set and print each slide")
    story.add_argument("--dataset", default="breast_cancer",
                       help="a built-in name (breast_cancer, churn, …) or a key like builtin:iris / upload:<id>")
    story.add_argument("--json", action="store_true", help="print the story as JSON (slides, seconds per step)")
    story.add_argument("--deck", default=None, help="also write the slides as one offline HTML file here")
    story.set_defaults(func=_cmd_story)


def _cmd_report(args) -> int:
    path = write_report(args.run, args.out or f"report-{args.run}.html")
    print(f"wrote {path} ({path.stat().st_size / 1024:,.0f} KB)")
    return 0


def _cmd_card(args) -> int:
    from core.share._card import write_card
    path = write_card(args.run, args.out or f"card-{args.run}.html")
    print(f"wrote {path} ({path.stat().st_size / 1024:,.0f} KB)")
    return 0


def _cmd_story(args) -> int:
    import json
    import sys

    from core.share._story import run_story
    key = args.dataset if ":" in args.dataset else f"builtin:{args.dataset}"
    quiet = args.json

    def progress(fraction: float, message: str = "", *_) -> None:
        if not quiet:
            print(f"  {fraction:4.0%} {message}", file=sys.stderr)

    story = run_story(key, progress=progress)
    if args.deck:
        from core.share._deck import write_deck
        write_deck(story, args.deck)
    if args.json:
        print(json.dumps(story.to_dict() | ({"deck": args.deck} if args.deck else {}), indent=1))
        return 0
    print(f"{story.dataset_name}: story ready in {story.seconds:.1f} s (run {story.run_id})")
    for i, step in enumerate(story.steps, 1):
        print(f"\n{i}. {step.title.upper()}  [{step.seconds:.2f} s]\n   {step.big}\n   {step.number} {step.number_label}"
              f"\n   {step.sentence}")
    print("\nseconds per stage: " + ", ".join(f"{k} {v:.2f}" for k, v in story.timings.items()))
    if args.deck:
        print(f"wrote {args.deck}")
    return 0
