"""use() of a catalog model the reader did not publish runs it in a process of its own (the red
team's G1: standard estimators with inconsistent fitted state, e.g. a OneHotEncoder whose
_n_features_outs disagree with its categories, pass every content check and write out of bounds
in compiled code on transform). A crash there is one Invalid line; the kernel lives on; an honest
model predicts as in-process and works with cards, checks and lineage."""

import subprocess
import sys
import time
import warnings

import numpy as np
import pandas as pd
import pytest
import skops.io as sio
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

import mlgov_jupyter
from mlgov_jupyter.core.errors import Invalid
from mlgov_jupyter.kernel.isolated_model import IsolatedModel


@pytest.fixture
def pair(tmp_path, monkeypatch):
    monkeypatch.setenv("MLGOV_DB_URL", f"sqlite:///{tmp_path / 'iso.sqlite'}")
    monkeypatch.delenv("MLGOV_SERVER_URL", raising=False)
    mallory, alice = mlgov_jupyter.connect(user="mallory"), mlgov_jupyter.connect(user="alice")
    mallory.create_project("shop")
    mallory.add_member("shop", "alice", "consumer")
    return mallory, alice


def _crafted_encoder(k: int = 100_000_000_000) -> OneHotEncoder:
    m = OneHotEncoder(sparse_output=False).fit(np.array([[0, 0], [1, 1], [2, 2]]))
    m._n_features_outs = [k + 3, -k]  # feature 1's columns start k doubles before the output
    return m


def test_a_crafted_model_that_crashes_in_process_is_a_clean_error_through_use(pair, tmp_path):
    mallory, alice = pair
    model = _crafted_encoder()
    path = tmp_path / "ohe.skops"
    path.write_bytes(sio.dumps(model))
    # in-process, the very same bytes kill the interpreter (SIGSEGV) on transform
    crash = subprocess.run([sys.executable, "-c",
                            "import sys, numpy as np, skops.io as sio; d = open(sys.argv[1], 'rb').read(); "
                            "m = sio.loads(d, trusted=sio.get_untrusted_types(data=d)); "
                            "print(m.transform(np.array([[1, 2]])))", str(path)],
                           capture_output=True, timeout=120)
    assert crash.returncode != 0 and crash.returncode in (-11, 139, -6, 134), crash
    mallory.publish(model, name="encoder", project="shop")  # passes publish (no type to name)
    proxy = alice.use("encoder")
    assert isinstance(proxy, IsolatedModel) and type(proxy).__name__ == "OneHotEncoder"
    with pytest.raises(Invalid, match=r"crashed its isolated process \(exit -?\d+\); it may be malformed"):
        proxy.transform(np.array([[1, 2]]))
    with pytest.raises(Invalid, match="crashed its isolated process"):  # and stays refused
        proxy.transform(np.array([[0, 0]]))
    assert alice.whoami()["name"] == "alice"  # the kernel lives on


def test_an_honest_model_predicts_as_in_process_and_works_with_cards_checks_lineage(pair):
    mallory, alice = pair
    warnings.filterwarnings("ignore", category=UserWarning)
    rng = np.random.default_rng(0)
    X = pd.DataFrame(rng.normal(size=(1000, 4)), columns=["a", "b", "c", "d"])
    y = (X["a"] + 0.3 * X["b"] > 0).astype(int)
    model = make_pipeline(StandardScaler(), LogisticRegression()).fit(X, y)
    mallory.publish(model, name="scorer", project="shop")
    proxy = alice.use("scorer")
    assert isinstance(proxy, IsolatedModel) and type(proxy).__name__ == "Pipeline"
    assert (proxy.predict(X) == model.predict(X)).all()
    assert np.array_equal(proxy.predict_proba(X), model.predict_proba(X))
    assert np.array_equal(proxy.decision_function(X), model.decision_function(X))
    assert proxy.score(X, y) == model.score(X, y)
    assert list(proxy.classes_) == list(model.classes_) and proxy.n_features_in_ == 4
    assert list(proxy.feature_names_in_) == ["a", "b", "c", "d"]
    assert not hasattr(proxy, "transform")  # the pipeline's last step does not transform
    assert proxy.get_params()["logisticregression__C"] == 1.0
    assert type(proxy.named_steps["logisticregression"]).__name__ == "LogisticRegression"

    # lineage: the proxy is the object use() returned
    assert alice._used_models[id(proxy)] == "scorer"
    # card autopopulation reads the class, parameters, metrics and importances
    from mlgov_jupyter.core.cards import autopopulate as ap

    assert ap.algorithm_type(proxy) == "LogisticRegression"
    assert ap.qualified_name(proxy) == "sklearn.pipeline.Pipeline"
    assert ap.hyper_parameters(proxy) == ap.hyper_parameters(model)
    assert ap.infer_problem_type(proxy) == "BinaryClassification"
    from mlgov_jupyter.core.cards import metrics

    assert metrics.importance_group(proxy, list(X.columns)) == metrics.importance_group(model, list(X.columns))
    # monitoring's attribution calls predict_proba on the proxy
    from mlgov_jupyter.core.monitoring import attribution

    sample, target = X.iloc[:300], y.iloc[:300]
    assert attribution.global_attributions(proxy, sample, target, method="permutation", n_repeats=2) == \
        attribution.global_attributions(model, sample, target, method="permutation", n_repeats=2)

    # the owner's own model loads in-process; isolated=False is the explicit opt-out
    assert not isinstance(mallory.use("scorer"), IsolatedModel)
    assert not isinstance(alice.use("scorer", isolated=False), IsolatedModel)

    # overhead of one predict on 1,000 rows (printed with -s)
    def median(f):
        times = []
        for _ in range(15):
            t = time.perf_counter()
            f(X)
            times.append(time.perf_counter() - t)
        return sorted(times)[len(times) // 2]
    iso, local = median(proxy.predict), median(model.predict)
    print(f"\npredict on 1,000 rows: isolated {iso * 1e3:.2f} ms, in-process {local * 1e3:.2f} ms")
    assert iso < 1.0
    proxy.close()
    with pytest.raises(Invalid, match="isolated process"):
        proxy.predict(X)


def test_sparse_and_frame_results_come_back_and_the_worker_holds_no_credential(pair, monkeypatch):
    """A sparse matrix and a DataFrame come back rebuilt (and checked); the worker's environment
    holds none of the reader's tokens or store URLs; an interrupted call stops the worker
    rather than leave its answer for the next call."""
    mallory, alice = pair
    X = np.array([[0, 1], [1, 0], [2, 2]])
    mallory.publish(OneHotEncoder().fit(X), name="enc", project="shop")
    scaler = StandardScaler().set_output(transform="pandas")
    frame = pd.DataFrame({"a": [1.0, 2.0, 3.0], "b": [0.0, 5.0, 10.0]})
    mallory.publish(scaler.fit(frame), name="scale", project="shop")
    monkeypatch.setenv("JUPYTERHUB_API_TOKEN", "SECRET-HUB")
    monkeypatch.setenv("MLGOV_TOKEN", "SECRET-MLGOV")
    enc = alice.use("enc")
    got = enc.transform(X)
    assert (got != OneHotEncoder().fit(X).transform(X)).nnz == 0
    pd.testing.assert_frame_equal(alice.use("scale").transform(frame), StandardScaler().set_output(
        transform="pandas").fit(frame).transform(frame))
    environ = open(f"/proc/{enc._worker.proc.pid}/environ", "rb").read()
    assert b"SECRET" not in environ and b"MLGOV_DB_URL" not in environ
    enc._worker.interrupted = True
    enc._worker.close()
    with pytest.raises(Invalid, match="stopped when a call was interrupted"):
        enc.transform(X)


def _answer_bomb(n_outputs: int = 12_500_000):
    """The red team's F1: a 3.5 KB DummyRegressor of default-trusted types whose predict answers
    an (n_rows, n_outputs) array (10 rows: 1 GB)."""
    from sklearn.dummy import DummyRegressor

    m = DummyRegressor().fit(np.zeros((4, 2)), np.zeros(4))
    m.n_outputs_, m.constant_ = n_outputs, np.array([[1.0]])
    return sio.dumps(m)


def _max_rss_gb() -> float:
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e6


def test_an_answer_over_max_answer_bytes_is_one_line_and_the_kernel_does_not_grow(monkeypatch):
    from mlgov_jupyter.kernel.isolated_model import load_isolated

    data = _answer_bomb()
    model = load_isolated("bomb", data, sio.get_untrusted_types(data=data))
    before = _max_rss_gb()
    with pytest.raises(Invalid, match=r"^model 'bomb' answered 1000000\d+ bytes in 1 arrays, over the 268435456 "
                                      r"bytes .* \(use\(\.\.\., max_answer_bytes=N\) or "
                                      r"MLGOV_ISOLATED_MAX_ANSWER_BYTES\)$"):
        model.predict(np.zeros((10, 2)))
    assert _max_rss_gb() - before < 0.2  # the 1 GB never reached the kernel
    assert model.predict(np.zeros((2, 2))).shape == (2, 12_500_000)  # 200 MB: under the default
    small = load_isolated("bomb", data, sio.get_untrusted_types(data=data), max_answer_bytes=50_000_000)
    with pytest.raises(Invalid, match="over the 50000000 bytes"):
        small.predict(np.zeros((1, 2)))
    monkeypatch.setenv("MLGOV_ISOLATED_MAX_ANSWER_BYTES", "0")
    with pytest.raises(Invalid, match="^max_answer_bytes must be a positive whole number, not '0'$"):
        load_isolated("bomb", data, [])


def test_the_kernel_checks_announced_sizes_before_reading_and_npy_headers_against_their_bytes():
    """A worker that answers over the limit anyway (code run in it need not follow _answer): the
    sizes announced before the arrays are refused without reading them; an .npy whose header
    declares more than it holds is malformed data, not an allocation."""
    import io
    import os
    import struct

    from mlgov_jupyter.kernel import isolated_model as im

    r, w = os.pipe()
    with os.fdopen(w, "wb") as out:  # announces 16 GiB, sends none of it
        im._send(out, b'{"ok": true, "error": "", "value": {"__array__": 0}}')
        im._send(out, struct.pack("<2Q", 1, 1 << 34))
    with os.fdopen(r, "rb") as inp, pytest.raises(im._TooLarge) as big:
        im._read_answer(inp, 1 << 28)
    assert big.value.total > 1 << 34 and big.value.killed
    buf = io.BytesIO()
    np.save(buf, np.zeros(4))
    honest = buf.getvalue()
    assert im._npy(honest).tolist() == [0.0] * 4
    from numpy.lib import format as npformat

    head = io.BytesIO()
    npformat.write_array_header_1_0(head, {"descr": "<f8", "fortran_order": False, "shape": (10 ** 10,)})
    lying = head.getvalue() + honest[-32:]  # declares 80 GB, holds 32 bytes
    with pytest.raises(Invalid, match="^the isolated model answered malformed data$"):
        im._npy(lying)


def test_the_worker_has_a_memory_limit_and_a_refused_allocation_is_one_line(monkeypatch):
    from mlgov_jupyter.kernel.isolated_model import load_isolated

    monkeypatch.setenv("MLGOV_ISOLATED_MAX_MEMORY", str(512 << 20))
    data = _answer_bomb()
    model = load_isolated("bomb", data, sio.get_untrusted_types(data=data), max_answer_bytes=1 << 34)
    before = _max_rss_gb()
    for _ in range(2):  # the worker lives on after the refused allocation
        with pytest.raises(Invalid, match=r"^model 'bomb': MemoryError: .* \(the isolated worker may use "
                                          r"536870912 bytes more than when it started: MLGOV_ISOLATED_MAX_MEMORY\)$"):
            model.predict(np.zeros((10, 2)))  # 1 GB in the worker
    assert _max_rss_gb() - before < 0.2
    assert model.predict(np.zeros((1, 2))).shape == (1, 12_500_000)  # 100 MB fits


def test_an_isolated_model_cannot_be_republished(pair):
    """The red team's F7: publishing what use() returned was a raw TypeError (cannot pickle
    'BufferedWriter'); now one line saying what to do."""
    mallory, alice = pair
    mallory.publish(LogisticRegression().fit(np.array([[0.], [1.]]), [0, 1]), name="lr", project="shop")
    copy = alice.use("lr")
    assert isinstance(copy, IsolatedModel)
    with pytest.raises(Invalid, match=r"^an isolated model cannot be published: it runs in its worker; publish "
                                      r"the original's file, or use\(\.\.\., isolated=False\) if you trust it$"):
        alice.publish(copy, "copy")
    assert [int(v) for v in copy.predict(np.array([[0.], [1.]]))] == [0, 1]


def test_a_model_declaring_more_outputs_than_its_arrays_is_refused_at_publish_and_use(pair):
    from sklearn.dummy import DummyRegressor

    from mlgov_jupyter.service import catalog

    mallory, alice = pair
    mallory.publish(DummyRegressor().fit(np.zeros((4, 2)), np.zeros((4, 3))), name="honest", project="shop")
    assert alice.use("honest").predict(np.zeros((2, 2))).shape == (2, 3)
    bomb = sio.loads(_answer_bomb(), trusted=sio.get_untrusted_types(data=_answer_bomb()))
    line = (r"a sklearn.dummy.DummyRegressor of the skops file declares n_outputs_=12500000 but its "
            r"constant_ is \(1, 1\)")
    with pytest.raises(Invalid, match=line):
        mallory.publish(bomb, name="bomb", project="shop")
    check, catalog._check_skops = catalog._check_skops, lambda data: None
    try:  # stored before the check existed
        mallory.publish(bomb, name="bomb", project="shop")
    finally:
        catalog._check_skops = check
    with pytest.raises(Invalid, match=f"^model 'bomb': {line}$"):
        alice.use("bomb")


def test_the_worker_limits_are_set_as_configured(monkeypatch):
    from mlgov_jupyter.kernel.isolated_model import ADDRESS_SLACK, load_isolated

    data = sio.dumps(LogisticRegression().fit(np.array([[0.], [1.]]), [0, 1]))

    def limits(model) -> dict:
        with open(f"/proc/{model._worker.proc.pid}/limits") as f:
            return {line[:26].strip(): line[26:].split()[:2] for line in f}

    default = load_isolated("lr", data, [])
    got = limits(default)
    assert got["Max cpu time"] == ["unlimited", "unlimited"]
    assert got["Max data size"][0] == got["Max data size"][1] != "unlimited"  # the model cannot raise it
    assert got["Max open files"] == ["64", "64"]  # R9c's P2: pipe/socket buffers bounded by open files
    # R11's F3: every mapping counts (page tables), at its size when ready plus the data headroom
    # plus ADDRESS_SLACK
    assert got["Max address space"][0] == got["Max address space"][1] != "unlimited"
    space, data_size = int(got["Max address space"][0]), int(got["Max data size"][0])
    assert space - data_size >= ADDRESS_SLACK and space < data_size + ADDRESS_SLACK + (2 << 30)
    monkeypatch.setenv("MLGOV_ISOLATED_MAX_CPU_SECONDS", "3600")
    assert limits(load_isolated("lr", data, []))["Max cpu time"] == ["3600", "3600"]
    monkeypatch.setenv("MLGOV_ISOLATED_MAX_MEMORY", "lots")
    with pytest.raises(Invalid, match="^MLGOV_ISOLATED_MAX_MEMORY must be a positive whole number, not 'lots'$"):
        load_isolated("lr", data, [])


def test_what_the_kernel_decodes_is_bounded_not_only_what_was_sent():
    """The red team's N1: a DataFrame answer whose 400 columns all referenced one 8 MB array
    (8 MB sent) grew the kernel by 3.4 GB, pandas copying it per column. Every reference now
    counts its bytes against the answer limit, a frame's column or a sparse matrix's array is
    used once, and a frame has at most MAX_FRAME_COLUMNS columns."""
    import io

    from mlgov_jupyter.kernel import isolated_model as im

    def npy(a) -> bytes:
        buf = io.BytesIO()
        np.save(buf, a)
        return buf.getvalue()

    eight_mb = [npy(np.zeros(1_000_000))]
    frame = {"__frame__": [str(i) for i in range(400)], "data": [{"__array__": 0}] * 400, "index": {"__array__": 0}}
    before = _max_rss_gb()
    with pytest.raises(Invalid, match=r"^the isolated model answered malformed data \(an array used twice\)$"):
        im._Decoder(eight_mb).value(frame)
    many = {"__seq__": [{"__array__": 0}] * 40}  # 320 MB referenced, 8 MB sent: no copy, still over
    with pytest.raises(Invalid, match=r"^the isolated model answered more than 268435456 bytes once decoded"):
        im._Decoder(eight_mb).value(many)
    assert len(im._Decoder(eight_mb).value({"__seq__": [{"__array__": 0}] * 30})) == 30  # 240 MB: under
    sparse = {"__sparse__": [{"__array__": 0}, {"__array__": 0}, {"__array__": 1}], "shape": [1, 1]}
    with pytest.raises(Invalid, match=r"an array used twice"):
        im._Decoder([npy(np.zeros(1, np.int32)), npy(np.array([0, 1], np.int32))]).value(sparse)
    wide = {"__frame__": [str(i) for i in range(100_001)], "data": [{"__array__": 0}] * 100_001,
            "index": {"__array__": 0}}
    with pytest.raises(Invalid, match=r"^the isolated model answered a DataFrame of 100001 columns, over 100000$"):
        im._Decoder(eight_mb).value(wide)
    # R9c's P1: 0-d (or short) columns that pandas would stretch to the index's length
    stretched = {"__frame__": [str(i) for i in range(400)], "data": [{"__array__": i + 1} for i in range(400)],
                 "index": {"__array__": 0}}
    with pytest.raises(Invalid, match=r"a frame column unlike its index"):
        im._Decoder(eight_mb + [npy(np.float64(1.0))] * 400).value(stretched)
    assert _max_rss_gb() - before < 0.2
    honest = im._Decoder([npy(np.arange(3.0)), npy(np.ones(3)), npy(np.arange(3))]).value(
        {"__frame__": ["a", "b"], "data": [{"__array__": 0}, {"__array__": 1}], "index": {"__array__": 2}})
    assert honest["a"].tolist() == [0.0, 1.0, 2.0] and honest["b"].tolist() == [1.0] * 3
    assert im._header_limit(1 << 28) == 8 << 20  # json.loads of a header: bounded too
