"""Turning measurements into words and pictures people act on.

- The advisor: `evidence_for` (data only) and `run_evidence` (everything stored with a run) gather an `Evidence`;
  `advise` runs every rule in `RULES` and returns `Advice` items, each with the numbers behind it.
- The story: `run_story` takes a data set through data → contenders → how good → why → smaller and faster → cost →
  advice in seconds, as `StoryStep` slides (one picture, one number, a headline generated from the measurements,
  plain words checked against `JARGON` with `jargon_in`, speaker notes, the technical statement); `run_slides`
  makes the same slides from a stored run (the report's summary), `assemble` from plain results; `build_deck` /
  `write_deck` make one offline HTML file of them (`python -m core story`).
- The report: `build_report` / `write_report` make one self-contained HTML file of a run (`python -m core report`).
- Comparing runs: `compare_runs` puts two or more runs of one data set side by side (`RunComparison`: what differs,
  metrics with differences and intervals, drivers' ranks, one sentence); figures in `core.share.charts`.
- The model card: `build_card` / `write_card` (one HTML page per run: intended use typed by the user with
  `save_intended_use`, data and each column's fate, scores with intervals, drivers, where it fails, drift status,
  compression and serving cost, limits); the report carries its short version (`card_section`).
"""
from core.share._advisor import (RULES, SEVERITY_ORDER, Advice, Evidence, advise, bare_code_labels,
                                 better_model_available, class_imbalance, compression_pick, high_cardinality,
                                 identifier_input,
                                 diverging_curves, evidence_for, explainer_disagrees, leakage_scores, leakage_suspect,
                                 misleading_accuracy, missing_values, overfitting, run_evidence, tuning_not_converged,
                                 underfitting, unstable_model)
from core.share._card import (build_card, card_section, card_sections, cost_sentences, load_intended_use,
                              save_intended_use, write_card)
from core.share._compare import RunComparison, compare_runs
from core.share._report import Section, build_report, write_report
from core.share._slides import StoryStep
from core.share._story import Story, assemble, run_slides, run_story
from core.share._deck import build_deck, write_deck
from core.share._theme import logo_svg
from core.share._words import JARGON, jargon_in

__all__ = ["RULES", "SEVERITY_ORDER", "Advice", "Evidence", "advise", "bare_code_labels", "better_model_available",
           "high_cardinality", "identifier_input", "class_imbalance", "compression_pick",
           "diverging_curves", "evidence_for", "explainer_disagrees", "leakage_scores", "leakage_suspect",
           "misleading_accuracy", "missing_values", "overfitting", "run_evidence", "tuning_not_converged",
           "underfitting", "unstable_model", "Section", "build_report", "write_report", "Story", "StoryStep",
           "run_story", "run_slides", "assemble", "build_deck", "write_deck", "logo_svg", "JARGON", "jargon_in", "RunComparison", "compare_runs", "build_card", "write_card", "card_sections", "card_section",
           "cost_sentences", "load_intended_use", "save_intended_use"]
