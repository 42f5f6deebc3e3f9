"""`python -m core predict --run ID --csv PATH --out PATH` and `python -m core drift --run ID --csv PATH`.

`predict` checks the file against the run's training columns (every problem printed with what is done about it;
blocking problems stop it with exit code 2), predicts every row with its top three reasons and writes a CSV whose
formula-like cells are neutralised. `drift` compares the file's rows with the run's training rows column by column.
Both take `--json` for machines.
"""
from __future__ import annotations

import json
import sys
from pathlib import Path

from core.common import ModelDeckError


def register_cli(subparsers) -> None:
    predict = subparsers.add_parser("predict", help="predict new rows from a CSV with a run's model, with reasons")
    predict.add_argument("--run", required=True, help="run id (python -m core list)")
    predict.add_argument("--csv", required=True, help="new rows, with the training columns and without the target")
    predict.add_argument("--out", required=True, help="where to write the predictions (CSV)")
    predict.add_argument("--no-reasons", action="store_true", help="skip the SHAP reasons (faster)")
    predict.add_argument("--reason-rows", type=int, default=None, help="explain at most this many rows")
    predict.add_argument("--json", action="store_true", help="print a JSON summary instead of text")
    predict.set_defaults(func=cmd_predict)
    drift = subparsers.add_parser("drift", help="do new rows still look like a run's training rows?")
    drift.add_argument("--run", required=True)
    drift.add_argument("--csv", required=True)
    drift.add_argument("--json", action="store_true")
    drift.add_argument("--save", action="store_true", help="record this check with the run (its model card quotes it)")
    drift.set_defaults(func=cmd_drift)


def _read(path: str) -> bytes:
    try:
        return Path(path).read_bytes()
    except OSError as exc:
        raise ModelDeckError(f"Cannot read '{path}': {exc.strerror}.") from None


def _checked(args):
    from core.data import read_csv
    from core.predict._run import load_run_model
    from core.predict._schema import check_schema
    model = load_run_model(args.run)
    check = check_schema(read_csv(_read(args.csv), Path(args.csv).name).frame, model.contract)
    return model, check


def _progress(fraction: float, message: str) -> None:
    print(f"[{fraction:6.1%}] {message}", file=sys.stderr, flush=True)


def cmd_predict(args) -> int:
    from core.predict._batch import predict_batch, reason_engine
    from core.predict._export import to_safe_csv
    model, check = _checked(args)
    if not args.json:
        for problem in check.problems:
            print(f"{problem.level:<8} {problem.message}")
    check.raise_if_blocked()
    contract = model.contract
    engine = None if args.no_reasons else reason_engine(model.pipeline, model.X_train, contract.task, contract.target)
    result = predict_batch(model.pipeline, check, contract, engine=engine, X_train=model.X_train,
                           plural=model.words[1], max_reason_rows=args.reason_rows,
                           progress=None if args.json else _progress)
    out = Path(args.out)
    out.write_bytes(to_safe_csv(result.table))
    if args.json:
        print(json.dumps({"run": model.run_id, "rows": result.n_rows, "predicted": int(result.predicted.sum()),
                          "out": str(out), "summary": result.summary(model.words[1]),
                          "reasons": result.reasons_method, "reason_rows": result.reasons_rows,
                          "problems": [{"kind": p.kind, "column": p.column, "level": p.level, "message": p.message}
                                       for p in check.problems]}))
        return 0
    print(result.summary(model.words[1]))
    if result.note:
        print(result.note)
    print(f"written to {out}")
    return 0


def cmd_drift(args) -> int:
    from core.predict._run import drift_of
    model, check = _checked(args)
    report = drift_of(model, check)
    if args.save:
        from core.predict._drift import save_drift_check
        from core.runs import RunStore
        save_drift_check(RunStore().folder(model.run_id), report, Path(args.csv).name)
    if args.json:
        table = report.table()
        print(json.dumps({"run": model.run_id, "headline": report.headline(), "advice": report.advice(),
                          "columns": json.loads(table.to_json(orient="records"))}))
        return 0
    print(report.headline())
    print(f"{'column':<24}{'PSI':>8}  {'test':<20}{'p (Holm)':>10}{'rows':>18}  moved  change")
    for c in report.columns:
        print(f"{c.column[:23]:<24}{c.psi:>8.3f}  {c.test:<20}{c.p_adjusted:>10.2g}{f'{c.n_reference:,}/{c.n_new:,}':>18}"
              f"  {'yes' if c.flagged else '   '}    {c.change}")
    for line in report.advice() + report.notes:
        print(f"- {line}")
    return 0
