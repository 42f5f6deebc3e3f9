"""Where a run's compression lives: the `compress/` folder in the run's folder holding the table (`result.json`),
what a server needs to decode each ONNX file (`serving.json`) and every variant's artifact. A new result is built
in `compress.tmp/` and swapped in whole, so a reader sees the old set of files or the new one."""
from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

from core.common import ModelDeckError, store_shared_tree
from core.compress._data import CompressData
from core.compress._table import TradeoffTable
from core.compress._variant import Variant

RESULT_FILE = "result.json"
SERVING_FILE = "serving.json"


def compress_folder(run_id: str, store=None) -> Path:
    """The folder holding a run's compression result and artifacts (put back from `compress.old` if a process
    stopped between the two renames of `_save_result`)."""
    from core.runs import RunStore
    folder = (store or RunStore()).folder(run_id) / "compress"
    aside = folder.with_name("compress.old")
    if not folder.exists() and aside.exists():
        os.replace(aside, folder)
    return folder


def output_kind(task: str, scaled: bool) -> str:
    """What a model's raw output is: logits / scaled (our MLPs) or proba / value (scikit-learn exports)."""
    if task == "classification":
        return "logits" if scaled else "proba"
    return "scaled" if scaled else "value"


def _work_folder(folder: Path) -> Path:
    """An empty folder beside `folder` in which the new result is built."""
    work = folder.with_name("compress.tmp")
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    return work


def _write_serving(folder: Path, data: CompressData, variants: list[Variant]) -> None:
    """What a server needs beside the ONNX files: how to decode outputs, and which variant is which file."""
    head = data.head
    info = {"task": head.task, "classes": None if head.classes is None else [str(c) for c in head.classes],
            "y_mean": head.y_mean, "y_scale": head.y_scale,
            "variants": {v.name: {"file": v.onnx_file, "output": output_kind(head.task, v.scaled)}
                         for v in variants if v.onnx_file}}
    (folder / SERVING_FILE).write_text(json.dumps(info, indent=1))


def _save_result(work: Path, folder: Path, table: TradeoffTable, data: CompressData, variants: list[Variant]) -> None:
    """Write the table and the serving info into `work`, then swap `work` in as the run's compression folder."""
    _write_serving(work, data, variants)
    (work / RESULT_FILE).write_text(table.to_json())
    store_shared_tree(folder, work)     # a shared database (MODELDECK_DB_URL not SQLite) takes the new set first
    aside = folder.with_name("compress.old")         # two renames: a reader (or a crash) never finds half a folder
    shutil.rmtree(aside, ignore_errors=True)
    if folder.exists():
        os.replace(folder, aside)
    os.replace(work, folder)
    shutil.rmtree(aside, ignore_errors=True)


def load_result(run_id: str, store=None) -> TradeoffTable | None:
    """The saved table of a run, or None when the run has not been compressed yet."""
    path = compress_folder(run_id, store) / RESULT_FILE
    if not path.exists():
        return None
    return TradeoffTable.from_json(path.read_text())


def artifact_path(run_id: str, filename: str, store=None) -> Path:
    """A saved artifact of a run's compression (file names come from the table; no path tricks)."""
    folder = compress_folder(run_id, store)
    path = folder / Path(filename).name
    if not path.exists():
        raise ModelDeckError(f"The file '{filename}' is not among this run's compressed models; compress it again.")
    return path
