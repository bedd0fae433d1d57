"""Monitoring for notebooks: ``from mlgov_jupyter import monitoring as mon``.

    baseline = mon.fit_baseline(train_df, target="y", prediction="y_hat", sensitive="sex")
    report = mon.check(baseline, new_df)            # or a Parquet path, or an iterator of DataFrames
    report.drifted_columns, report.violations, report.to_dict()
    mon.bias_metrics(df, label="y", facet="sex", facet_values=["F"], predicted="y_hat")
    mon.attribution_ndcg(baseline_importances, current_importances)
    mon.panel(report)                               # the inline widget panel

Drift tests: small samples (effective n <= 1000) use p-values (KS for numeric, chi-square for
categorical), large ones distances with thresholds (Wasserstein / reference std >= 0.1,
Jensen-Shannon >= 0.1; PSI >= 0.2 on request), because p-values flag everything at a million
rows. Override per column with ``methods={"col": "psi"}`` and ``thresholds={"col": 0.25}``;
correct p-values across columns with ``correction="bonferroni"`` or ``"bh"``; the dataset
drifts when the share of drifted columns reaches ``drift_share`` (0.5).

Data quality violations use SageMaker Model Monitor's check types: data_type_check,
completeness_check, baseline_drift_check, missing_column_check, extra_column_check,
categorical_values_check. Thresholds live in ``baseline.config`` (semantics of SageMaker's
datatype/domain thresholds are not published: here they are the tolerated share of
non-conforming values).
"""

from __future__ import annotations

from .core.monitoring import (
    Baseline, Report, attribution_ndcg, bias_metrics, check, fit_baseline, global_attributions, quality_metrics,
)
from .core.monitoring.bias import POST_TRAINING, PRE_TRAINING
from .core.monitoring.drift import DEFAULT_THRESHOLDS, METHODS


def panel(report, **kwargs):
    """The ipywidgets drift panel for a report (with a static HTML fallback)."""
    from .kernel.widgets.drift_panel import DriftPanel

    return DriftPanel(report, **kwargs)


def run_with_panel(baseline, current, **kwargs):
    """check() with a live progress bar; returns (report, panel)."""
    from .kernel.widgets.drift_panel import run_check_with_panel

    return run_check_with_panel(baseline, current, **kwargs)


__all__ = [
    "Baseline", "DEFAULT_THRESHOLDS", "METHODS", "POST_TRAINING", "PRE_TRAINING", "Report", "attribution_ndcg",
    "bias_metrics", "check", "fit_baseline", "global_attributions", "panel", "quality_metrics", "run_with_panel",
]
