"""Figures of the share package: runs compared side by side (pure functions, a result in, a plotly Figure out)."""
from __future__ import annotations

import numpy as np
import plotly.graph_objects as go

from core.common.charts import PALETTE, empty_figure, style
from core.evaluate import roc_points
from core.evaluate.charts import REFERENCE_LINE, metric_name
from core.share._compare import RunComparison

#: the scores drawn side by side (all of them are in the table); shares and R², on one axis
MAIN_METRICS = ("accuracy", "balanced_accuracy", "f1_macro", "roc_auc", "average_precision", "r2")


def compare_metrics_figure(comparison: RunComparison) -> go.Figure:
    """Every run's test scores side by side (cross-validation means as diamonds when stored)."""
    rows = comparison.metrics[comparison.metrics["on"] == "test rows"]
    main = rows[rows["metric"].isin(MAIN_METRICS)]
    rows = main if not main.empty else rows
    if rows.empty:
        return empty_figure("Scores side by side", "No stored scores.")
    fig = go.Figure()
    cv = comparison.metrics[comparison.metrics["on"] == "cross-validation"].set_index("metric")
    for i, label in enumerate(comparison.labels):
        colour = PALETTE[i % len(PALETTE)]
        names = [metric_name(m) for m in rows["metric"]]
        fig.add_bar(x=names, y=rows[label], name=label, marker_color=colour,
                    hovertemplate="%{x}: %{y:.4g}<extra>" + label + " (test rows)</extra>")
        if label in cv.columns:
            means = [cv[label].get(m) for m in rows["metric"]]
            fig.add_scatter(x=names, y=means, mode="markers", marker=dict(symbol="diamond", size=9, color=colour,
                                                                          line=dict(color="white", width=1)),
                            name=f"{label}: cross-validation", showlegend=False,
                            hovertemplate="%{x}: %{y:.4g}<extra>" + label + " (cross-validation)</extra>")
    fig.update_layout(barmode="group")
    return style(fig, "Scores side by side (bars: test rows; ◆ cross-validation)")


def compare_curves_figure(comparison: RunComparison) -> go.Figure:
    """Overlaid curves: ROC for two classes, the spread of errors for regression, recall per class otherwise."""
    fig = go.Figure()
    preds = comparison.test_predictions
    if comparison.task != "classification":
        for i, (label, p) in enumerate(zip(comparison.labels, preds)):
            err = np.asarray(p.y_pred, dtype=float) - np.asarray(p.y_true, dtype=float)
            fig.add_histogram(x=err, name=label, opacity=0.55, marker_color=PALETTE[i % len(PALETTE)], nbinsx=40)
        fig.update_layout(barmode="overlay")
        fig.update_xaxes(title="prediction minus truth (test rows)")
        fig.update_yaxes(title="rows")
        return style(fig, "Errors of each run on its test rows (narrower is better)")
    positive = comparison.runs[0].metrics.get("positive_label")
    if positive is not None and all(p.proba is not None for p in preds):
        for i, (label, p) in enumerate(zip(comparison.labels, preds)):
            fpr, tpr, auc = roc_points(p, positive)[str(positive)]
            fig.add_scatter(x=fpr, y=tpr, mode="lines", name=f"{label} (AUC {auc:.3f})",
                            line=dict(color=PALETTE[i % len(PALETTE)]))
        fig.add_scatter(x=[0, 1], y=[0, 1], mode="lines", line=REFERENCE_LINE, showlegend=False, hoverinfo="skip")
        fig.update_xaxes(title="false-positive rate", range=[0, 1])
        fig.update_yaxes(title=f"true-positive rate ('{positive}' found)", range=[0, 1])
        return style(fig, "ROC curves on the test rows, overlaid")
    for i, (label, run) in enumerate(zip(comparison.labels, comparison.runs)):
        per_class = run.metrics.get("per_class", [])
        fig.add_bar(x=[r["label"] for r in per_class], y=[r["recall"] for r in per_class], name=label,
                    marker_color=PALETTE[i % len(PALETTE)])
    fig.update_yaxes(title="recall (share of the class found)", tickformat=".0%")
    return style(fig, "Recall per class on the test rows", barmode="group")
