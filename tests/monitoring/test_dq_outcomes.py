"""What check() does with data it cannot fully use: a section that cannot be computed keeps the rest
of the report; duplicate column names and data without rows are refused, one clear line, whatever
the form of the data."""

import json

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest
from IPython.core.error import UsageError

from mlgov_jupyter import monitoring as mon
from mlgov_jupyter.core.errors import Invalid

from .conftest import mixed_frame


@pytest.fixture
def labelled(rng):
    def make(n, shift=0.0):
        df = mixed_frame(rng, n, shift=shift)
        df["sex"] = rng.choice(["m", "f"], n, p=[0.6, 0.4])
        df["y"] = (df["a"] + rng.normal(0, 0.7, n) > 0).astype(int)
        df["yhat"] = (df["a"] > 0).astype(int)
        return df

    return make


def test_no_row_of_the_sensitive_group_keeps_drift_and_quality(labelled):
    ref, cur = labelled(3000), labelled(2000, shift=0.5)
    b = mon.fit_baseline(ref, target="y", prediction="yhat", sensitive="sex", facet_values=["f"])
    full = mon.check(b, cur)
    only_m = cur[cur["sex"] == "m"]
    r = mon.check(b, only_m)
    assert r.bias["computable"] is False and r.bias["current"] is None
    assert "'sex'" in r.bias["reason"] and "['f']" in r.bias["reason"]
    assert r.bias["baseline"] == b.bias
    assert not [v for v in r.violations if v["monitor_type"] == "bias"]
    # drift and quality are there, equal to a check of the same rows
    assert r.n_current == len(only_m) and r["a"].drifted
    from sklearn.metrics import accuracy_score

    assert r.quality["computable"] is True
    assert r.quality["metrics"]["accuracy"]["value"] == pytest.approx(accuracy_score(only_m["y"], only_m["yhat"]))
    assert {v["constraint_check_type"] for v in r.violations} >= {"baseline_drift_check"}
    assert full.bias["computable"] is True and full.bias["current"]
    d = json.loads(json.dumps(r.to_dict(), allow_nan=False))
    assert d["bias"]["computable"] is False and d["bias"]["reason"]
    html = r._repr_html_()
    assert "not computable" in html and "take the values" in html
    from mlgov_jupyter.kernel.widgets.drift_panel import DriftPanel

    assert "not computable" in DriftPanel(r).sections.value


def test_missing_label_or_facet_columns_mark_the_sections(labelled):
    ref, cur = labelled(2000), labelled(1500)
    b = mon.fit_baseline(ref, target="y", prediction="yhat", sensitive="sex", facet_values=["f"])
    r = mon.check(b, cur.drop(columns=["y"]))
    assert r.quality["computable"] is False and "'y'" in r.quality["reason"]
    assert r.bias["computable"] is False and "'y'" in r.bias["reason"]
    assert ("y", "missing_column_check") in {(v["feature_name"], v["constraint_check_type"]) for v in r.violations}
    r = mon.check(b, cur.drop(columns=["sex"]))
    assert r.quality["computable"] is True and r.bias["computable"] is False and "'sex'" in r.bias["reason"]
    # ground truth all missing: quality cannot be computed, the rest stands
    r = mon.check(b, cur.assign(y=np.nan))
    assert r.quality["computable"] is False and r.quality["reason"]
    assert "Model quality" in r._repr_html_()


def test_attribution_without_a_model_is_marked(labelled):
    ref = labelled(1000)
    b = mon.fit_baseline(ref, target="y", prediction="yhat", attributions={"a": 0.5, "b": 0.1})
    r = mon.check(b, labelled(500))
    assert r.attribution["computable"] is False and "model" in r.attribution["reason"]
    assert mon.check(b, labelled(500), attributions={"a": 0.4, "b": 0.2}).attribution["computable"] is True
    with pytest.raises(Invalid):  # attributions given by the caller but wrong: their error
        mon.check(b, labelled(500), attributions={"a": 0.4})


def test_duplicate_column_names_are_refused_in_every_form(rng):
    ref = mixed_frame(rng, 500)
    b = mon.fit_baseline(ref)
    dup = ref.copy()
    dup.columns = ["a", "a", "i", "c", "s"]
    for data in (dup, iter([dup]), iter([ref, dup]), pa.Table.from_arrays([pa.array(ref["a"]), pa.array(ref["b"])],
                                                                          names=["a", "a"])):
        with pytest.raises(Invalid, match="duplicate column names: a"):
            mon.check(b, data)
    # 1 and "1" are one name
    ints = pd.DataFrame({1: rng.normal(size=100), "1": rng.normal(size=100)})
    with pytest.raises(Invalid, match="duplicate column names: 1"):
        mon.check(mon.fit_baseline(pd.DataFrame({"1": rng.normal(size=100)})), ints)
    with pytest.raises(Invalid, match="duplicate column names"):
        mon.fit_baseline(ints)  # as fit_baseline refuses them


def test_duplicate_columns_through_the_magics(rng):
    from IPython.testing.globalipapp import get_ipython

    from mlgov_jupyter.kernel.magics.entry import MlgovMagics

    shell = get_ipython()
    ref = mixed_frame(rng, 400)
    dup = ref.copy()
    dup.columns = ["a", "a", "i", "c", "s"]
    shell.user_ns.update({"ref_df": ref, "dup_df": dup, "base": mon.fit_baseline(ref)})
    magics = MlgovMagics(shell)
    for line in ("drift ref_df dup_df --quiet", "check base dup_df --quiet"):
        with pytest.raises(UsageError, match="^the current data has duplicate column names: a"):
            magics.mlgov(line)
    with pytest.raises(UsageError, match="no rows"):
        shell.user_ns["empty_df"] = ref.iloc[:0]
        magics.mlgov("check base empty_df --quiet")


def test_data_without_rows_is_refused_in_every_form(rng, tmp_path):
    ref = mixed_frame(rng, 300)
    b = mon.fit_baseline(ref)
    empty = ref.iloc[:0]
    path = tmp_path / "empty.parquet"
    empty.to_parquet(path)
    folder = tmp_path / "ds"
    folder.mkdir()
    empty.to_parquet(folder / "part-0.parquet")
    forms = {"DataFrame": empty, "iterator": iter([]), "iterator of empty frames": iter([empty, empty]),
             "Parquet file": str(path), "Parquet folder": str(folder), "Arrow table": pa.Table.from_pandas(empty),
             "no columns": pd.DataFrame()}
    for name, data in forms.items():
        with pytest.raises(Invalid, match="^the current data has no rows"):
            mon.check(b, data)
    # one row is a check
    assert mon.check(b, ref.iloc[:1]).n_current == 1
