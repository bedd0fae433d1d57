"""Report: the result of ``check``; JSON-serialisable with ``to_dict()``, light HTML in notebooks."""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from .drift import ColumnDrift


def _json(v):
    """Replace non-finite floats by None, numpy scalars by Python ones, recursively (bias metrics are
    encoded before, by ``_bias_json``: their infinities are results)."""
    if isinstance(v, dict):
        return {str(k): _json(x) for k, x in v.items()}
    if isinstance(v, (list, tuple)):
        return [_json(x) for x in v]
    if hasattr(v, "item") and not isinstance(v, (str, bytes)):
        try:
            v = v.item()
        except (TypeError, ValueError):
            return str(v)
    if isinstance(v, float) and not math.isfinite(v):
        return None
    return v


def _bias_json(section):
    """The bias section with its metrics as Clarify writes them: +-inf as the strings "Infinity" /
    "-Infinity" (a DI of +Infinity is a result, and a violation, not a missing value), NaN as null;
    strict JSON either way, so the service stores it and the REST layer accepts it."""
    if not isinstance(section, dict):
        return section
    from .bias import metrics_to_json

    out = dict(section)
    for key in ("baseline", "current"):
        if isinstance(out.get(key), dict):
            out[key] = metrics_to_json(out[key])
    return out


@dataclass
class Report:
    columns: list[ColumnDrift]
    violations: list[dict]
    dataset_drift: bool
    drift_share: float
    drift_share_threshold: float
    n_current: int
    n_reference: int
    missing_columns: list = field(default_factory=list)
    extra_columns: list = field(default_factory=list)
    correction: str | None = None
    # baseline columns whose constraints are not evaluated (SageMaker's evaluate_constraints: Disabled,
    # for the file or the feature): their drift is shown, never a violation nor counted as drift
    not_evaluated: list = field(default_factory=list)
    quality: dict | None = None
    bias: dict | None = None
    attribution: dict | None = None
    timings: dict = field(default_factory=dict)
    _by_name: dict = field(default_factory=dict, repr=False)

    @property
    def drifted_columns(self) -> list[str]:
        return [c.column for c in self.columns if c.drifted]

    @property
    def status(self) -> str:
        """SageMaker's execution status."""
        return "CompletedWithViolations" if self.violations else "Completed"

    def __getitem__(self, column: str) -> ColumnDrift:
        if not self._by_name:
            self._by_name = {c.column: c for c in self.columns}
        return self._by_name[column]

    def violations_by_type(self) -> dict:
        out: dict = {}
        for v in self.violations:
            out[v["constraint_check_type"]] = out.get(v["constraint_check_type"], 0) + 1
        return out

    def to_frame(self):
        import pandas as pd

        rows = [{k: v for k, v in c.to_dict().items() if k != "chart"} for c in self.columns]
        return pd.DataFrame(rows)

    def to_dict(self) -> dict:
        return _json({
            "status": self.status,
            "dataset_drift": bool(self.dataset_drift),
            "drift_share": self.drift_share,
            "drift_share_threshold": self.drift_share_threshold,
            "drifted_columns": self.drifted_columns,
            "n_current": self.n_current,
            "n_reference": self.n_reference,
            "correction": self.correction,
            "columns": [c.to_dict() for c in self.columns],
            "violations": self.violations,
            "violations_by_type": self.violations_by_type(),
            "missing_columns": self.missing_columns,
            "extra_columns": self.extra_columns,
            "not_evaluated": self.not_evaluated,
            "model_quality": self.quality,
            "bias": _bias_json(self.bias),
            "attribution": self.attribution,
            "timings": self.timings,
        })

    def _repr_html_(self) -> str:
        from .html import report_html

        return report_html(self)

    def __repr__(self) -> str:
        by = self.violations_by_type()
        return (f"<Report dataset_drift={'yes' if self.dataset_drift else 'no'}, "
                f"{len(self.drifted_columns)}/{len(self.columns)} columns drifted, "
                f"{len(self.violations)} violations{(' ' + str(by)) if by else ''}>")
