"""`python -m core explain --run ID`: compute (or reuse) and store a run's SHAP values, print the summary."""
from __future__ import annotations

import sys

from core.common import ModelDeckError
from core.explain._engine import ShapEngine
from core.explain._methods import METHOD_TITLES, choose_method, default_rows
from core.explain._narrate import entity_words, global_summary
from core.explain._result import explain_split
from core.explain._store import explanation_stem, load_explanation, save_explanation


def register_cli(subparsers) -> None:
    parser = subparsers.add_parser("explain", help="compute and store a run's SHAP values (what the Explain page shows)")
    parser.add_argument("--run", required=True)
    parser.add_argument("--method", default=None, choices=list(METHOD_TITLES), help="default: the recommended one")
    parser.add_argument("--rows", type=int, default=None, help="rows to explain (seeded sample)")
    parser.add_argument("--seed", type=int, default=0)
    parser.set_defaults(func=_cmd_explain)


def _cmd_explain(args) -> int:
    from core.data import PrepOptions, load_dataset, split_dataset
    from core.runs import RunStore
    store = RunStore()
    run = store.get(args.run)
    if run.status != "done":
        raise ModelDeckError(f"Run '{run.id}' is {run.status}; explanations need a finished run.")
    pipeline, dataset = store.load_model(run.id), load_dataset(run.dataset_key)
    split = split_dataset(dataset, PrepOptions.from_dict(run.prep))
    method = args.method or choose_method(pipeline)
    rows = args.rows or default_rows(method)
    stem = explanation_stem(store.folder(run.id), method, rows, args.seed)
    expl = load_explanation(stem, split)
    if expl is None:
        engine = ShapEngine(pipeline, split.X_train, dataset.task, dataset.target, method, seed=args.seed)
        expl = explain_split(engine, split, rows, args.seed,
                             lambda f, m: print(f"[{f:6.1%}] {m}", file=sys.stderr, flush=True))
        save_explanation(expl, stem)
    print(expl.fidelity())
    print(global_summary(expl, 0, entity_words(run.dataset_key)))
    for feature, value in expl.importance(0).iloc[:10].items():
        print(f"  {feature:<32} {value:.4g}")
    print(f"stored in {stem}.npz / .json")
    return 0
