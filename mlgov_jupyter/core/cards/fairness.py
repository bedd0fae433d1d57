"""A card's fairness section: SageMaker Clarify's bias metrics of a model on its test data.

``fairness_evaluation(model, X, y, facet, facet_values)`` returns one ``evaluation_details`` entry
of SageMaker's card schema: two metric groups (Clarify's pre-training metrics of the data and
post-training metrics of the model's predictions, as ``core.monitoring.bias`` computes them, equal
to Clarify's), each metric a number with its full name in ``notes`` and a bar chart of the finite
ones. Values Clarify reports as infinite or not computable are strings (``"Infinity"``,
``"not computable"``). Facet d (the sensitive group) is the rows whose ``facet`` value is in
``facet_values`` (or above it, one number, for a numeric facet of more than two values).
"""

from __future__ import annotations

import math
from typing import Any, Sequence

from ..errors import Invalid

NAMES = {
    "CI": "Class imbalance", "DPL": "Difference in proportions of labels",
    "KL": "Kullback-Leibler divergence", "JS": "Jensen-Shannon divergence",
    "LP": "Lp-norm", "TVD": "Total variation distance", "KS": "Kolmogorov-Smirnov",
    "CDDL": "Conditional demographic disparity in labels",
    "DPPL": "Difference in positive proportions in predicted labels", "DI": "Disparate impact",
    "DCA": "Difference in conditional acceptance", "DCR": "Difference in conditional rejection",
    "RD": "Recall difference", "SD": "Specificity difference", "DAR": "Difference in acceptance rates",
    "DRR": "Difference in rejection rates", "AD": "Accuracy difference", "TE": "Treatment equality",
    "CDDPL": "Conditional demographic disparity in predicted labels", "GE": "Generalized entropy",
    "FT": "Flip test",
}
_LABEL, _PRED = "__mlgov_label__", "__mlgov_predicted__"


def _values_text(values: Any) -> str:
    items = values if isinstance(values, (list, tuple)) else [values]
    return ", ".join(str(v) for v in items)


def _group(title: str, metrics: dict, names: Sequence[str]) -> dict | None:
    data, chart_names, chart_values = [], [], []
    for name in names:
        if name not in metrics:
            continue
        value = float(metrics[name])
        if math.isnan(value):
            shown: Any = "not computable"
        elif math.isinf(value):
            shown = "Infinity" if value > 0 else "-Infinity"
        else:
            shown = round(value, 6)
            chart_names.append(name)
            chart_values.append(shown)
        data.append({"name": name, "type": "number", "value": shown, "notes": NAMES.get(name, name)})
    if not data:
        return None
    if chart_values:
        data.append({"name": f"{title} (chart)", "type": "bar_chart", "value": chart_values,
                     "x_axis_name": chart_names, "y_axis_name": "value (0 ideal; DI 1)"})
    return {"name": title, "metric_data": data}


def fairness_evaluation(model: Any, X: Any, y: Any, facet: str, facet_values: Any,
                        label_values: Sequence | None = None) -> dict:
    """The fairness ``evaluation_details`` entry of ``model`` on ``(X, y)`` for ``facet``.
    Invalid when X is not a DataFrame holding ``facet``, or when Clarify's metrics cannot be
    computed (no row in facet d or a, no label values)."""
    import pandas as pd

    from ..monitoring.bias import POST_TRAINING, PRE_TRAINING, bias_metrics

    if not isinstance(X, pd.DataFrame) or facet not in X.columns:
        raise Invalid(f"bias facet {facet!r} must be a column of the test data (a DataFrame)")
    frame = X[[facet]].reset_index(drop=True).copy()
    frame[_LABEL] = pd.Series(y).reset_index(drop=True)
    frame[_PRED] = pd.Series(model.predict(X)).reset_index(drop=True)
    metrics = bias_metrics(frame, label=_LABEL, facet=facet, facet_values=facet_values, predicted=_PRED,
                           label_values=label_values)
    shown = _values_text(facet_values)
    groups = [g for g in (_group("Pre-training bias (Clarify)", metrics, PRE_TRAINING),
                          _group("Post-training bias (Clarify)", metrics, POST_TRAINING)) if g]
    return {
        "name": f"Fairness: {facet}"[:63],
        "evaluation_observation": (
            f"SageMaker Clarify's bias metrics computed by mlgov-jupyter on {len(frame)} test rows; facet "
            f"{facet!r}, sensitive group (facet d): {shown}; every other row is facet a. Pre-training "
            f"metrics describe the labels, post-training ones the model's predictions.")[:2096],
        "metadata": {"facet": facet[:1024], "facet_values": shown[:1024], "rows": str(len(frame))},
        "metric_groups": groups,
    }
