"""Issue 14: multi-process training with torchrun + DistributedDataParallel (gloo on this CPU machine).

The batches the processes train on are the one-process batches dealt over the ranks; two processes started by
torchrun end with bitwise identical weights that equal a one-process fit up to float32 rounding; `torchrun … -m core
train` gives the metrics of a one-process run (rank 0 alone saves it); the Train page starts such a job in the
background and follows it. Every torchrun here is `--standalone` (a free rendezvous port) with GLOO_SOCKET_IFNAME=lo.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from core.common import ModelDeckError
from core.models import World, local_batch_size
from core.models._distributed import EpochBatches

ROOT = Path(__file__).resolve().parents[1]
TORCHRUN = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2"]
TOLERANCE = 1e-6   # metrics of two processes against one: the same up to float32 summation order


def _env(home: Path) -> dict:
    return {"MODELDECK_HOME": str(home), "PATH": os.environ.get("PATH", "/usr/bin:/bin"), "GLOO_SOCKET_IFNAME": "lo",
            "OMP_NUM_THREADS": "1"}


def _rank_batches(n: int, batch: int, world: World, epoch: int) -> list[np.ndarray]:
    plan = EpochBatches(n, batch, world, seed=7)
    order = plan.epoch_order(epoch).numpy()
    return [order[lo:hi] for lo, hi, _rows in plan.batches()]


@pytest.mark.parametrize("n,batch,size", [(455, 64, 2), (130, 32, 4), (7, 4, 2), (129, 64, 2), (192, 64, 4)])
def test_the_processes_share_out_the_one_process_batches(n, batch, size):
    one = _rank_batches(n, batch, World(), epoch=3)
    ranks = [_rank_batches(n, batch, World(r, size), epoch=3) for r in range(size)]
    assert all(len(r) == len(one) for r in ranks)                   # every rank takes the same number of steps
    for step, rows in enumerate(one):
        dealt = np.concatenate([r[step] for r in ranks])
        assert sorted(dealt) == sorted(rows)                         # step k covers the one-process batch k
    everything = np.concatenate([np.concatenate(r) for r in ranks])
    assert sorted(everything) == list(range(n))                      # every row once per epoch: no padding
    assert not np.array_equal(one[0], _rank_batches(n, batch, World(), epoch=4)[0])   # set_epoch reshuffles


def test_a_batch_that_does_not_split_over_the_processes_is_refused():
    assert local_batch_size(64, World(0, 2)) == 32
    with pytest.raises(ModelDeckError, match="multiple of 3.*63 or 66"):
        local_batch_size(64, World(0, 3))


def test_only_networks_train_over_several_processes():
    from core.models import ModelSpec
    from core.train import check_processes, trains_distributed
    assert trains_distributed("mlp", "regression") and not trains_distributed("hist_gb", "classification")
    check_processes(ModelSpec.create("hist_gb"), "classification", 1)
    with pytest.raises(ModelDeckError, match="trains in one process"):
        check_processes(ModelSpec.create("hist_gb"), "classification", 2)
    with pytest.raises(ModelDeckError, match="multiple of 2"):
        check_processes(ModelSpec.create("mlp", batch_size=63), "classification", 2)


def test_two_processes_end_with_identical_weights_equal_to_one_process(tmp_path):
    from tests.ddp_fit import fitted_weights
    done = subprocess.run([*TORCHRUN, "-m", "tests.ddp_fit", str(tmp_path)], cwd=ROOT, env=_env(tmp_path),
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    rank0, rank1 = np.load(tmp_path / "rank0.npz"), np.load(tmp_path / "rank1.npz")
    alone = fitted_weights()
    assert set(rank0.files) == set(alone)
    for key in rank0.files:
        assert np.array_equal(rank0[key], rank1[key]), key            # DDP keeps the ranks bitwise identical
    assert int(rank0["clf.processes"]) == 2 and int(alone["clf.processes"]) == 1
    assert int(rank0["clf.epochs"]) == int(alone["clf.epochs"])
    for key in (k for k in rank0.files if not k.endswith(("processes", "epochs"))):
        np.testing.assert_allclose(rank0[key], alone[key], atol=1e-5, err_msg=key)


def test_the_cnn_trains_over_several_processes_too():
    from core.models import ModelSpec
    from core.train import check_processes, trains_distributed
    assert trains_distributed("cnn", "classification")
    check_processes(ModelSpec.create("cnn", batch_size=64), "classification", 2)
    with pytest.raises(ModelDeckError, match="multiple of 2"):
        check_processes(ModelSpec.create("cnn", batch_size=63), "classification", 2)


# Two CPU processes normalise each batch by their own half of it (SyncBatchNorm runs on GPUs only), so a CNN with
# batch norm trains close to one process, not bit for bit: every metric within 2 points (3 epochs on digits, no
# dropout; measured differences were below 0.5 points).
CNN_TOLERANCE = 0.02


def test_torchrun_core_train_trains_the_cnn_close_to_one_process(tmp_path):
    args = ["-m", "core", "train", "--dataset", "digits", "--model", "cnn", "--param", "epochs=3", "--param", "width=8",
            "--param", "dense=32", "--param", "dropout=0", "--cv", "0", "--json"]
    two = subprocess.run([*TORCHRUN, *args], cwd=ROOT, env=_env(tmp_path), capture_output=True, text=True,
                         timeout=300)
    assert two.returncode == 0, two.stderr[-3000:]
    one = subprocess.run([sys.executable, *args], cwd=ROOT, env=_env(tmp_path), capture_output=True, text=True,
                         timeout=300)
    assert one.returncode == 0, one.stderr[-3000:]
    doc_two, doc_one = json.loads(two.stdout), json.loads(one.stdout)
    assert doc_two["processes"] == 2 and doc_one["processes"] == 1
    assert doc_two["model"]["family"] == "cnn"
    a, b = _metric_values(doc_one), _metric_values(doc_two)
    assert a.keys() == b.keys() and len(a) > 15
    assert a["test accuracy"] > 0.7                                     # it learned: the comparison means something
    worst = max(abs(a[k] - b[k]) for k in a)
    assert worst <= CNN_TOLERANCE, {k: (a[k], b[k]) for k in a if abs(a[k] - b[k]) > CNN_TOLERANCE}


def _metric_values(doc: dict) -> dict[str, float]:
    metrics = doc["metrics"]
    flat = {f"{part} {k}": v for part in ("train", "test") for k, v in metrics[part].items()}
    return flat | {f"cv {k}": v["mean"] for k, v in metrics["cv"].items()}


def test_torchrun_core_train_gives_the_one_process_metrics_and_rank_0_alone_saves(tmp_path):
    from core.runs import RunStore
    args = ["-m", "core", "train", "--dataset", "breast_cancer", "--param", "epochs=15", "--param", "dropout=0",
            "--cv", "2", "--json"]
    started = time.perf_counter()
    two = subprocess.run([*TORCHRUN, *args], cwd=ROOT, env=_env(tmp_path), capture_output=True, text=True,
                         timeout=300)
    seconds = time.perf_counter() - started
    assert two.returncode == 0, two.stderr[-3000:]
    one = subprocess.run([sys.executable, *args], cwd=ROOT, env=_env(tmp_path), capture_output=True, text=True,
                         timeout=300)
    assert one.returncode == 0, one.stderr[-3000:]
    doc_two, doc_one = json.loads(two.stdout), json.loads(one.stdout)    # rank 1 printed nothing: one document
    assert doc_two["processes"] == 2 and doc_one["processes"] == 1
    a, b = _metric_values(doc_one), _metric_values(doc_two)
    assert a.keys() == b.keys() and len(a) > 20
    worst = max(abs(a[k] - b[k]) for k in a)
    assert worst <= TOLERANCE, {k: (a[k], b[k]) for k in a if abs(a[k] - b[k]) > TOLERANCE}
    assert a["test accuracy"] == b["test accuracy"]
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("MODELDECK_HOME", str(tmp_path))
        patch.delenv("MODELDECK_DB_URL", raising=False)
        runs = RunStore().list()
    assert len(runs) == 2                                                # one run per command: rank 0 alone saved
    assert {r.id for r in runs} == {doc_one["run"], doc_two["run"]}
    assert "(2 processes)" in next(r.name for r in runs if r.id == doc_two["run"])
    print(f"two processes: {seconds:.1f} s; largest metric difference {worst:.1e}")


def test_the_train_page_starts_a_two_process_job_and_follows_it(fresh_home):
    from streamlit.testing.v1 import AppTest

    from core.data import PrepOptions, load_dataset
    from core.models import ModelSpec
    from core.runs import RunStore
    from core.train import train_model
    os.environ.setdefault("GLOO_SOCKET_IFNAME", "lo")
    at = AppTest.from_file(str(ROOT / "streamlit_app.py"), default_timeout=60)
    at.switch_page("pages/train.py")
    at.run()
    next(s for s in at.selectbox if s.key == "train_family").select("mlp").run()
    for key, value in (("one_mlp_epochs", 8), ("one_mlp_dropout", 0.0)):
        next(n for n in at.number_input if n.key == key).set_value(value).run()
    processes = next(n for n in at.number_input if n.key == "train_processes")
    assert "DistributedDataParallel" in processes.help
    processes.set_value(2).run()
    next(b for b in at.button if b.key == "train_go").click().run()
    assert not at.exception and not at.error, [e.value for e in [*at.exception, *at.error]]
    run_id = at.query_params["run"]
    run_id = run_id[0] if isinstance(run_id, list) else run_id
    store = RunStore()
    assert "(2 processes)" in store.get(run_id).name
    deadline = time.time() + 240
    seen_progress = False
    while (run := store.get(run_id)).status in ("queued", "running"):
        seen_progress |= run.progress > 0
        assert time.time() < deadline, "the job did not finish"
        time.sleep(0.5)
    log = (store.folder(run_id) / "job.log").read_text()
    assert run.status == "done", (run.error, log[-3000:])
    assert seen_progress or run.history                                  # rank 0 wrote progress the page follows
    at.run()
    assert any(f"Background run {run_id} finished" in s.value for s in at.success)
    alone = train_model(load_dataset(run.dataset_key), ModelSpec.from_json(json.dumps(run.spec)),
                        PrepOptions.from_dict(run.prep), cv_folds=5)
    assert alone.report.test == pytest.approx(run.metrics["test"], abs=TOLERANCE)
