"""Pure chart functions: a result in, a plotly Figure out. Pages call st.plotly_chart on them and
the HTML report embeds the same figures. No Streamlit here.

Every figure uses the shared look of core.common.charts (TEMPLATE, HEIGHT, `style`) and a title that
says what to look for. `style`, `empty_figure`, `TEMPLATE`, `HEIGHT` and `metric_name` are imported
from here by the other capabilities' charts, so they stay importable from this module.
"""
from __future__ import annotations

from typing import Iterable

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from core.common.charts import HEIGHT, TEMPLATE, empty_figure, style
from core.evaluate._curves import calibration_points, pr_points, roc_points
from core.evaluate._money import Economics, best_threshold
from core.evaluate._predictions import CLASSIFICATION, Predictions, default_positive_label
from core.evaluate._report import MetricReport
from core.evaluate._slices import SliceReport

__all__ = ["HEIGHT", "TEMPLATE", "empty_figure", "style", "metric_name", "confusion_figure", "roc_figure",
           "pr_figure", "calibration_figure", "threshold_figure", "residual_figure", "predicted_vs_actual_figure",
           "train_test_figure", "cv_figure", "profit_figure", "gains_figure", "slices_figure"]

#: Colours used for train / test everywhere, so the two splits look the same on every chart.
SPLIT_COLORS = {"train": "#9aa5b1", "test": "#1f77b4"}
REFERENCE_LINE = dict(color="#999999", dash="dash", width=1)

METRIC_NAMES = {
    "accuracy": "Accuracy",
    "balanced_accuracy": "Balanced accuracy",
    "precision": "Precision (positive class)",
    "recall": "Recall (positive class)",
    "f1": "F1 (positive class)",
    "precision_macro": "Precision (macro)",
    "recall_macro": "Recall (macro)",
    "f1_macro": "F1 (macro)",
    "precision_weighted": "Precision (weighted)",
    "recall_weighted": "Recall (weighted)",
    "f1_weighted": "F1 (weighted)",
    "roc_auc": "ROC AUC",
    "average_precision": "Average precision",
    "log_loss": "Log loss",
    "r2": "R²",
    "mae": "MAE",
    "rmse": "RMSE",
    "mape": "MAPE",
}
#: Metrics shown on the train-vs-test and cross-validation charts, in this order when present.
CLASSIFICATION_MAIN = ("accuracy", "balanced_accuracy", "f1_macro", "f1", "roc_auc")
REGRESSION_SHARE = ("r2",)  # unitless, shown as a percentage
REGRESSION_ERRORS = ("mae", "rmse")  # in the target's units


def metric_name(key: str) -> str:
    """A readable name for a metric key ("f1_macro" -> "F1 (macro)")."""
    return METRIC_NAMES.get(key, key.replace("_", " ").capitalize())


# --------------------------------------------------------------------------------------------
# Classification
# --------------------------------------------------------------------------------------------
def confusion_figure(report: MetricReport, normalize: bool = False) -> go.Figure:
    """Heatmap: rows are the true class, columns the predicted one (test split).

    normalize=True shows each row as shares (so the diagonal is each class's recall)."""
    if report.confusion is None or report.labels is None:
        return empty_figure("Confusion matrix", "A confusion matrix exists only for classification.")
    counts = np.asarray(report.confusion, dtype=float)
    labels = [str(label) for label in report.labels]
    row_totals = counts.sum(axis=1, keepdims=True)
    shares = np.divide(counts, row_totals, out=np.zeros_like(counts), where=row_totals > 0)
    if normalize:
        z = shares
        text = [[f"{s:.1%}<br>({int(c):,})" for s, c in zip(rs, rc)] for rs, rc in zip(shares, counts)]
        colorbar = dict(title="Share of true class", tickformat=".0%")
        hover = "True: %{y}<br>Predicted: %{x}<br>%{z:.1%} of this class<extra></extra>"
    else:
        z = counts
        text = [[f"{int(c):,}" for c in rc] for rc in counts]
        colorbar = dict(title="Rows")
        hover = "True: %{y}<br>Predicted: %{x}<br>%{z:,.0f} rows<extra></extra>"
    fig = go.Figure(
        go.Heatmap(
            z=z,
            x=labels,
            y=labels,
            text=text,
            texttemplate="%{text}",
            colorscale="Blues",
            colorbar=colorbar,
            hovertemplate=hover,
            zmin=0,
        )
    )
    fig.update_xaxes(title="Predicted class", type="category", side="bottom")
    fig.update_yaxes(title="True class", type="category", autorange="reversed")
    correct = int(np.trace(counts))
    total = int(counts.sum())
    title = f"Where the model is right and wrong: {correct:,} of {total:,} test rows on the diagonal"
    return style(fig, title)


def roc_figure(pred: Predictions, positive_label=None) -> go.Figure:
    """ROC curve(s): how many real cases are caught (TPR) for each false-alarm rate (FPR)."""
    points = roc_points(pred, _positive(pred, positive_label))
    fig = go.Figure()
    fig.add_trace(
        go.Scatter(x=[0, 1], y=[0, 1], mode="lines", line=REFERENCE_LINE, name="Chance", hoverinfo="skip")
    )
    for label, (fpr, tpr, auc) in points.items():
        fig.add_trace(_curve(fpr, tpr, f"{label} (AUC {auc:.3f})", "False alarms", "Caught", label))
    _percent_axes(fig, "False positive rate (share of negatives flagged)", "True positive rate (recall)")
    if len(points) == 1:
        (label, (_, _, auc)), = points.items()
        title = f"ROC curve for '{label}': AUC {auc:.3f} (1.0 is perfect, 0.5 is guessing)"
    else:
        title = "ROC curves, each class against the rest (closer to the top-left is better)"
    return style(fig, title)


def pr_figure(pred: Predictions, positive_label=None) -> go.Figure:
    """Precision-recall curve(s), with the share of positives as the 'no skill' baseline."""
    pos = _positive(pred, positive_label)
    points = pr_points(pred, pos)
    y_true = np.asarray([str(v) for v in pred.y_true])
    fig = go.Figure()
    for label, (precision, recall, ap) in points.items():
        fig.add_trace(_curve(recall, precision, f"{label} (AP {ap:.3f})", "Recall", "Precision", label))
    if len(points) == 1:
        (label, (_, _, ap)), = points.items()
        base = float(np.mean(y_true == label)) if len(y_true) else 0.0
        fig.add_trace(
            go.Scatter(
                x=[0, 1], y=[base, base], mode="lines", line=REFERENCE_LINE,
                name=f"No skill ({base:.1%} are '{label}')", hoverinfo="skip",
            )
        )
        title = f"Precision vs recall for '{label}': average precision {ap:.3f}"
    else:
        title = "Precision vs recall, each class against the rest"
    _percent_axes(fig, "Recall (share of real cases caught)", "Precision (share of flags that are right)")
    return style(fig, title)


def calibration_figure(pred: Predictions, positive_label=None, n_bins: int = 10) -> go.Figure:
    """Reliability diagram: predicted probability vs how often it came true (dot size = rows)."""
    prob_true, prob_pred, counts = calibration_points(pred, _positive(pred, positive_label), n_bins)
    binary = pred.labels is not None and len(pred.labels) == 2
    fig = go.Figure()
    fig.add_trace(
        go.Scatter(x=[0, 1], y=[0, 1], mode="lines", line=REFERENCE_LINE, name="Perfectly calibrated",
                   hoverinfo="skip")
    )
    size = 6 + 18 * np.sqrt(counts / counts.max()) if len(counts) else []
    fig.add_trace(
        go.Scatter(
            x=prob_pred,
            y=prob_true,
            mode="lines+markers",
            name="Model",
            marker=dict(size=size),
            customdata=counts,
            hovertemplate="Predicted: %{x:.1%}<br>Observed: %{y:.1%}<br>%{customdata:,} rows<extra></extra>",
        )
    )
    if binary:
        pos = _positive(pred, positive_label)
        x_title, y_title = f"Predicted probability of '{pos}'", f"Observed share that are '{pos}'"
    else:
        x_title, y_title = "Confidence in the predicted class", "Observed share predicted correctly"
    _percent_axes(fig, x_title, y_title)
    title = f"Can the probabilities be trusted? Dots on the diagonal mean yes ({len(pred):,} rows)"
    return style(fig, title)


def threshold_figure(sweep_df, threshold: float | None = None) -> go.Figure:
    """Precision, recall, F1 and the share flagged as the decision threshold moves."""
    fig = go.Figure()
    series = (
        ("precision", "Precision", dict(width=2)),
        ("recall", "Recall", dict(width=2)),
        ("f1", "F1", dict(width=2)),
        ("flagged_share", "Share flagged", dict(width=1, dash="dot")),
    )
    flagged = None
    if {"tp", "fp"} <= set(sweep_df.columns):
        flagged = (np.asarray(sweep_df["tp"]) + np.asarray(sweep_df["fp"])) > 0
    for column, name, line in series:
        if column in sweep_df:
            y = np.asarray(sweep_df[column], dtype=float)
            if column == "precision" and flagged is not None:
                y = np.where(flagged, y, np.nan)  # undefined when nothing is flagged: leave a gap
            fig.add_trace(
                go.Scatter(
                    x=sweep_df["threshold"],
                    y=y,
                    mode="lines",
                    name=name,
                    line=line,
                    hovertemplate="Threshold %{x:.2f}<br>" + name + ": %{y:.1%}<extra></extra>",
                )
            )
    title = "Moving the threshold trades precision for recall"
    if threshold is not None:
        fig.add_vline(x=float(threshold), line=dict(color="#d62728", width=2, dash="dash"),
                      annotation_text=f"threshold {threshold:.2f}", annotation_position="top")
        title += f" (chosen: {threshold:.2f})"
    fig.update_xaxes(title="Decision threshold (flag a row when its score is at least this)")
    fig.update_yaxes(title="Score", tickformat=".0%", range=[0, 1.05])
    return style(fig, title, hovermode="x unified")


# --------------------------------------------------------------------------------------------
# Regression
# --------------------------------------------------------------------------------------------
def residual_figure(pred: Predictions, units: str = "") -> go.Figure:
    """Errors (actual − predicted) against the prediction: a shapeless band around 0 is good."""
    y_true, y_pred = _floats(pred)
    residual = y_true - y_pred
    fig = go.Figure(_test_points(y_pred, residual, "Predicted %{x:,.3g}<br>Error %{y:+,.3g}"))
    fig.add_hline(y=0, line=REFERENCE_LINE)
    suffix = f" ({units})" if units else ""
    fig.update_xaxes(title=f"Predicted value{suffix}")
    fig.update_yaxes(title=f"Error: actual − predicted{suffix}")
    mean_abs = float(np.mean(np.abs(residual))) if len(residual) else float("nan")
    title = f"Errors by prediction: average miss {mean_abs:,.3g}{' ' + units if units else ''} on {len(residual):,} rows"
    return style(fig, title)


def predicted_vs_actual_figure(pred: Predictions, units: str = "") -> go.Figure:
    """Predicted against actual with the y = x line: points on the line are perfect predictions."""
    y_true, y_pred = _floats(pred)
    lo = float(min(y_true.min(), y_pred.min())) if len(y_true) else 0.0
    hi = float(max(y_true.max(), y_pred.max())) if len(y_true) else 1.0
    fig = go.Figure()
    fig.add_trace(
        go.Scatter(x=[lo, hi], y=[lo, hi], mode="lines", line=REFERENCE_LINE, name="Perfect prediction",
                   hoverinfo="skip")
    )
    fig.add_trace(_test_points(y_true, y_pred, "Actual %{x:,.3g}<br>Predicted %{y:,.3g}"))
    suffix = f" ({units})" if units else ""
    pad = 0.03 * (hi - lo or 1.0)
    fig.update_xaxes(title=f"Actual value{suffix}", range=[lo - pad, hi + pad])
    fig.update_yaxes(title=f"Predicted value{suffix}", range=[lo - pad, hi + pad])
    return style(fig, f"Predicted vs actual on {len(y_true):,} rows: closer to the dashed line is better")


# --------------------------------------------------------------------------------------------
# Report summaries
# --------------------------------------------------------------------------------------------
def train_test_figure(report: MetricReport) -> go.Figure:
    """Grouped bars, train vs test, for the main metrics: a big gap means memorising."""
    gap = report.gap()
    gap_text = f"gap {100 * gap:.1f} points" if np.isfinite(gap) else "no training score"
    title = f"Training vs test scores ({metric_name(report.primary)} {gap_text}; a big gap means memorising)"
    if report.task == CLASSIFICATION:
        keys = _present(CLASSIFICATION_MAIN, report.test)
        fig = go.Figure()
        for split, scores in (("train", report.train), ("test", report.test)):
            fig.add_trace(_bar(split, keys, [scores.get(k) for k in keys]))
        fig.update_yaxes(title="Score", tickformat=".0%", range=[0, 1.1], dtick=0.2)
        fig.update_xaxes(title="Metric")
        return style(fig, title, barmode="group")
    fig = _regression_pair()
    share, errors = _present(REGRESSION_SHARE, report.test), _present(REGRESSION_ERRORS, report.test)
    for split, scores in (("train", report.train), ("test", report.test)):
        fig.add_trace(_bar(split, share, [scores.get(k) for k in share]), row=1, col=1)
        fig.add_trace(_bar(split, errors, [scores.get(k) for k in errors], legend=False, pct=False), row=1, col=2)
    return style(fig, title, barmode="group")


def cv_figure(report: MetricReport) -> go.Figure:
    """Cross-validation: mean score per metric with ± one standard deviation over folds."""
    if not report.cv:
        return empty_figure("Cross-validation", "No cross-validation was run for this model.")
    title = "Cross-validation: mean over folds, bars show ± 1 standard deviation (short is stable)"
    if report.task == CLASSIFICATION:
        keys = [k for k in report.cv]
        fig = go.Figure(_cv_bar(report, keys))
        fig.update_yaxes(title="Score (mean over folds)", tickformat=".0%", range=[0, 1.1], dtick=0.2)
        fig.update_xaxes(title="Metric")
        return style(fig, title)
    fig = _regression_pair()
    share = [k for k in report.cv if k in REGRESSION_SHARE]
    errors = [k for k in report.cv if k not in REGRESSION_SHARE]
    fig.add_trace(_cv_bar(report, share), row=1, col=1)
    fig.add_trace(_cv_bar(report, errors, pct=False), row=1, col=2)
    return style(fig, title, showlegend=False)


# --------------------------------------------------------------------------------------------
# Money: profit over thresholds and cumulative gains (two-class problems)
# --------------------------------------------------------------------------------------------
def profit_figure(curve: pd.DataFrame, econ: Economics, chosen: float | None = None) -> go.Figure:
    """Profit at each threshold (a profit_curve), with the best and the chosen threshold marked."""
    best = best_threshold(curve)
    fig = go.Figure(go.Scatter(x=curve["threshold"], y=curve["profit"], mode="lines", name="expected profit",
                               hovertemplate="threshold %{x:.2f}: " + econ.currency + "%{y:,.0f}<extra></extra>"))
    fig.add_vline(x=best["threshold"], line_dash="dash", line_color="#2ca02c",
                  annotation_text=f"best {best['threshold']:.2f}")
    if chosen is not None:
        fig.add_vline(x=chosen, line_dash="dot", line_color="#d62728", annotation_text=f"chosen {chosen:.2f}",
                      annotation_position="bottom right")
    fig.update_layout(template=TEMPLATE, height=HEIGHT, title="Profit on the test rows at each decision threshold",
                      xaxis_title="Decision threshold (flag a row when its probability is at least this)",
                      yaxis_title=f"Profit ({econ.currency})", margin=dict(l=40, r=20, t=60, b=40))
    return fig


def gains_figure(gains: pd.DataFrame, positive_label: str) -> go.Figure:
    """Cumulative gains (a gains_table) against the random-order diagonal."""
    share = [0.0, *gains["top_share"]]
    fig = go.Figure()
    fig.add_trace(go.Scatter(x=share, y=[0.0, *gains["gain"]], mode="lines+markers", name="model"))
    fig.add_trace(go.Scatter(x=[0, 1], y=[0, 1], mode="lines", name="random order", line=dict(dash="dash", color="#999")))
    fig.update_layout(template=TEMPLATE, height=HEIGHT,
                      title=f"Cumulative gains: share of '{positive_label}' cases caught when acting on the top rows",
                      xaxis_title="Share of rows acted on, highest scores first (%)",
                      yaxis_title=f"Share of '{positive_label}' cases caught (%)", margin=dict(l=40, r=20, t=60, b=40))
    fig.update_xaxes(tickformat=".0%")
    fig.update_yaxes(tickformat=".0%")
    return fig


# --------------------------------------------------------------------------------------------
# Helpers
# --------------------------------------------------------------------------------------------
def _positive(pred: Predictions, positive_label):
    if positive_label is not None:
        return str(positive_label)
    if pred.labels is not None and len(pred.labels) == 2:
        return default_positive_label(pred.labels)
    return None


def _curve(x, y, name: str, x_word: str, y_word: str, label: str) -> go.Scatter:
    """One class's curve with percentages in the hover text."""
    return go.Scatter(x=x, y=y, mode="lines", name=name,
                      hovertemplate=f"{x_word}: %{{x:.1%}}<br>{y_word}: %{{y:.1%}}<extra>{_esc(label)}</extra>")


def _test_points(x, y, hover: str) -> go.Scatter:
    """The test rows as a cloud of points."""
    return go.Scatter(x=x, y=y, mode="markers", name="Test rows", marker=dict(size=6, opacity=0.6),
                      hovertemplate=hover + "<extra></extra>")


def _percent_axes(fig: go.Figure, x_title: str, y_title: str) -> None:
    fig.update_xaxes(title=x_title, tickformat=".0%", range=[-0.01, 1.01])
    fig.update_yaxes(title=y_title, tickformat=".0%", range=[-0.01, 1.05])


def _floats(pred: Predictions) -> tuple[np.ndarray, np.ndarray]:
    return np.asarray(pred.y_true, dtype=float), np.asarray(pred.y_pred, dtype=float)


def _present(keys: Iterable[str], scores: dict) -> list[str]:
    return [k for k in keys if k in scores]


def _bar(split: str, keys: list[str], values: list, *, legend: bool = True, pct: bool = True) -> go.Bar:
    fmt = ".1%" if pct else ",.3g"
    return go.Bar(
        name=split.capitalize(),
        x=[metric_name(k) for k in keys],
        y=[np.nan if v is None else v for v in values],
        marker_color=SPLIT_COLORS[split],
        text=[("" if v is None else format(v, fmt)) for v in values],
        textposition="outside",
        showlegend=legend,
        legendgroup=split,
        hovertemplate="%{x}: %{y:" + fmt + "}<extra>" + split.capitalize() + "</extra>",
    )


def _cv_bar(report: MetricReport, keys: list[str], *, pct: bool = True) -> go.Bar:
    fmt = ".1%" if pct else ",.3g"
    means = [report.cv[k][0] for k in keys]
    stds = [report.cv[k][1] for k in keys]
    return go.Bar(
        x=[metric_name(k) for k in keys],
        y=means,
        error_y=dict(type="data", array=stds, visible=True),
        marker_color=SPLIT_COLORS["test"],
        text=[f"{format(m, fmt)} ± {format(s, fmt)}" for m, s in zip(means, stds)],
        textposition="inside",
        insidetextanchor="middle",
        name="Cross-validation",
        hovertemplate="%{x}: %{y:" + fmt + "} ± %{error_y.array:" + fmt + "}<extra></extra>",
    )


def _regression_pair() -> go.Figure:
    from plotly.subplots import make_subplots

    fig = make_subplots(rows=1, cols=2, column_widths=[0.35, 0.65], horizontal_spacing=0.15)
    fig.update_yaxes(tickformat=".0%", title="R²: variation explained (higher is better)", row=1, col=1)
    fig.update_yaxes(title="Error in target units (lower is better)", row=1, col=2)
    return fig


def _esc(text: str) -> str:
    """Make a class label safe inside a hovertemplate (no %{…} placeholders, no HTML tags)."""
    return str(text).replace("{", "(").replace("}", ")").replace("<", "&lt;")


def slices_figure(report: SliceReport) -> go.Figure:
    """Error per slice with its 95% interval, surest weak spot on top; the dashed line is the whole test split."""
    if not report.slices:
        return empty_figure("Where the model fails", "No slice is worse than the whole.")
    shown = report.slices[::-1]
    pct = report.task == "classification"
    colours = ["#d62728" if s.surely_worse else "#9aa5b1" if s.too_small else "#ff7f0e" for s in shown]
    labels = [s.description if len(s.description) <= 60 else s.description[:57] + "…" for s in shown]
    fmt = ".0%" if pct else ",.3g"
    fig = go.Figure(go.Bar(
        x=[s.error for s in shown], y=labels, orientation="h", marker_color=colours,
        error_x=dict(type="data", symmetric=False, array=[s.high - s.error for s in shown],
                     arrayminus=[s.error - s.low for s in shown], color="#555555"),
        customdata=[[s.size, s.low, s.high] for s in shown],
        hovertemplate="%{y}<br>error %{x:" + fmt + "} (95%: %{customdata[1]:" + fmt + "} to %{customdata[2]:" + fmt
                      + "})<br>%{customdata[0]:,} rows<extra></extra>"))
    fig.add_vline(x=report.overall, line=REFERENCE_LINE, annotation_text="all test rows", annotation_position="top")
    fig.update_xaxes(title="share misclassified" if pct else "mean absolute error", tickformat=".0%" if pct else None,
                     rangemode="tozero")
    return style(fig, f"Where the model fails: {len(shown)} slices of the {report.n_rows:,} test rows, surest first "
                      "(red: surely worse; grey: too few rows to tell)", height=max(320, 30 * len(shown) + 130),
                 showlegend=False)
