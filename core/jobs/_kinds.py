"""The kinds of background job: each is `(job, progress, store) -> result`, where `job.params` says what to do,
`progress(fraction, message)` reports (and raises core.common.Cancelled once the owner cancelled), `store` acts for
the job's owner, and the result is a small JSON-safe dict the page reads back (run ids, sentences, file names)."""
from __future__ import annotations

from typing import Callable

KINDS: dict[str, Callable] = {}
FINISH_THE_STEP: set[str] = set()     # kinds whose cancel waits for the step in progress (core.jobs._run)


def kind(name: str, finish_the_step: bool = False):
    def register(fn: Callable) -> Callable:
        KINDS[name] = fn
        if finish_the_step:
            FINISH_THE_STEP.add(name)
        return fn
    return register


@kind("leaderboard")
def leaderboard(job, progress, store) -> dict:
    """Train the chosen model families across the cores within the budget; each finished model is saved as a run
    of the job's owner (one group), so a cancel keeps the runs already saved."""
    from core.data import PrepOptions, load_dataset
    from core.models import ModelSpec
    from core.runs import save_trained
    from core.train import train_board
    p = job.params
    dataset = load_dataset(p["dataset_key"])
    prep = PrepOptions.from_dict(p["prep"])
    specs = [ModelSpec.create(family, seed=prep.seed) for family in p["families"]]
    board = train_board(dataset, specs, prep, int(p.get("cv_folds", 5)), progress,
                        budget_seconds=p.get("budget_seconds"))
    runs = [save_trained(store, trained, dataset.name, group_id=job.id) for trained in board.models]
    return {"run_ids": [run.id for run in runs], "families": [m.spec.family for m in board.models],
            "said": board.time_sentence(), "cut": board.cut_sentence()}


@kind("optimizers")
def optimizers(job, progress, store) -> dict:
    """The same network trained with each optimizer: the curves and the comparison table (nothing is saved as a
    run: the comparison is the result)."""
    from core.data import PrepOptions, load_dataset
    from core.models import ModelSpec
    from core.train import compare_optimizers, optimizer_table
    p = job.params
    dataset = load_dataset(p["dataset_key"])
    models = compare_optimizers(dataset, ModelSpec.from_json(p["base_json"]), PrepOptions.from_dict(p["prep"]),
                                tuple(p["optimizers"]), progress=progress)
    table = optimizer_table(models)
    return {"histories": {m.spec.params["optimizer"]: m.history for m in models},
            "table": table.astype(object).where(table.notna(), None).to_dict("records")}


@kind("compress")
def compress(job, progress, store) -> dict:
    """Compress a finished run: the trade-off table and artifacts are saved with the run (the page reads them)."""
    from core.compress import CompressOptions, compress_run
    table = compress_run(job.params["run_id"], CompressOptions.from_dict(job.params.get("options")), store=store,
                         progress=progress)
    return {"run_id": table.run_id, "variants": len(table.rows), "seconds": table.seconds}


@kind("recommend")
def recommend(job, progress, store) -> dict:
    """Split, tune, fit and measure every recommender on a set of interactions; the whole built system is saved
    in the job's folder without pickles (core.recsys.save_system), where the Recommend page opens it."""
    from core.recsys import SplitSpec, build_system, load_interactions, save_system
    data = load_interactions(job.params["data_key"])
    system = build_system(data, SplitSpec.from_dict(job.params["split"]), progress)
    save_system(system, store.job_folder(job.id))
    return {"data_key": data.key, "fingerprint": data.fingerprint, "users": int(len(system.evaluation.users))}


@kind("tune", finish_the_step=True)       # a trial cut short would be a failed trial in the study
def tune(job, progress, store) -> dict:
    """One worker of a search (core.tune.start_workers queues one job per worker): trials until the study's
    shared budget is spent; a cancel stops this worker after its current trial."""
    from core.tune import run_worker, study_status
    p = job.params
    ran = run_worker(p["study"], n_trials=p.get("trials"), worker=int(p.get("worker", 0)), progress=progress)
    status = study_status(p["study"])
    return {"study": p["study"], "ran": ran, "finished": status.n_finished, "budget": status.config.budget}


@kind("shap")
def shap(job, progress, store) -> dict:
    """SHAP values of a run's seeded sample of rows, saved with the run (the Explain page loads them)."""
    from core.data import PrepOptions, load_dataset, split_dataset
    from core.explain import ShapEngine, explain_split, explanation_stem, save_explanation
    p = job.params
    run = store.get(p["run_id"])
    dataset = load_dataset(run.dataset_key)
    split = split_dataset(dataset, PrepOptions.from_dict(run.prep))
    engine = ShapEngine(store.load_model(run.id), split.X_train, run.task, dataset.target, p["method"], seed=0)
    value = explain_split(engine, split, int(p["max_rows"]), int(p.get("seed", 0)), progress)
    save_explanation(value, explanation_stem(store.folder(run.id), p["method"], int(p["max_rows"]),
                                             int(p.get("seed", 0))))
    return {"run_id": run.id, "rows": int(value.n_rows)}
