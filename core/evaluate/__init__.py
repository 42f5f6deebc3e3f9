"""How good a model is: metrics, cross-validation, thresholds and the money view."""
from core.evaluate._metrics import (CLASSIFICATION, REGRESSION, OVERFIT_GAP, POSITIVE_NAMES, Progress, Predictions, predictions_from_model, MetricReport, default_positive_label, classification_scores, regression_scores, per_class_table, evaluate, CV_SCORERS, cross_validate_model, threshold_sweep, at_threshold, positive_scores, roc_points, pr_points, calibration_points)
from core.evaluate._money import (Economics, DEFAULT_ECONOMICS, default_economics, profit_curve, best_threshold, gains_table, gains_sentence, profit_sentence)
from core.evaluate._money_charts import (TEMPLATE, profit_figure, gains_figure)
