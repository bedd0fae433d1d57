"""mlgov's bias metrics against SageMaker Clarify itself.

The reference is ``smclarify`` 0.5 (PyPI; the open-source library inside SageMaker Clarify's
processing container; test-only, in the ``test`` extra). Every metric mlgov computes is compared,
to 1e-9, on a grid of small cases built around the edges where implementations part ways: zero
denominators (Clarify reports +-Infinity, 0 for 0/0), a label value absent from one facet, facets
sharing no label value, 3-class labels, CDDL subgroups with no acceptances or no rejections, no
predicted positives, the flip test with k = 1 and k = 5, and labels whose type differs from the
positive label's. Where Clarify reports an error for a metric mlgov must say NaN.

Clarify's own output: ``tests/fixtures/sagemaker_sdk/pipeline/clarify_check_step`` (SageMaker Python
SDK, Apache-2.0) holds the dataset and the analysis.json a real Clarify job produced from it in the
SDK's integration test ``tests/integ/sagemaker/workflow/test_clarify_check_steps.py`` (commit
35484d21): headers Label, F1..F4, label "Label" with ``label_values_or_threshold=[1]``, facet F1
with threshold ``[0.5]``, ``group_name="F2"``.
"""

from __future__ import annotations

import itertools
import json
import logging
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import smclarify.bias.metrics as smc_metrics
from smclarify.bias import report as smc_report

from mlgov_jupyter import monitoring as mon
from mlgov_jupyter.core.errors import Invalid
from mlgov_jupyter.core.monitoring.bias import bias_violations, metrics_from_json, metrics_to_json

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "sagemaker_sdk" / "pipeline" / "clarify_check_step"
PRE = list(mon.PRE_TRAINING)
POST = list(mon.POST_TRAINING)
TOL = 1e-9

logging.getLogger("smclarify").setLevel(logging.CRITICAL)  # it logs every metric error with a traceback


# ----------------------------------------------------------------------------- the reference
def _cat_index(s: pd.Series, values) -> pd.Series:
    """Clarify's own categorical selection (with its type reconciliation) on a category column."""
    return smc_report._categorical_data_idx(s.astype("category"), list(values)).astype(bool)


_CACHE: dict = {}


def clarify(case: dict) -> dict:
    """Every metric as smclarify computes it for ``case`` (cached per case name)."""
    if case["name"] not in _CACHE:
        _CACHE[case["name"]] = _clarify(case)
    return dict(_CACHE[case["name"]])


def _clarify(case: dict) -> dict:
    """Every metric as smclarify computes it for ``case``; NaN where Clarify reports an error.

    The boolean indices are built by Clarify's own functions and each metric is called with the
    arguments ``smclarify.bias.report._categorical_metric_call_wrapper`` passes (``label`` is the
    binarised label, as in ``bias_report``). ``clarify_report`` below checks this wiring against
    ``bias_report`` itself wherever that runs."""
    df = case["df"].reset_index(drop=True)
    fv = case["facet_values"]
    if isinstance(fv, list):
        sfi = _cat_index(df[case["facet"]], fv)
    else:
        interval = smc_report._interval_index(df[case["facet"]], [fv])
        sfi = smc_report._continuous_data_idx(df[case["facet"]], interval).astype(bool)
    pli = _cat_index(df[case["label"]], case["label_values"])
    ppli = _cat_index(df[case["predicted"]], case["label_values"]) if case.get("predicted") else None
    group = df[case["group"]] if case.get("group") else None
    feats = df[case.get("features") or []]
    out = {}
    metrics = smc_metrics.PRETRAINING_METRICS + (smc_metrics.POSTTRAINING_METRICS if ppli is not None else [])
    for metric in metrics:
        name = metric.__name__
        if (name in ("CDDL", "CDDPL") and group is None) or (name == "FT" and not case.get("features")):
            continue
        try:
            value = smc_metrics.call_metric(
                metric, df=feats, feature=df[case["facet"]], sensitive_facet_index=sfi, label=pli,
                positive_label_index=pli, predicted_label=ppli, positive_predicted_label_index=ppli,
                group_variable=group)
        except Exception:  # Clarify reports an error for this metric
            value = math.nan
        out[name] = float(value)
    return out


def clarify_report(case: dict) -> dict | None:
    """``smclarify.bias.report.bias_report`` end to end (pre and post training), or None when Clarify
    refuses the whole report (e.g. no positive prediction at all). Categorical columns go in as
    pandas categories so Clarify's dtype guess (integers more than 5% distinct are "continuous")
    does not turn a small 0/1 label into a threshold."""
    df = case["df"].reset_index(drop=True)
    cat = [c for c in (case["label"], case.get("predicted")) if c]
    if isinstance(case["facet_values"], list):
        cat.append(case["facet"])
    data = df[[case["facet"], case["label"], *([case["predicted"]] if case.get("predicted") else []),
               *(case.get("features") or [])]].copy()
    for c in cat:
        data[c] = data[c].astype("category")
    fv = case["facet_values"] if isinstance(case["facet_values"], list) else [case["facet_values"]]
    facet = smc_report.FacetColumn(case["facet"], fv)
    label = smc_report.LabelColumn(case["label"], data[case["label"]], list(case["label_values"]))
    group = df[case["group"]] if case.get("group") else None
    out = {}
    try:
        pre = smc_report.bias_report(data, facet, label, smc_report.StageType.PRE_TRAINING, group_variable=group)
        stages = [pre]
        if case.get("predicted"):
            pred = smc_report.LabelColumn(case["predicted"], data[case["predicted"]])
            stages.append(smc_report.bias_report(data, facet, label, smc_report.StageType.POST_TRAINING,
                                                 predicted_label_column=pred, group_variable=group))
    except Exception:
        return None
    for stage in stages:
        for m in stage[0]["metrics"]:
            v = m["value"]
            out[m["name"]] = math.nan if v is None else float(metrics_from_json({"v": v})["v"])
    drop = ({"CDDL", "CDDPL"} if group is None else set()) | ({"FT"} if not case.get("features") else set())
    return {k: v for k, v in out.items() if k not in drop}


def mlgov(case: dict) -> dict:
    return mon.bias_metrics(case["df"], label=case["label"], facet=case["facet"],
                            facet_values=case.get("mlgov_facet_values", case["facet_values"]),
                            predicted=case.get("predicted"), group=case.get("group"),
                            label_values=case.get("mlgov_label_values", case["label_values"]),
                            features=case.get("features"))


def same(a: float, b: float) -> bool:
    if math.isnan(b):
        return math.isnan(a)
    if math.isinf(b):
        return a == b
    return not math.isnan(a) and not math.isinf(a) and abs(a - b) <= TOL


# ----------------------------------------------------------------------------- the grid
def _frame(facet, y, yhat=None, group=None, feats=None, **extra):
    cols = {"s": list(facet), "y": list(y)}
    if yhat is not None:
        cols["yhat"] = list(yhat)
    if group is not None:
        cols["g"] = list(group)
    for i, f in enumerate(feats or []):
        cols[f"x{i}"] = list(f)
    cols.update(extra)
    return pd.DataFrame(cols)


def _case(name, df, facet_values=("d",), label_values=(1,), predicted="yhat", group="g", features=None, **kw):
    fv = list(facet_values) if isinstance(facet_values, (list, tuple)) else facet_values
    return {"name": name, "df": df, "facet": "s", "facet_values": fv, "label": "y",
            "label_values": list(label_values), "predicted": predicted if predicted in df.columns else None,
            "group": group if group in df.columns else None, "features": features, **kw}


def edge_cases() -> list[dict]:
    c = []
    s6 = list("aaaadd")
    # a label value absent from one facet: Clarify KL -0.347, TVD 0.25 (common support only)
    c.append(_case("d all positive", _frame(s6, [0, 1, 0, 1, 1, 1], [0, 1, 1, 1, 1, 0], list("xxyyxy"))))
    c.append(_case("d all negative", _frame(s6, [0, 1, 1, 1, 0, 0], [0, 1, 0, 1, 0, 1], list("xxyyxy"))))
    c.append(_case("a all positive", _frame(s6, [1, 1, 1, 1, 0, 1], [1, 0, 1, 1, 0, 0], list("xyxyxy"))))
    # facets share no label value: Clarify errors for KL, JS, LP, TVD, KS
    c.append(_case("disjoint labels", _frame(s6, [1, 1, 1, 1, 0, 0], [1, 0, 1, 1, 0, 1], list("xyxyxy"))))
    # no positive / no negative label at all: CDDL errors in Clarify
    c.append(_case("all labels positive", _frame(s6, [1] * 6, [1, 0, 1, 1, 0, 1], list("xyxyxy"))))
    c.append(_case("all labels negative", _frame(s6, [0] * 6, [1, 0, 1, 1, 0, 1], list("xyxyxy"))))
    # zero denominators in the post-training ratios
    c.append(_case("no FP in a (TE inf)", _frame(s6, [1, 1, 0, 0, 1, 0], [0, 1, 0, 0, 1, 1], list("xyxyxy"))))
    c.append(_case("no FP anywhere", _frame(s6, [1, 1, 0, 0, 1, 0], [0, 1, 0, 0, 0, 0], list("xyxyxy"))))
    c.append(_case("no FP nor FN (perfect)", _frame(s6, [1, 1, 0, 0, 1, 0], [1, 1, 0, 0, 1, 0], list("xyxyxy"))))
    y6 = [1, 0, 1, 0, 1, 0]
    c.append(_case("no predicted positive in a (DI inf)", _frame(s6, y6, [0, 0, 0, 0, 1, 0], list("xyxyxy"))))
    c.append(_case("no predicted positive in d (DI 0)", _frame(s6, y6, [1, 0, 1, 0, 0, 0], list("xyxyxy"))))
    c.append(_case("no predicted positive at all", _frame(s6, [1, 0, 1, 0, 1, 0], [0] * 6, list("xyxyxy"))))
    c.append(_case("all predicted positive", _frame(s6, [1, 0, 1, 0, 1, 0], [1] * 6, list("xyxyxy"))))
    c.append(_case("all predicted negative in a, all FN", _frame(s6, [1] * 6, [0, 0, 0, 0, 1, 0], list("xyxyxy"))))
    c.append(_case("every prediction a false negative (GE)", _frame(s6, [1] * 6, [0] * 6, list("xyxyxy"))))
    c.append(_case("no predicted negative in d", _frame(s6, [1, 0, 1, 0, 1, 0], [1, 0, 0, 0, 1, 1], list("xyxyxy"))))
    # CDDL/CDDPL: subgroups with no acceptances or no rejections count (Clarify), singletons too
    c.append(_case("subgroups without acceptances", _frame(list("aaddaadd"), [1, 0, 0, 0, 1, 1, 1, 0],
                                                           [1, 0, 0, 0, 1, 1, 0, 1], list("xxxxyyyy"))))
    c.append(_case("singleton subgroups", _frame(list("aaaddd"), [1, 0, 1, 1, 0, 0], [1, 1, 0, 0, 1, 0],
                                                 list("uvwxyz"))))
    # 3-class labels: binarised to positive-versus-rest first
    y3 = [0, 1, 2, 2, 1, 0, 2, 2, 1, 0, 0, 2]
    yh3 = [0, 1, 2, 1, 1, 0, 2, 0, 2, 2, 0, 2]
    s12 = list("aaaaaaadddda")
    for pos in ([2], [1, 2], [0]):
        c.append(_case(f"3-class label, positive {pos}", _frame(s12, y3, yh3, list("xyzxyzxyzxyz")), label_values=pos))
    c.append(_case("3-class string label", _frame(s12, [["lo", "mid", "hi"][v] for v in y3],
                                                  [["lo", "mid", "hi"][v] for v in yh3], list("xyzxyzxyzxyz")),
                   label_values=["hi"]))
    # labels whose type differs from the positive label's: reconciled as Clarify does
    c.append(_case("string labels, int positive", _frame(s6, list("010111"), list("011101"), list("xxyyxy")),
                   label_values=[1]))
    c.append(_case("int labels, string positive", _frame(s6, [0, 1, 0, 1, 1, 1], [0, 1, 1, 1, 0, 1], list("xxyyxy")),
                   label_values=["1"]))
    c.append(_case("float labels, int positive", _frame(s6, [0.0, 1.0, 0.0, 1.0, 1.0, 0.0],
                                                        [0.0, 1.0, 1.0, 1.0, 0.0, 1.0], list("xxyyxy"))))
    c.append(_case("bool labels", _frame(s6, [False, True, False, True, True, False],
                                         [False, True, True, True, False, True], list("xxyyxy")), label_values=[True]))
    c.append(_case("int facet, string facet value", _frame([0, 0, 0, 0, 1, 1], [0, 1, 0, 1, 1, 0], [0, 1, 1, 1, 0, 1],
                                                           list("xxyyxy")), facet_values=["1"]))
    c.append(_case("several facet values", _frame(list("abcabc"), [0, 1, 0, 1, 1, 0], [0, 1, 1, 1, 0, 1],
                                                  list("xxyyxy")), facet_values=["b", "c"]))
    # threshold facet: Clarify's interval (t, max]
    f = [0.1, 0.9, 0.4, 0.7, 0.55, 0.2, 0.95, 0.3]
    c.append(_case("threshold facet", _frame(f, [1, 0, 1, 1, 0, 0, 1, 0], [1, 1, 0, 1, 0, 0, 1, 1], list("xyxyxyxy")),
                   facet_values=0.5))
    return c


def flip_cases() -> list[dict]:
    """FT with k = 1 (facet a up to 9 rows) and k = 5, integer features with distance ties, raw
    scales (no standardisation: Clarify uses the values as they are)."""
    out = []
    rng = np.random.default_rng(7)
    for n, na in ((8, 5), (14, 9), (15, 10), (30, 18), (40, 25)):
        for trial in range(3):
            s = ["a"] * na + ["d"] * (n - na)
            y = rng.integers(0, 2, n)
            yh = np.where(rng.random(n) < 0.7, y, 1 - y)
            x0 = rng.normal(0, 1, n)
            x1 = rng.integers(0, 4, n) if trial == 1 else rng.normal(50, 20, n)
            df = _frame(s, y, yh, rng.choice(list("xyz"), n), [x0, x1])
            out.append(_case(f"FT n={n} na={na} #{trial}", df, features=["x0", "x1"]))
    return out


def random_cases() -> list[dict]:
    out = []
    rng = np.random.default_rng(20240611)
    for n, p_d, base, noise in itertools.product((7, 12, 30), (0.3, 0.5), ((0.5, 0.5), (0.8, 0.2), (0.0, 0.6)),
                                                 (0.0, 0.3)):
        s = np.where(rng.random(n) < p_d, "d", "a")
        s[0], s[1] = "a", "d"
        p = np.where(s == "a", base[0], base[1])
        y = (rng.random(n) < p).astype(int)
        yh = np.where(rng.random(n) < noise, 1 - y, y)
        g = rng.choice(list("pqrs"), n)
        out.append(_case(f"random n={n} p_d={p_d} base={base} noise={noise}", _frame(s, y, yh, g)))
    return out


CASES = edge_cases() + flip_cases() + random_cases()


# ----------------------------------------------------------------------------- the comparisons
@pytest.mark.parametrize("case", CASES, ids=[c["name"] for c in CASES])
def test_every_metric_equals_smclarify(case):
    ours, ref = mlgov(case), clarify(case)
    assert set(ours) == set(ref), (sorted(ours), sorted(ref))
    diff = {k: (ours[k], ref[k]) for k in ref if not same(ours[k], ref[k])}
    assert not diff, diff


@pytest.mark.parametrize("case", CASES, ids=[c["name"] for c in CASES])
def test_smclarify_bias_report_agrees(case):
    """The reference wiring above equals Clarify's own bias_report wherever that runs."""
    full = clarify_report(case)
    if full is None:
        assert case.get("predicted") and not _cat_index(case["df"][case["predicted"]], case["label_values"]).any()
        return
    ref = clarify(case)
    assert set(full) == set(ref)
    assert not {k: (full[k], ref[k]) for k in ref if not same(full[k], ref[k])}


def test_grid_size_and_edges_covered():
    """The grid is what the issue asks for: every metric, each edge hit at least once."""
    values = {}
    n = 0
    for case in CASES:
        ref = clarify(case)
        n += len(ref)
        for k, v in ref.items():
            values.setdefault(k, []).append(v)
    assert len(CASES) >= 60 and n >= 1000
    assert set(values) == set(PRE) | set(POST)
    for k in ("DI", "DCA", "DCR", "TE"):
        assert any(math.isinf(v) for v in values[k]), k
    for k in ("DI", "DCA", "DCR", "DAR", "DRR", "RD", "SD", "TE"):
        assert any(v == 0 for v in values[k]), k
    assert any(v < 0 for v in values["KL"])  # a label value absent from one facet
    for k in ("KL", "JS", "LP", "TVD", "KS", "CDDL", "CDDPL", "GE"):
        assert any(math.isnan(v) for v in values[k]), k  # Clarify errors: NaN
    assert any(v > 0 for v in values["FT"]) and any(v < 0 for v in values["FT"])


def test_named_edges_from_the_issue():
    by = {c["name"]: c for c in CASES}
    m = mlgov(by["d all positive"])
    assert m["KL"] == pytest.approx(0.5 * math.log(0.5), abs=1e-12)  # -0.347, textbook: inf
    assert m["TVD"] == pytest.approx(0.25, abs=1e-12)                 # textbook: 0.5
    m = mlgov(by["no FP in a (TE inf)"])
    assert m["TE"] == -math.inf or m["TE"] == math.inf
    assert mlgov(by["no predicted positive in a (DI inf)"])["DI"] == math.inf
    assert mlgov(by["no predicted positive at all"])["DI"] == 0.0  # 0/0 is 0 in Clarify
    three = mlgov(by["3-class label, positive [2]"])
    y = by["3-class label, positive [2]"]["df"]
    d = y.s == "d"
    qa, qd = (y.y[~d] == 2).mean(), (y.y[d] == 2).mean()
    assert three["KL"] == pytest.approx(qa * math.log(qa / qd) + (1 - qa) * math.log((1 - qa) / (1 - qd)), abs=1e-12)


# ----------------------------------------------------------------------------- SageMaker's own output
def _sdk_dataset() -> pd.DataFrame:
    return pd.read_csv(FIXTURES / "dataset.csv", header=None, names=["Label", "F1", "F2", "F3", "F4"])


def test_reproduces_real_clarify_analysis_json():
    """A real Clarify job's analysis.json (SDK integ test config: label Label = 1, facet F1 > 0.5,
    group F2), every number, including CDDL 0.04 (one-row subgroups count)."""
    analysis = json.loads((FIXTURES / "data_bias" / "good_cases" / "analysis.json").read_text())
    pre = analysis["pre_training_bias_metrics"]
    assert pre["label"] == "Label" and pre["label_value_or_threshold"] == "1"
    facet = pre["facets"]["F1"][0]
    df = _sdk_dataset()
    assert facet["value_or_threshold"] == f"(0.5, {df.F1.max()}]"
    expected = {m["name"]: m["value"] for m in facet["metrics"]}
    ours = mon.bias_metrics(df, label="Label", facet="F1", facet_values=0.5, group="F2", label_values=[1])
    assert set(expected) == set(ours)
    for k, v in expected.items():
        assert ours[k] == pytest.approx(v, abs=TOL), k
    assert ours["CDDL"] == pytest.approx(0.04, abs=1e-12)
    # the same from the CSV's strings and the positive label as a string: types reconciled
    text = df.astype({"Label": "str"})
    again = mon.bias_metrics(text, label="Label", facet="F1", facet_values=0.5, group="F2", label_values=["1"])
    assert again == ours
    # smclarify itself agrees with the file (so the grid's reference is SageMaker's output)
    rep = smc_report.bias_report(df, smc_report.FacetColumn("F1", [0.5]),
                                 smc_report.LabelColumn("Label", df["Label"], [1]),
                                 smc_report.StageType.PRE_TRAINING, group_variable=df["F2"])
    assert {m["name"]: m["value"] for m in rep[0]["metrics"]} == pytest.approx(expected, abs=TOL)


def test_bad_cases_analysis_json_is_a_drift():
    """The SDK's bad_cases analysis.json is the good one with KS lowered: as a baseline, the real
    data's KS is farther from 0, a bias drift violation; the good one gives none."""
    df = _sdk_dataset()
    ours = mon.bias_metrics(df, label="Label", facet="F1", facet_values=0.5, group="F2", label_values=[1])
    for case, expect in (("good_cases", set()), ("bad_cases", {"KS"})):
        a = json.loads((FIXTURES / "data_bias" / case / "analysis.json").read_text())
        base = {m["name"]: m["value"] for m in a["pre_training_bias_metrics"]["facets"]["F1"][0]["metrics"]}
        assert {v["metric_name"] for v in bias_violations(base, ours)} == expect


# ----------------------------------------------------------------------------- types, index, storage
def test_string_labels_with_int_positive_label_are_reconciled():
    df = pd.DataFrame({"s": list("aaaadddd"), "y": list("01100001"), "yhat": list("01110001")})
    as_int = df.assign(y=df.y.astype(int), yhat=df.yhat.astype(int))
    want = mon.bias_metrics(as_int, label="y", facet="s", facet_values=["d"], predicted="yhat", label_values=[1])
    got = mon.bias_metrics(df, label="y", facet="s", facet_values=["d"], predicted="yhat", label_values=[1])
    assert got == want
    assert got["DPL"] == pytest.approx(0.5 - 0.25) and got["DI"] == pytest.approx(0.25 / 0.75)
    for positive in (["1"], 1.0, "1", [1, 1.0]):
        assert mon.bias_metrics(as_int, label="y", facet="s", facet_values=["d"], predicted="yhat",
                                label_values=positive) == want
    # a value that matches nothing even after conversion is refused, one line, never a silent 0
    words = df.assign(y=df.y.map({"0": "no", "1": "yes"}), yhat=df.yhat.map({"0": "no", "1": "yes"}))
    with pytest.raises(Invalid, match=r"label value 1 \(int\) is not among the values of column 'y'"):
        mon.bias_metrics(words, label="y", facet="s", facet_values=["d"], predicted="yhat", label_values=[1])
    with pytest.raises(Invalid, match="not among"):
        mon.bias_metrics(as_int, label="y", facet="s", facet_values=["d"], label_values=["yes"])
    # the same type and absent is legitimate: no positive label in this batch
    none = mon.bias_metrics(as_int.assign(y=0), label="y", facet="s", facet_values=["d"], label_values=[1])
    assert none["DPL"] == 0


def test_results_do_not_depend_on_the_index():
    case = next(c for c in CASES if c["name"] == "FT n=30 na=18 #0")
    base = mlgov(case)
    df = case["df"]
    n = len(df)
    for index in (pd.Index([3] * n), pd.Index(range(n, 0, -1)), pd.Index([f"r{i % 7}" for i in range(n)]),
                  pd.MultiIndex.from_arrays([list(range(n)), ["x"] * n])):
        assert mlgov({**case, "df": df.set_axis(index)}) == base
    # missing values dropped by position, with a duplicated index
    holes = df.astype({"y": float})
    holes.loc[3, "y"] = np.nan
    holes.loc[5, "g"] = None
    expect = mlgov({**case, "df": holes.dropna().reset_index(drop=True)})
    assert mlgov({**case, "df": holes.set_axis(pd.Index([0] * n))}) == expect
    # row order changes nothing but the summation order
    perm = np.random.default_rng(0).permutation(n)
    shuffled = mlgov({**case, "df": df.iloc[perm], "features": None})
    for k, v in mlgov({**case, "features": None}).items():
        assert same(shuffled[k], v), k


def test_infinity_survives_json_and_is_flagged_as_drift():
    case = next(c for c in CASES if c["name"] == "no predicted positive in a (DI inf)")
    m = mlgov(case)
    assert m["DI"] == math.inf
    text = json.dumps(metrics_to_json(m), allow_nan=False)  # strict JSON, as the REST layer wants
    assert '"DI": "Infinity"' in text
    assert metrics_from_json(json.loads(text)) == pytest.approx(m, nan_ok=True)
    back = metrics_from_json({"TE": "-Infinity", "GE": None})
    assert back["TE"] == -math.inf and math.isnan(back["GE"])
    # a finite baseline DI and an infinite current one: a violation, not skipped
    names = {v["metric_name"] for v in bias_violations({"DI": 0.9, "TE": 0.5}, {"DI": math.inf, "TE": -math.inf})}
    assert names == {"DI", "TE"}
    assert not bias_violations({"DI": math.inf}, {"DI": math.inf})
    assert not bias_violations({"DI": "Infinity"}, {"DI": 2.0})  # read back from JSON: closer to 1
    # what the baseline had and the current data cannot give is flagged too
    v = bias_violations({"KL": 0.01, "GE": None}, {"KL": math.nan, "GE": math.nan})
    assert [x["metric_name"] for x in v] == ["KL"] and "cannot be computed" in v[0]["description"]


def test_flip_test_needs_numeric_complete_features():
    case = next(c for c in CASES if c["name"] == "FT n=15 na=10 #0")
    with pytest.raises(Invalid, match="numeric"):
        mlgov({**case, "df": case["df"].assign(x1=list("ab") * 7 + ["a"])})
    with pytest.raises(Invalid, match="missing"):
        mlgov({**case, "df": case["df"].assign(x1=[np.nan] + [1.0] * 14)})


def test_duplicate_column_names_are_refused():
    df = pd.DataFrame([[1, "a", 0], [0, "d", 1]], columns=["y", "s", "y"])
    with pytest.raises(Invalid, match="duplicate column"):
        mon.bias_metrics(df, label="y", facet="s", facet_values=["d"])
