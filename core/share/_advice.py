"""What the advisor says and what it reads: `Advice` (one finding with its evidence) and `Evidence` (everything the
rules may read; gathered by `evidence_for` / `run_evidence`)."""
from __future__ import annotations

from dataclasses import dataclass, field

SEVERITY_ORDER = {"critical": 0, "warning": 1, "info": 2}


@dataclass(frozen=True)
class Advice:
    rule: str
    severity: str                 # "critical" | "warning" | "info"
    finding: str                  # one sentence: what we saw
    action: str                   # what to do about it
    evidence: dict = field(default_factory=dict)   # the numbers behind the finding
    chart: str = ""               # where to see it (page and chart)


@dataclass
class Evidence:
    """Everything the rules may read; any part can be missing (None) and the rules that need it stay quiet."""

    task: str | None = None
    class_counts: dict[str, int] | None = None          # target class -> rows
    missing_share: dict[str, float] | None = None       # column -> share of rows missing
    leakage_scores: dict[str, float] | None = None      # feature -> how well it alone predicts the target (0..1)
    report: object | None = None                        # core.metrics.MetricReport
    history: list[dict] | None = None                   # per-epoch training history (neural networks)
    importance_agreement: float | None = None           # Spearman rank correlation SHAP vs permutation importance
    compression_pick: dict | None = None                # {"name", "size_ratio", "speed_ratio", "accuracy_change"}
    tuning_best_so_far: list[float] | None = None       # best score after each trial (higher is better)
    risky_inputs: dict[str, str] | None = None          # input column -> why it names rows (identifier, code)
    wide_one_hot: dict[str, int] | None = None          # one-hot encoded input column -> its number of values
    leaderboard: list[dict] | None = None               # other runs trained alongside: {"run", "title", "cv_mean"}
    class_names: dict[str, str] | None = None           # class code -> the name its owner gave (bare codes)


def worst_column(scores: dict[str, float] | None, keep) -> tuple[str, float] | None:
    """(column, score) with the highest score among those `keep(score)` accepts, or None when none is."""
    picked = {column: score for column, score in (scores or {}).items() if keep(score)}
    if not picked:
        return None
    column = max(picked, key=picked.get)
    return column, picked[column]
