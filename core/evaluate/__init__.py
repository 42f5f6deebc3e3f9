"""How good a model is, computed from the predictions a run stores (so a saved run reopens without its model).

- Predictions: a run keeps, per split, a :class:`Predictions` (true labels, predicted labels, class
  probabilities); :func:`predictions_from_model` makes one from a fitted estimator.
- The report: :func:`evaluate` scores the train and test predictions into a :class:`MetricReport`
  (scores, confusion matrix, per-class table, the overfitting judgement and the sentences pages show).
  Every number equals scikit-learn's own metric on the same arrays.
- Cross-validation: :func:`cross_validate_model` gives metric -> (mean, std) over seeded folds of the
  training rows, through ``sklearn.model_selection.cross_validate``; :func:`cross_validate_oof` also the
  out-of-fold predictions every choice is made on. :func:`bootstrap_intervals`: 95% intervals of test scores.
- Curves and thresholds for two-class models: :func:`roc_points`, :func:`pr_points`,
  :func:`calibration_points`; :func:`threshold_sweep` and :func:`at_threshold` for the decision threshold,
  :func:`best_f1_threshold` to choose one (on out-of-fold rows), :func:`threshold_sentence` to say so.
- Money: :class:`Economics` (what each outcome is worth), :func:`profit_curve` over thresholds,
  :func:`gains_table` (lift by decile) and their sentences; :func:`chosen_profit` picks the threshold on
  out-of-fold rows and scores it once on the test rows (:func:`chosen_profit_sentence`).
- Where the model fails: :func:`find_slices` ranks slices of the test rows (categories, quartile bins,
  intersections of two columns, a shallow tree on the errors) by how surely they are worse, each with its size and
  interval → :class:`SliceReport` of :class:`Slice`; :func:`row_errors`.
- Charts: ``core.evaluate.charts`` (pure functions, result in, plotly Figure out).

scikit-learn is imported inside the functions that need it, so importing this package stays light.
"""
from core.evaluate._predictions import (
    CLASSIFICATION,
    REGRESSION,
    Predictions,
    default_positive_label,
    positive_scores,
    predictions_from_model,
)
from core.evaluate._report import OVERFIT_GAP, MetricReport
from core.evaluate._scores import classification_scores, evaluate, per_class_table, regression_scores
from core.evaluate._cv import cross_validate_model, cross_validate_oof
from core.evaluate._intervals import bootstrap_intervals
from core.evaluate._curves import calibration_points, pr_points, roc_points
from core.evaluate._threshold import at_threshold, best_f1_threshold, threshold_sentence, threshold_sweep
from core.evaluate._money import (
    Economics,
    best_threshold,
    chosen_profit,
    chosen_profit_sentence,
    default_economics,
    gains_sentence,
    gains_table,
    profit_curve,
    profit_sentence,
)
from core.evaluate._slices import Slice, SliceReport, find_slices, row_errors
# ui/advice.py reads these two as core.evaluate.<name>; they live in charts (plotly loads lazily, so this is cheap).
from core.evaluate.charts import gains_figure, profit_figure

__all__ = [
    # predictions
    "CLASSIFICATION", "REGRESSION", "Predictions", "predictions_from_model", "default_positive_label",
    "positive_scores",
    # the report and its scores
    "MetricReport", "OVERFIT_GAP", "evaluate", "classification_scores", "regression_scores", "per_class_table",
    # cross-validation, out-of-fold predictions and bootstrap intervals
    "cross_validate_model", "cross_validate_oof", "bootstrap_intervals",
    # curves and thresholds
    "roc_points", "pr_points", "calibration_points", "threshold_sweep", "at_threshold", "best_f1_threshold",
    "threshold_sentence",
    # money
    "Economics", "default_economics", "profit_curve", "best_threshold", "chosen_profit", "chosen_profit_sentence",
    "gains_table", "gains_sentence",
    "profit_sentence", "profit_figure", "gains_figure",
    # where the model fails
    "Slice", "SliceReport", "find_slices", "row_errors",
]
