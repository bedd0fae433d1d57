"""Every statistic and check is the same whatever the DataFrame's index: duplicated, unsorted or
non-default labels, on the reference and on the current data, in memory and streamed."""

import json

import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import LogisticRegression

from mlgov_jupyter import monitoring as mon

N = 2400
INDEXES = {
    "duplicated": lambda n: np.zeros(n, dtype=int),
    "pairs": lambda n: np.arange(n) // 2,
    "unsorted": lambda n: np.random.default_rng(7).permutation(n),
    "strings": lambda n: [f"row{i}" for i in range(n)][::-1],
    "dates": lambda n: pd.date_range("2020-01-01", periods=n, freq="D")[::-1],
    "floats": lambda n: np.linspace(1, 0, n),
}


def frame(rng, n, shift=0.0):
    df = pd.DataFrame({
        "a": rng.normal(size=n) + shift, "b": rng.lognormal(size=n), "i": rng.integers(0, 4, n),
        "g": rng.choice(["m", "f"], n, p=[0.7, 0.3]), "grp": rng.choice(["x", "y", "z"], n),
        "t": pd.date_range("2024-01-01", periods=n, freq="h") + pd.Timedelta(hours=int(shift * 100)),
        "s": pd.Series(rng.choice(["red", "green", "blue"], n), dtype=object),
    })
    df.loc[df.index[::17], "b"] = np.nan
    df["y"] = (df["a"] + rng.normal(size=n) > 0).astype(int)
    df["score"] = 1 / (1 + np.exp(-df["a"]))
    df["yhat"] = (df["score"] > 0.5).astype(int)
    df["target"] = 2 * df["a"] + rng.normal(size=n)
    return df


@pytest.fixture(scope="module")
def frames():
    rng = np.random.default_rng(3)
    return frame(rng, N), frame(rng, N, shift=0.3)


def dump(report) -> str:
    d = report.to_dict()
    d.pop("timings")
    return json.dumps(d, sort_keys=True, default=str)


def baseline_dump(b) -> str:
    d = b.to_dict()
    d.pop("created")
    return json.dumps(d, sort_keys=True, default=str)


CONFIGS = {
    "classification": dict(target="y", prediction="yhat", probability="score", sensitive="g", facet_values=["f"],
                           group="grp"),
    "regression": dict(target="target", prediction="a", problem_type="Regression"),
}


@pytest.mark.parametrize("config", sorted(CONFIGS))
def test_reports_do_not_depend_on_the_index(frames, config):
    ref, cur = frames
    b = mon.fit_baseline(ref, **CONFIGS[config])
    expected = dump(mon.check(b, cur))
    expected_chunks = dump(mon.check(b, (cur.iloc[i:i + 700] for i in range(0, N, 700))))
    base = baseline_dump(b)
    for name, make in INDEXES.items():
        c = cur.copy()
        c.index = make(N)
        assert dump(mon.check(b, c)) == expected, name
        # every chunk with the same labels: concatenated, they collide
        chunks = (c.iloc[i:i + 700].set_axis(np.zeros(len(c.iloc[i:i + 700]), dtype=int)) for i in range(0, N, 700))
        assert dump(mon.check(b, chunks)) == expected_chunks, name
        r = ref.copy()
        r.index = make(N)
        assert baseline_dump(mon.fit_baseline(r, **CONFIGS[config])) == base, name


def test_attributions_do_not_depend_on_the_index(frames):
    ref, cur = frames
    cols = ["a", "b", "i", "y", "yhat"]
    ref, cur = ref[cols].fillna(0.0), cur[cols].fillna(0.0)
    model = LogisticRegression().fit(ref[["a", "b", "i"]], ref["y"])
    b = mon.fit_baseline(ref, target="y", prediction="yhat", attributions=model)
    expected = dump(mon.check(b, cur, model=model))
    assert json.loads(expected)["attribution"]["computable"] is True
    for name, make in INDEXES.items():
        c = cur.copy()
        c.index = make(N)
        assert dump(mon.check(b, c, model=model)) == expected, name


def test_row_positions_not_labels_decide_what_is_kept(frames):
    """A label-aligned join would pair the wrong rows: labels in reverse order must change nothing."""
    ref, cur = frames
    b = mon.fit_baseline(ref, target="y", prediction="yhat", sensitive="g", facet_values=["f"])
    c = cur.copy()
    c.index = c.index[::-1]
    r = mon.check(b, c)
    from sklearn.metrics import accuracy_score

    assert r.quality["metrics"]["accuracy"]["value"] == pytest.approx(accuracy_score(cur["y"], cur["yhat"]))
    assert r.bias["current"] == pytest.approx(mon.check(b, cur).bias["current"])
