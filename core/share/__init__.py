"""Turning measurements into words and pictures people act on.

- The advisor: `evidence_for` (data only) and `run_evidence` (everything stored with a run) gather an `Evidence`;
  `advise` runs every rule in `RULES` and returns `Advice` items, each with the numbers behind it.
- The story: `run_story` takes a built-in data set through data → best model → how good → why → smaller → advice
  in about a minute, as `StoryStep`s for the home page, its presentation mode and the CLI.
- The report: `build_report` / `write_report` make one self-contained HTML file of a run (`python -m core report`).
"""
from core.share._advisor import (RULES, SEVERITY_ORDER, Advice, Evidence, advise, class_imbalance, compression_pick,
                                 diverging_curves, evidence_for, explainer_disagrees, leakage_scores, leakage_suspect,
                                 misleading_accuracy, missing_values, overfitting, run_evidence, tuning_not_converged,
                                 underfitting, unstable_model)
from core.share._report import Section, build_report, write_report
from core.share._story import Story, StoryStep, run_story

__all__ = ["RULES", "SEVERITY_ORDER", "Advice", "Evidence", "advise", "class_imbalance", "compression_pick",
           "diverging_curves", "evidence_for", "explainer_disagrees", "leakage_scores", "leakage_suspect",
           "misleading_accuracy", "missing_values", "overfitting", "run_evidence", "tuning_not_converged",
           "underfitting", "unstable_model", "Section", "build_report", "write_report", "Story", "StoryStep",
           "run_story"]
