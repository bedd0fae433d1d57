"""check(): one pass over the current data (in memory or streamed), each column once, all cores.

Outcomes that do not depend on how the data is laid out: rows are read by position, never by the
DataFrame's index (duplicated, unsorted or non-default labels give the same report); duplicate
column names are refused (which column would be checked?), as ``fit_baseline`` refuses them; data
without rows is refused whatever its form (DataFrame, iterator, Parquet, Arrow table), as a
SageMaker monitoring execution fails on empty input: there is nothing to compare.

A section that cannot be computed on this data (model quality without ground truth, bias when the
current data has no row of the sensitive group, attributions without a model) keeps the rest of the
report: the section says ``computable: False`` and why (``reason``), and adds no violation.
"""

from __future__ import annotations

import math
import os
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Callable, Iterable

import numpy as np
import pandas as pd

from ..errors import Invalid
from .baseline import SHARE_KEYS, Baseline, n_workers
from .drift import adjust, column_drift
from .report import Report
from .sagemaker_formats import constraint_settings, evaluates, number
from .stats import CategoricalAcc, NumericAcc, new_acc

DEFAULT_CHUNK_ROWS = 250_000
ATTRIBUTION_SAMPLE = 2000


NO_ROWS = "the current data has no rows: nothing to check"


def required_share(cfg: dict, key: str) -> float:
    """The share of a column's present values that must be of the baseline's inferred type
    (``datatype_check_threshold``) or inside its domain (``domain_content_threshold``): a violation
    when the share observed is *below* it, and the violation's ``value`` is that share.

    That is SageMaker Model Monitor's meaning. Its analyzer (``sagemaker-model-monitor-analyzer``) is
    built on Deequ 2.0.2 (AWS, "Amazon SageMaker Model Monitor prebuilt container"), whose data type
    constraint computes the ratio of non-null values of the type and reports a failure as "Value: <ratio>
    does not meet the constraint requirement!" (awslabs/deequ, ``constraints/Constraint.scala``,
    ``dataTypeConstraint`` / ``ratioTypes``; the maintainers on awslabs/deequ#523: the value is the
    share of rows meeting the constraint). SageMaker's own files agree: the constraints it suggests hold
    1.0 for both thresholds (SDK ``tests/data/pipeline/quality_check_step/data_quality/*/constraints.json``)
    and its violations report shares such as 0.973973973973974 (= 973/999 typed) for a data_type_check
    and 0.009009009009009009 (9/999 in the domain) for a categorical_values_check (SDK
    ``tests/data/monitor/constraint_violations.json``); read as "tolerate 100%", the thresholds SageMaker
    suggests would never flag anything. AWS's constraints page names the parameters without a direction
    (and an answer on AWS re:Post reads them as tolerances, which those files contradict).
    Fractional accepts every finite number (a whole number is a fractional value too); Integral whole
    numbers only; values that are not finite numbers (or dates, for datetime columns) never conform.

    ``baseline.config`` holds these shares (``baseline.DEFAULT_CONFIG``: 1.0 and 0.9; baselines saved in
    format 1, which held the tolerated shares, are converted on load), as SageMaker's files do."""
    return float(cfg[key])


def _names(columns, what: str = "the current data") -> list[str]:
    """Column names as strings; Invalid naming the duplicates (``1`` and ``"1"`` are one name)."""
    names = [str(c) for c in columns]
    if len(set(names)) != len(names):
        seen, dup = set(), []
        for n in names:
            if n in seen and n not in dup:
                dup.append(n)
            seen.add(n)
        raise Invalid(f"{what} has duplicate column names: {', '.join(dup[:5])}{' ...' if len(dup) > 5 else ''} "
                      "(rename them first)")
    return names


def _source(current, columns: list[str] | None, chunk_rows: int):
    """(column names, iterator of DataFrames, total rows or None) for every supported input."""
    if isinstance(current, pd.DataFrame):
        names = _names(current.columns)
        if len(current) == 0:
            raise Invalid(NO_ROWS)
        return names, iter([current]), len(current)
    if isinstance(current, (str, os.PathLike)):
        path = os.fspath(current)
        if not os.path.exists(path):
            raise Invalid(f"no such file or directory: {path}")
        import pyarrow.dataset as pads
        import pyarrow.parquet as pq

        try:
            if os.path.isfile(path):
                pfile = pq.ParquetFile(path)
                names = [n for n in pfile.schema_arrow.names if not n.startswith("__index_level_")]
                total = pfile.metadata.num_rows
            else:
                dataset = pads.dataset(path, format="parquet")
                names = list(dataset.schema.names)
                total = dataset.count_rows()
        except Exception as exc:  # pyarrow raises several types for unreadable files
            raise Invalid(f"cannot read {path} as Parquet ({exc.__class__.__name__})") from None
        wanted = [c for c in names if columns is None or c in columns]

        def batches():
            # one batch at a time: memory stays at about one batch whatever the file size
            if os.path.isfile(path):
                # row group by row group: iter_batches buffers far more than one batch
                meta = pfile.metadata
                for i in range(meta.num_row_groups):
                    if meta.row_group(i).num_rows <= 2 * chunk_rows:
                        table = pfile.read_row_group(i, columns=wanted)
                        if table.num_rows:
                            yield table.to_pandas()
                        del table
                    else:
                        for batch in pfile.iter_batches(batch_size=chunk_rows, row_groups=[i], columns=wanted):
                            yield batch.to_pandas()
                return
            else:
                it = dataset.to_batches(columns=wanted, batch_size=chunk_rows, batch_readahead=1,
                                        fragment_readahead=1, use_threads=True)
            for batch in it:
                if batch.num_rows:
                    yield batch.to_pandas()

        return names, batches(), total
    try:
        import pyarrow as pa

        if isinstance(current, pa.Table):
            names = _names(current.column_names)
            if current.num_rows == 0:
                raise Invalid(NO_ROWS)
            return names, (b.to_pandas() for b in current.to_batches(chunk_rows)), current.num_rows
    except ImportError:  # pragma: no cover
        pass
    if isinstance(current, Iterable):
        it = iter(current)
        try:
            first = next(it)
        except StopIteration:
            raise Invalid(NO_ROWS + " (the iterator is empty)") from None
        if not isinstance(first, pd.DataFrame):
            raise Invalid("an iterator of current data must yield pandas DataFrames")

        def chain():
            yield first
            for chunk in it:
                if not isinstance(chunk, pd.DataFrame):
                    raise Invalid("an iterator of current data must yield pandas DataFrames")
                yield chunk

        return _names(first.columns), chain(), None
    raise Invalid("current data must be a DataFrame, a Parquet path, a pyarrow Table or an iterator of DataFrames")


def check(baseline: Baseline, current, *, methods: dict | None = None, thresholds: dict | None = None,
          method: str | None = None, correction: str | None = None, drift_share: float | None = None,
          quality_constraints: dict | None = None, model=None, attributions: dict | None = None,
          bias_tolerance: float = 0.0, attribution_method: str = "auto",
          chunk_rows: int = DEFAULT_CHUNK_ROWS, workers: int | None = None,
          progress: Callable[[float, str], Any] | None = None) -> Report:
    """Run every check the baseline supports on ``current``; see ``mlgov_jupyter.monitoring.check``."""
    if isinstance(baseline, (str, os.PathLike)):
        baseline = Baseline.load(baseline)
    if not isinstance(baseline, Baseline):
        raise Invalid("check needs a Baseline (from fit_baseline or Baseline.load) as first argument")
    t0 = time.perf_counter()
    methods = dict(methods or {})
    thresholds = dict(thresholds or {})
    for col in list(methods) + list(thresholds):
        if col not in baseline.columns:
            raise Invalid(f"column {col!r} is not in the baseline")
    names, chunks, total = _source(current, None, chunk_rows)
    present = [c for c in baseline.columns if c in names]
    missing = [c for c in baseline.columns if c not in names]
    # a baseline without data-quality columns (read from model-quality or Clarify files only) says
    # nothing about which columns the data has: no column is extra
    extra = [c for c in names if c not in baseline.columns] if baseline.columns else []
    accs = {c: new_acc(baseline.columns[c]) for c in present}

    keep_cols = [c for c in (baseline.target, baseline.prediction, baseline.probability) if c]
    if baseline.bias_config:
        keep_cols += [c for c in (baseline.bias_config["facet"], baseline.bias_config.get("group")) if c]
    keep_cols = [c for c in dict.fromkeys(keep_cols) if c in names]
    kept_parts: list[pd.DataFrame] = []
    sample_parts: list[pd.DataFrame] = []
    want_sample = model is not None and attributions is None and baseline.attributions
    n_rows = 0
    workers = workers or n_workers()
    done_rows = 0
    rng = np.random.default_rng(0)
    with ThreadPoolExecutor(workers) as pool:
        for chunk in chunks:
            _names(chunk.columns)
            label = {str(c): c for c in chunk.columns}  # the user's labels may be ints: never rename them
            lacking = [c for c in present if c not in label]
            if lacking:
                raise Invalid(f"a chunk of the current data lacks column(s) {', '.join(lacking[:5])}")
            k = len(chunk)
            n_rows += k
            futures = [(c, pool.submit(accs[c].add, chunk[label[c]])) for c in present]
            for i, (c, fut) in enumerate(futures):
                try:
                    fut.result()
                except Invalid:
                    raise
                except (TypeError, ValueError) as exc:
                    raise Invalid(f"column {c!r}: cannot compare with the baseline ({exc})") from None
                if progress is not None:
                    frac = ((done_rows + k * (i + 1) / max(len(futures), 1)) / total) if total else math.nan
                    progress(min(frac, 1.0), c)
            done_rows += k
            if keep_cols:
                part = chunk[[label[c] for c in keep_cols]].reset_index(drop=True)  # by position, never by label
                part.columns = keep_cols
                kept_parts.append(part)
            if want_sample:
                take = min(k, ATTRIBUTION_SAMPLE)
                part = chunk.iloc[rng.choice(k, size=take, replace=False)] if take < k else chunk.copy(deep=False)
                part = part.reset_index(drop=True)
                part.columns = [str(c) for c in part.columns]
                sample_parts.append(part)
    if n_rows == 0:
        raise Invalid(NO_ROWS)
    if progress is not None:
        progress(1.0, "")
    t_scan = time.perf_counter() - t0

    # -------------------------------------------------------------- drift per column
    def method_for(c):
        if c in methods:
            return methods[c]
        if method in ("ks", "wasserstein") and isinstance(accs[c], CategoricalAcc):
            return "auto"  # a global numeric-only test leaves categorical columns to the default
        return method or "auto"

    results = [column_drift(accs[c], method_for(c), thresholds.get(c)) for c in present]
    adjust(results, correction)
    # SageMaker's evaluate_constraints, for the file and per feature (monitoring_config_overrides):
    # a feature whose constraints are not evaluated is shown, never flagged (constraint_settings)
    settings = constraint_settings((baseline.sagemaker or {}).get("constraints"))
    evaluated = {c: evaluates(settings, c) for c in baseline.columns}
    counted = [r for r in results if evaluated[r.column]]
    share_threshold = baseline.config["drift_share"] if drift_share is None else float(drift_share)
    n_drifted = sum(r.drifted for r in counted)
    share = n_drifted / len(counted) if counted else 0.0

    # -------------------------------------------------------------- data quality (SageMaker's six checks)
    violations: list[dict] = []

    def cfg_of(c):
        """The monitoring config for column ``c``: the baseline's, with the feature's overrides."""
        ov = settings["features"].get(c) or {}
        try:
            return {**baseline.config, **{k: number(ov[k]) for k in SHARE_KEYS if ov.get(k) is not None}}
        except (TypeError, ValueError):
            raise Invalid(f"constraints.json: the monitoring_config_overrides of {c!r} hold a threshold that is "
                          "not a number") from None

    def viol(feature, check_type, description, monitor="data_quality", value=None):
        v = {"feature_name": feature, "constraint_check_type": check_type, "description": description,
             "monitor_type": monitor}
        if value is not None:  # the number compared, as SageMaker's "Value: ..." reports it
            v["value"] = float(value)
        violations.append(v)

    for c in missing:
        if evaluated[c]:
            viol(c, "missing_column_check", f"Column {c} is in the baseline but not in the current data")
    for c in extra if settings["evaluate"] else []:
        viol(c, "extra_column_check", f"Column {c} is in the current data but not in the baseline")
    for c in present:
        if not evaluated[c]:
            continue
        acc, ref, cfg = accs[c], baseline.columns[c], cfg_of(c)
        if isinstance(acc, NumericAcc):
            present_c = acc.n_present
            if present_c:
                typed = (present_c - acc.n_nonconforming) / present_c
                if typed < required_share(cfg, "datatype_check_threshold") - 1e-12:
                    viol(c, "data_type_check",
                         f"Data type match requirement is not met: {typed:.2%} of the values of {c} are "
                         f"{ref.inferred_type} ({acc.n_nonconforming:,} of {present_c:,} are not; "
                         f"required {required_share(cfg, 'datatype_check_threshold'):.2%})", value=typed)
        else:
            present_c = acc.n
        total_c = present_c + acc.n_missing
        completeness = present_c / total_c if total_c else 1.0
        if total_c and completeness < ref.completeness - cfg["completeness_tolerance"] - 1e-12:
            viol(c, "completeness_check",
                 f"Data completeness requirement is not met: completeness of {c} is {completeness:.4f}, "
                 f"baseline {ref.completeness:.4f}", value=completeness)
        if isinstance(acc, CategoricalAcc):
            ood = acc.out_of_domain()
            if ood is not None and acc.n:
                in_domain = (acc.n - ood) / acc.n
                if in_domain < required_share(cfg, "domain_content_threshold") - 1e-12:
                    viol(c, "categorical_values_check",
                         f"Categorical values requirement is not met: {in_domain:.2%} of the values of {c} are in "
                         f"the baseline domain ({ood:,} of {acc.n:,} are not; required "
                         f"{required_share(cfg, 'domain_content_threshold'):.2%})", value=in_domain)
    by_name = {r.column: r for r in results}
    for r in counted:
        if r.drifted:
            score = f"p-value {r.adjusted_p_value if r.adjusted_p_value is not None else r.p_value:.3g}" \
                if r.p_value is not None else f"distance {r.statistic:.4f}"
            viol(r.column, "baseline_drift_check",
                 f"Baseline drift distance for {r.column} exceeds threshold: {r.method} {score} "
                 f"(threshold {r.threshold:g})")

    report = Report(columns=results, violations=violations, dataset_drift=share >= share_threshold and n_drifted > 0,
                    drift_share=share, drift_share_threshold=share_threshold, n_current=n_rows,
                    n_reference=baseline.n_rows, missing_columns=missing, extra_columns=extra,
                    correction=correction, not_evaluated=[c for c in baseline.columns if not evaluated[c]])

    kept = pd.concat(kept_parts, ignore_index=True) if len(kept_parts) > 1 else (kept_parts[0] if kept_parts else None)

    # -------------------------------------------------------------- model quality
    if baseline.quality is not None:
        from .quality import normalise_constraints, quality_metrics, quality_violations

        cons = {**baseline.quality_constraints, **normalise_constraints(quality_constraints)}
        cols = kept.columns if kept is not None else []
        pred = baseline.prediction if baseline.prediction in cols else None
        prob = baseline.probability if baseline.probability in cols else None
        section = {"problem_type": baseline.problem_type, "baseline": baseline.quality, "constraints": cons}
        try:
            if baseline.target not in cols:
                raise Invalid(f"the current data has no ground truth column {baseline.target!r}")
            if pred is None and prob is None:
                raise Invalid("the current data has no prediction column "
                              + " or ".join(repr(c) for c in (baseline.prediction, baseline.probability) if c))
            q = quality_metrics(kept, baseline.target, pred, prob, baseline.problem_type, baseline.positive_label)
        except Invalid as exc:
            report.quality = {**section, "computable": False, "reason": str(exc)}
        else:
            report.quality = {**section, "computable": True, "problem_type": q["problem_type"], "n": q["n"],
                              "metrics": q["metrics"]}
            for v in quality_violations(q["metrics"], cons):
                violations.append({"feature_name": v["metric_name"], **v, "monitor_type": "model_quality"})

    # -------------------------------------------------------------- bias drift
    bc = baseline.bias_config
    if bc and baseline.bias:
        from .bias import bias_metrics, bias_violations

        cols = kept.columns if kept is not None else []
        section = {"facet": bc["facet"], "facet_values": bc["facet_values"], "baseline": baseline.bias,
                   "tolerance": bias_tolerance}
        try:
            lacking = [c for c in (baseline.target, bc["facet"]) if c not in cols]
            if lacking:
                raise Invalid(f"the current data has no column {', '.join(map(repr, lacking))}")
            pred = baseline.prediction if baseline.prediction in cols else None
            cur = bias_metrics(kept, label=baseline.target, facet=bc["facet"], facet_values=bc["facet_values"],
                               predicted=pred, group=bc.get("group") if bc.get("group") in cols else None,
                               label_values=bc.get("label_values"))
        except Invalid as exc:  # e.g. no row of the sensitive group: the other sections stand
            report.bias = {**section, "current": None, "computable": False, "reason": str(exc)}
        else:
            report.bias = {**section, "current": cur, "computable": True}
            for v in bias_violations(baseline.bias, cur, bias_tolerance):
                violations.append({"feature_name": bc["facet"], **v, "monitor_type": "bias"})

    # -------------------------------------------------------------- feature attribution drift
    if baseline.attributions:
        from .attribution import attribution_ndcg, attribution_violation, global_attributions

        thr = baseline.config["attribution_threshold"]
        section = {"threshold": thr, "baseline": baseline.attributions}
        try:
            if attributions is not None:  # given by the caller: a wrong one is their error, raised
                cur_attr, nd = attributions, attribution_ndcg(baseline.attributions, attributions)
            elif model is None:
                raise Invalid("no model (model=...) or current attributions (attributions=...) were given")
            else:
                sample = pd.concat(sample_parts, ignore_index=True) if sample_parts else None
                if sample is not None and len(sample) > ATTRIBUTION_SAMPLE:
                    sample = sample.sample(ATTRIBUTION_SAMPLE, random_state=0)
                feats = [f for f in baseline.attributions if sample is not None and f in sample.columns]
                if not feats:
                    raise Invalid("the current data has none of the baseline's attributed features")
                y = sample[baseline.target] if baseline.target in sample.columns else None
                cur_attr = global_attributions(model, sample[feats], y, method=attribution_method)
                nd = attribution_ndcg(baseline.attributions, cur_attr)
        except Invalid as exc:
            if attributions is not None:
                raise
            report.attribution = {**section, "ndcg": None, "current": None, "computable": False, "reason": str(exc)}
        else:
            report.attribution = {**section, "ndcg": nd, "computable": True,
                                  "current": {str(k): float(v) for k, v in cur_attr.items()}}
            for v in attribution_violation(nd, thr):
                violations.append({**v, "monitor_type": "attribution"})

    report.timings = {"scan_s": t_scan, "total_s": time.perf_counter() - t0, "workers": workers}
    report._by_name = by_name
    return report
