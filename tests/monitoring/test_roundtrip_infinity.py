"""Infinite bias metrics (Clarify's +-Infinity: a facet with no predicted positives, no false positives)
are results: they survive a baseline's save and load, a stored report keeps them as Clarify's strings
"Infinity"/"-Infinity" (strict JSON), the panel shows them, and the service accepts such a report
through its REST layer, which refuses the NaN/Infinity JSON constants."""

import json
import math

import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import LogisticRegression

from mlgov_jupyter import api
from mlgov_jupyter import monitoring as mon
from mlgov_jupyter.core.monitoring.html import bias_section, fmt, report_html


def facet_frame():
    """Facet a (M) has label positives but no predicted positive and no false positive: DI = DCA =
    +Infinity, TE = -Infinity (Clarify's divide)."""
    return pd.DataFrame({"sex": ["M"] * 6 + ["F"] * 6, "x": np.arange(12.0),
                         "y": [1, 1, 0, 0, 0, 1, 1, 0, 0, 1, 0, 1],
                         "yhat": [0, 0, 0, 0, 0, 0, 1, 1, 0, 0, 0, 1]})


def fitted():
    return mon.fit_baseline(facet_frame(), target="y", prediction="yhat", sensitive="sex", facet_values=["F"])


def test_infinite_metrics_survive_save_and_load(tmp_path):
    b = fitted()
    assert b.bias["TE"] == -math.inf and b.bias["DCA"] == math.inf and b.bias["DI"] == math.inf
    text = b.save(tmp_path / "b.json")
    raw = open(text).read()
    json.loads(raw, parse_constant=lambda c: pytest.fail(f"{c} in a baseline file"))  # strict JSON
    assert '"TE":"-Infinity"' in raw and '"DCA":"Infinity"' in raw
    back = mon.Baseline.load(tmp_path / "b.json")
    assert back.bias["TE"] == -math.inf and back.bias["DCA"] == math.inf and back.bias["DI"] == math.inf
    assert {k: v for k, v in back.bias.items() if not math.isinf(v)} == \
        {k: v for k, v in b.bias.items() if not math.isinf(v)}
    # the loaded baseline compares those metrics as the fitted one does: the same report
    cur = facet_frame()
    assert mon.check(back, cur).to_dict()["bias"] == mon.check(b, cur).to_dict()["bias"]
    # a NaN (not computable) metric stays NaN, written null
    b.bias["GE"] = math.nan
    again = mon.Baseline.from_dict(json.loads(json.dumps(b.to_dict(), allow_nan=False)))
    assert math.isnan(again.bias["GE"]) and again.bias["TE"] == -math.inf


def current_with_infinite_di():
    """Against a baseline with a finite DI: current data where facet a has no predicted positive."""
    rng = np.random.default_rng(3)
    n = 400
    ref = pd.DataFrame({"sex": rng.choice(["M", "F"], n), "x": rng.normal(size=n)})
    ref["y"] = (ref["x"] > 0).astype(int)
    ref["yhat"] = (ref["x"] + rng.normal(0, 0.5, n) > 0).astype(int)
    cur = ref.copy()
    cur.loc[cur["sex"] == "M", "yhat"] = 0
    b = mon.fit_baseline(ref, target="y", prediction="yhat", sensitive="sex", facet_values=["F"])
    assert math.isfinite(b.bias["DI"])
    return b, mon.check(b, cur)


def test_a_stored_report_keeps_infinity_as_clarify_writes_it():
    b, r = current_with_infinite_di()
    assert r.bias["current"]["DI"] == math.inf
    assert any(v["monitor_type"] == "bias" and v["metric_name"] == "DI" for v in r.violations)
    d = r.to_dict()
    assert d["bias"]["current"]["DI"] == "Infinity" and d["bias"]["current"]["DCA"] == "Infinity"
    assert d["bias"]["baseline"]["DI"] == pytest.approx(b.bias["DI"])
    text = json.dumps(d, allow_nan=False)  # strict JSON
    assert json.loads(text)["bias"]["current"]["DI"] == "Infinity"
    # the report object itself keeps floats (to_dict only encodes)
    assert r.bias["current"]["DI"] == math.inf


def test_the_panel_shows_infinity_from_floats_and_from_stored_strings():
    assert fmt(math.inf) == "Infinity" and fmt(-math.inf) == "-Infinity"
    assert fmt("Infinity") == "Infinity" and fmt("-Infinity") == "-Infinity"
    assert fmt(math.nan) == fmt(None) == "–"
    _, r = current_with_infinite_di()
    html = bias_section(r)
    assert "<td class=\"bad\">Infinity</td>" in html
    assert "Infinity" in report_html(r)
    b = fitted()
    r2 = mon.check(b, facet_frame())
    assert "-Infinity" in bias_section(r2)  # the baseline's TE
    # a report read back from its stored dict (strings) shows the same cells
    stored = r2.to_dict()["bias"]
    r2.bias = {**r2.bias, "baseline": stored["baseline"], "current": stored["current"]}
    assert bias_section(r2) == bias_section(mon.check(b, facet_frame()))


def test_the_service_records_and_returns_a_report_with_infinity(tmp_path):
    """Through the REST layer as the server runs it (api.dispatch on the request's bytes): the strings
    pass, and the execution reads back with them; the JSON constant Infinity is refused."""
    from helpers import inline_content
    from mlgov_jupyter.core import models as m
    from mlgov_jupyter.core.errors import Invalid
    from mlgov_jupyter.service import Actor, GovernanceService
    from mlgov_jupyter.store.db import Store

    svc = GovernanceService(store=Store(f"sqlite:///{tmp_path / 'inf.sqlite'}"))
    alice = Actor("alice")
    svc.publish(alice, m.Publish(name="scorer", kind="model",
                                 **inline_content(LogisticRegression().fit([[0], [1]], [0, 1]))))
    _, r = current_with_infinite_di()
    raw = json.dumps({"monitor_type": "bias", "report": r.to_dict()}, allow_nan=False).encode()
    _, stored = api.dispatch(svc, alice, "POST", "models/scorer/executions", body=api.parse_json(raw))
    assert stored["status"] == "CompletedWithViolations"
    _, full = api.dispatch(svc, alice, "GET", f"models/scorer/executions/{stored['id']}")
    assert full["report"]["bias"]["current"]["DI"] == "Infinity"
    assert not full.get("unreadable")
    with pytest.raises(Invalid, match="Infinity is not a number JSON allows"):
        api.parse_json(raw.replace(b'"Infinity"', b"Infinity"))
