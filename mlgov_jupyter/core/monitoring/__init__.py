"""Monitoring engine: baselines, data quality, drift, model quality, bias and attribution drift.

Pure functions and plain data classes: no tornado, IPython or ipywidgets imports. SciPy and
scikit-learn are imported lazily, on first use. The public facade is
``mlgov_jupyter.monitoring`` (``from mlgov_jupyter import monitoring as mon``).
"""

from .attribution import attribution_ndcg, global_attributions
from .baseline import Baseline, fit_baseline
from .bias import bias_metrics
from .check import check
from .quality import quality_metrics
from .report import Report

__all__ = [
    "Baseline",
    "Report",
    "attribution_ndcg",
    "bias_metrics",
    "check",
    "fit_baseline",
    "global_attributions",
    "quality_metrics",
]
