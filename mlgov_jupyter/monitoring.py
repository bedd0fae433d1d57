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
p-values are corrected across columns with Benjamini-Hochberg by default (``correction="bh"``: a
30-column check of unshifted data would otherwise flag some column at p < 0.05 four times in five),
or ``"bonferroni"``, or ``"none"``; the dataset drifts when the share of drifted columns reaches
``drift_share`` (0.5).

SageMaker's own files go both ways: ``baseline.to_sagemaker()`` (or ``baseline.save_sagemaker(dir)``)
writes Model Monitor's data-quality statistics.json / constraints.json, its model-quality
statistics / constraints and Clarify's analysis.json; ``mon.from_sagemaker(*files)`` reads any of
them (paths, JSON text, dicts or a directory) into a Baseline that ``check`` uses and that writes
them back with nothing lost; ``mon.read_sagemaker(file)`` also reads constraint_violations.json into
a Report. The model-quality files do not name the columns: pass ``target=`` and ``prediction=`` (or
``probability=``). See ``mlgov_jupyter.core.monitoring.sagemaker_formats`` for each field.

Data quality violations use SageMaker Model Monitor's check types: data_type_check,
completeness_check, baseline_drift_check, missing_column_check, extra_column_check,
categorical_values_check. Thresholds live in ``baseline.config`` with SageMaker's meaning:
``datatype_check_threshold`` (1.0) and ``domain_content_threshold`` (0.9) are the shares of a
column's present values that must be of the baseline's type or inside its domain
(``core.monitoring.check.required_share`` gives the sources).
"""

from __future__ import annotations

from .core.monitoring import (
    Baseline, Report, attribution_ndcg, bias_metrics, check, fit_baseline, global_attributions, quality_metrics,
)
from .core.monitoring.bias import POST_TRAINING, PRE_TRAINING
from .core.monitoring.drift import DEFAULT_THRESHOLDS, METHODS
from .core.monitoring.sagemaker_formats import from_sagemaker, read_sagemaker


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
    "bias_metrics", "check", "fit_baseline", "from_sagemaker", "global_attributions", "panel", "quality_metrics",
    "read_sagemaker", "run_with_panel",
]
