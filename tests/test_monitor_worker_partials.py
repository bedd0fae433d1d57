"""A monitor run computes its statistics in the decode workers, where the captured Parquet is
decoded, and merges what they send back (issue 11's benchmark): the same report as statistics
computed in the service from the decoded rows; a worker that answers anything but the statistics
of this baseline (malformed, oversized, pickle) fails the run with one clear line, never a 500."""

from __future__ import annotations

import io
import json
import textwrap
import uuid

import numpy as np
import pandas as pd
import pytest

from mlgov_jupyter.core.monitoring import fit_baseline
from tests.helpers import inline_content

rng = np.random.default_rng(11)
REF = pd.DataFrame({"age": rng.normal(40, 10, 3000), "income": rng.normal(50, 15, 3000),
                    "visits": rng.integers(0, 4, 3000), "plan": rng.choice(["basic", "pro", "max"], 3000)})
REF["label"] = (REF.age > 40).astype(int)
REF["prediction"] = (REF.age > 41).astype(int)


def captured(n: int, seed: int, shift: float = 0.0) -> pd.DataFrame:
    r = np.random.default_rng(seed)
    df = pd.DataFrame({"age": r.normal(40 + shift, 10, n), "income": r.normal(50, 15, n),
                       "visits": r.integers(0, 5, n).astype("float64"),
                       "plan": r.choice(["basic", "pro", "max", "gold"], n).astype(object)})
    df.loc[df.index % 97 == 0, "income"] = np.nan  # missing values
    df.loc[df.index % 89 == 0, "plan"] = None
    df.loc[df.index % 83 == 0, "visits"] = 2.5  # not of the baseline's integral type
    df["label"] = (df.age > 40).astype(int)
    df["prediction"] = (df.age > 41).astype(int)
    df["inference_id"] = [str(uuid.uuid4()) for _ in range(n)]
    df["event_time"] = pd.Timestamp.now(tz="UTC")
    return df


def _parquet(df: pd.DataFrame, **kw) -> bytes:
    buf = io.BytesIO()
    df.to_parquet(buf, index=False, **kw)
    return buf.getvalue()


def _service(tmp_path):
    from mlgov_jupyter.service import GovernanceService
    from mlgov_jupyter.store.db import Store
    from mlgov_jupyter.store.objects import ObjectStore

    return GovernanceService(store=Store(f"sqlite:///{tmp_path / 'db.sqlite'}"),
                             objects=ObjectStore(str(tmp_path / "objects"), staging=tmp_path / "staging"))


def _setup(svc, baseline, files=6, mixed=False):
    from sklearn.linear_model import LogisticRegression

    from mlgov_jupyter import api as rest
    from mlgov_jupyter.service import Actor

    alice = Actor("alice")
    model = LogisticRegression().fit(REF[["age", "income"]], REF.label)

    def call(method, path, body=None):
        return rest.dispatch(svc, alice, method, path, {}, body)[1]

    call("POST", "assets", {"name": "churn-model", "kind": "model", **inline_content(model)})
    call("POST", "deployments", {"name": "churn-prod", "model": "churn-model"})
    for seed in range(files):  # row groups of 700 rows, batches as the capture sized them
        df = captured(1500 + 300 * seed, seed, 5 if seed % 2 else 0)
        if mixed and seed == 3:  # a file whose ages came as whole numbers: the scan casts them
            df["age"] = df.age.round().astype("int64")
        svc.append_capture(alice, "churn-prod", "inference", _parquet(df, row_group_size=700))
    call("POST", "monitors", {"name": "churn-dq", "deployment": "churn-prod", "monitor_type": "data_quality",
                              "baseline": baseline.to_dict(), "schedule": "hourly"})
    return alice


def _same(a, b, path="report"):
    """Equal, numbers to 1e-12 relative (a mean merged from parts differs in its last bits)."""
    if isinstance(a, dict) and isinstance(b, dict):
        assert sorted(a) == sorted(b), path
        for k in a:
            _same(a[k], b[k], f"{path}.{k}")
    elif isinstance(a, list) and isinstance(b, list):
        assert len(a) == len(b), path
        for i, (x, y) in enumerate(zip(a, b)):
            _same(x, y, f"{path}[{i}]")
    elif isinstance(a, float) and isinstance(b, float):
        assert a == pytest.approx(b, rel=1e-12, abs=1e-300, nan_ok=True), path
    else:
        assert a == b, path


@pytest.mark.parametrize("sections", ["data_quality", "with_model_quality", "mixed_types"])
def test_the_run_in_the_decode_workers_gives_the_report_of_the_rows_decoded_here(tmp_path, sections):
    """Numeric, integral, categorical columns with missing, invalid and unseen values; with a
    model-quality section the captured label and prediction are read here as well; files whose
    column types differ (the worker reads them as the scan does, cast to the first file's)."""
    from mlgov_jupyter.service import monitor_runs
    from mlgov_jupyter.store import tables as t

    if sections != "with_model_quality":
        baseline = fit_baseline(REF[["age", "income", "visits", "plan"]])
    else:
        baseline = fit_baseline(REF, target="label", prediction="prediction")
    svc = _service(tmp_path)
    _setup(svc, baseline, mixed=sections == "mixed_types")
    with svc.store.transaction(write=False) as s:
        mon = s.query(t.Monitor).one()
        plan = svc._run_plan(s, mon)
    assert len(plan["files"]) == 6
    here = monitor_runs.run_check(svc, mon, plan, in_workers=False)
    there = monitor_runs.run_check(svc, mon, plan)
    here.pop("timings", None), there.pop("timings", None)
    _same(there, here)
    assert there["n_current"] == sum(1500 + 300 * s for s in range(6))
    assert {"age", "visits", "plan"} == set(there["drifted_columns"])  # shifted, a new level, a new value
    if sections == "with_model_quality":
        assert there["model_quality"]["computable"] and there["model_quality"]["n"] == there["n_current"]
    kinds = {v["constraint_check_type"] for v in there["violations"]}
    assert {"data_type_check", "baseline_drift_check"} <= kinds
    # two workers computed side by side (both cores); the service keeps them for the next call
    assert len(svc.decoder()._idle) == 2


def _fake_worker(tmp_path, answer: str) -> str:
    """A decode worker that speaks the protocol and answers every request with ``answer`` (Python
    code of the bytes it sends after a J frame header, or of the frame itself with ``raw:``)."""
    script = tmp_path / "fake_worker.py"
    reply = f"out.write({answer[4:]}); out.flush()" if answer.startswith("raw:") else f"frame(b'J', {answer})"
    script.write_text(textwrap.dedent(f"""
        import sys, json
        inp, out = sys.stdin.buffer, sys.stdout.buffer
        def frame(kind, payload=b""):
            out.write(kind + len(payload).to_bytes(8, "big") + payload); out.flush()
        inp.readline()  # settings
        frame(b"R")
        while True:
            line = inp.readline()
            if not line:
                break
            request = json.loads(line)
            {reply}
    """))
    return str(script)


HONEST = {"format": 1, "names": ["age", "income", "visits", "plan", "label", "prediction"], "n_rows": 10,
          "columns": {}}

LIES = {
    "not JSON": ("b'{not json'", "are not valid JSON"),
    "a pickle": ("__import__('pickle').dumps({'format': 1})", "are not valid JSON"),
    "other columns": (repr(json.dumps({**HONEST, "names": ["x"]}).encode()), "name other columns"),
    "counts of the wrong length": (
        "json.dumps({'format': 1, 'names': request['names'], 'n_rows': 10, 'columns': {"
        "'age': {'kind': 'numeric', 'counts': [10], 'n': 10}}}).encode()", "cover other columns"),
    "oversized": ("raw:b'J' + (1 << 40).to_bytes(8, 'big')", "larger than statistics of this baseline can be"),
    "negative counts": (
        "json.dumps({'format': 1, 'names': request['names'], 'n_rows': -5, 'columns': {}}).encode()", "bad count"),
}


@pytest.mark.parametrize("lie", list(LIES))
async def test_a_worker_that_answers_other_than_statistics_fails_the_run_with_its_reason(
        api, jp_serverapp, tmp_path, monkeypatch, lie):
    from mlgov_jupyter.store import decode_worker

    svc = jp_serverapp.web_app.settings["mlgov_service"]
    _setup(svc, fit_baseline(REF[["age", "income", "visits", "plan"]]), files=2)
    answer, reason = LIES[lie]
    svc.decoder().close()  # the honest workers that described the captured files go
    monkeypatch.setattr(decode_worker._Worker, "argv", ["-I", _fake_worker(tmp_path, answer)])
    code, ex, _ = await api("alice", "POST", "monitors/churn-dq/run", {})
    assert code == 200, ex
    assert ex["status"] == "Failed" and reason in ex["failure_reason"], ex["failure_reason"]
    assert "\n" not in ex["failure_reason"] and "Traceback" not in ex["failure_reason"]
    monkeypatch.undo()
    code, history, _ = await api("alice", "GET", "monitors/churn-dq")
    assert code == 200


def test_the_codec_refuses_shapes_an_honest_worker_does_not_send(tmp_path):
    """Counts that do not add up, exact values not kept, non-finite moments: Invalid, one line."""
    from mlgov_jupyter.core.errors import Invalid
    from mlgov_jupyter.core.monitoring import partial_codec
    from mlgov_jupyter.core.monitoring.check import scan_partial

    baseline = fit_baseline(REF[["age", "plan"]].iloc[:500])  # few rows: exact values kept
    names = ["age", "plan"]
    part = scan_partial(baseline, names, iter([captured(300, 1)[names]]))
    good = partial_codec.encode(part)
    back = partial_codec.decode(json.dumps(good).encode(), baseline, names)
    assert back.n_rows == 300 and back.accs["age"].raw_n == back.accs["age"].n == 300
    assert (back.accs["plan"].vec == part.accs["plan"].vec).all()
    assert len(json.dumps(good)) <= partial_codec.max_bytes(baseline, names)

    def bad(change, message):
        data = json.loads(json.dumps(good))
        change(data)
        with pytest.raises(Invalid, match=message):
            partial_codec.decode(json.dumps(data).encode(), baseline, names)

    bad(lambda d: d["columns"]["plan"]["vec"].__setitem__(0, 10 ** 6), "do not add up")
    bad(lambda d: d["columns"]["age"].__setitem__("raw", d["columns"]["age"]["raw"][:5]), "exact values")
    bad(lambda d: d["columns"]["age"].__setitem__("mean", float("nan")), "moments")
    bad(lambda d: d["columns"]["age"].__setitem__("n", True), "bad count")
    bad(lambda d: d["columns"]["plan"].__setitem__("kind", "numeric"), "not numeric|not categorical")
    bad(lambda d: d["columns"]["plan"].__setitem__("new_values", [[{"a": 1}, 1]]), "unseen values")
    bad(lambda d: d.__setitem__("format", 2), "expected format")
    with pytest.raises(Invalid, match="not valid JSON"):
        partial_codec.decode(b"[" * 100_000 + b"]" * 100_000, baseline, names)


def test_files_go_out_in_shrinking_contiguous_tasks_and_batches_stay_bounded():
    """Guided self-scheduling: every file once, in order, the largest tasks first and single
    files last (the workers end together); a worker's batch is a few scans' batches at most,
    fewer rows when the text columns are long."""
    from mlgov_jupyter.service.monitor_runs import PARTIAL_BATCH_BYTES, file_tasks, partial_batch_rows

    for n, workers in [(1, 2), (6, 2), (40, 2), (1000, 4)]:
        files = list(range(n))
        tasks = file_tasks(files, workers)
        assert [f for t in tasks for f in t] == files
        sizes = [len(t) for t in tasks]
        assert sizes == sorted(sizes, reverse=True) and sizes[-1] == 1
        assert len(tasks) <= 2 * workers * (1 + np.log(max(n, 1)))
    assert [len(t) for t in file_tasks(list(range(40)), 2)] == [10, 8, 6, 4, 3, 3, 2, 1, 1, 1, 1]
    numbers = [("d", 65_536, {}, [])]
    assert partial_batch_rows(numbers, [f"f{i}" for i in range(50)]) == 4 * 65_536
    wide = [("d", 100, {"text": 10 << 20}, [])]  # 10 MB values: never more rows than the scan's
    assert partial_batch_rows(wide, ["text", "x"]) == 100
    some = [("d", 40_000, {"text": 2_000}, [])]
    assert partial_batch_rows(some, ["text", "x"]) == PARTIAL_BATCH_BYTES // (2_016)
