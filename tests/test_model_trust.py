"""use() of a catalog model: a model holding functions (exec, np.full_like ...) would run its
publisher's code in the reader's kernel, so only skops' defaults load without the reader naming the
rest in trusted=[...]; the service refuses at publish what is not on a reviewed list. A trusted type
is no proof of safe content (a sparse matrix, a random state, an array is checked against what it
builds), and a small file may not make its checker or reader inflate much (zip and schema limits)."""

import builtins
import warnings

import numpy as np
import pandas as pd
import pytest
from sklearn.calibration import CalibratedClassifierCV
from sklearn.ensemble import HistGradientBoostingClassifier, RandomForestClassifier
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression
from sklearn.neighbors import KNeighborsClassifier
from sklearn.neural_network import MLPClassifier
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import FunctionTransformer

import mlgov_jupyter
from mlgov_jupyter.core.errors import Invalid

X = pd.DataFrame({"a": [0.0, 1.0, 2.0, 3.0], "b": [1.0, 0.0, 1.0, 0.0]})
Y = [0, 0, 1, 1]


@pytest.fixture
def pair(tmp_path, monkeypatch):
    monkeypatch.setenv("MLGOV_DB_URL", f"sqlite:///{tmp_path / 'trust.sqlite'}")
    monkeypatch.delenv("MLGOV_SERVER_URL", raising=False)
    mallory, alice = mlgov_jupyter.connect(user="mallory"), mlgov_jupyter.connect(user="alice")
    mallory.create_project("shop")
    mallory.add_member("shop", "alice", "consumer")
    return mallory, alice


def _evil(marker):
    payload = f"open({str(marker)!r}, 'w').write('x')"
    return Pipeline([("fill", FunctionTransformer(np.full_like, kw_args={"fill_value": payload, "dtype": object})),
                     ("flat", FunctionTransformer(np.ravel)), ("first", FunctionTransformer(builtins.min)),
                     ("run", FunctionTransformer(builtins.exec))])


def test_the_service_refuses_to_publish_a_model_holding_exec(pair, tmp_path):
    mallory, alice = pair
    with pytest.raises(Invalid) as err:
        mallory.publish(_evil(tmp_path / "ran"), name="churn-scorer", project="shop")
    assert "builtins.exec" in str(err.value) and "numpy.full_like" in str(err.value)
    assert "\n" not in str(err.value)
    assert alice.search("churn") == []
    # the owner can still publish the bytes, as a file nobody's use() loads as a model
    import skops.io as sio

    path = tmp_path / "evil.skops"
    path.write_bytes(sio.dumps(_evil(tmp_path / "ran")))
    mallory.publish(str(path), name="churn-scorer-file", project="shop")
    assert isinstance(alice.use("churn-scorer-file"), bytes)
    assert not (tmp_path / "ran").exists()


async def test_publish_refusal_over_rest(api):
    import base64

    import skops.io as sio

    evil = base64.b64encode(sio.dumps(FunctionTransformer(builtins.exec))).decode()
    code, body, _ = await api("alice", "POST", "assets", {"name": "m", "kind": "model", "format": "skops",
                                                          "content_b64": evil})
    assert code == 400 and "builtins.exec" in body["message"], body
    code, body, _ = await api("alice", "POST", "assets", {"name": "m", "kind": "model", "format": "skops",
                                                          "content_b64": base64.b64encode(b"junk").decode()})
    assert code == 400, body
    code, body, _ = await api("alice", "POST", "assets", {"name": "m", "kind": "model", "format": "file",
                                                          "content_b64": evil})
    assert code == 201, body


def test_a_model_holding_exec_is_refused_and_names_it(pair, tmp_path, monkeypatch):
    mallory, alice = pair
    marker = tmp_path / "ran"
    # bytes stored before the publish check existed: the reader's own check still holds
    from mlgov_jupyter.service import catalog

    monkeypatch.setattr(catalog, "_check_skops", lambda data: None)
    mallory.publish(_evil(marker), name="churn-scorer", project="shop")
    monkeypatch.undo()
    with pytest.raises(Invalid) as err:
        alice.use("churn-scorer")
    assert "builtins.exec" in str(err.value) and "numpy.full_like" in str(err.value)
    assert not marker.exists()
    # naming what one trusts is the reader's explicit choice
    model = alice.use("churn-scorer", trusted=["builtins.exec", "builtins.min", "builtins.object",
                                                     "numpy.full_like", "numpy.ravel"])
    from mlgov_jupyter.kernel.isolated_model import IsolatedModel

    # not published by alice: loaded in its own process, never in her kernel
    assert isinstance(model, IsolatedModel) and type(model).__name__ == "Pipeline"
    assert not marker.exists()  # loading alone ran nothing
    assert isinstance(alice.use("churn-scorer", trusted=["builtins.exec", "builtins.min", "builtins.object",
                                                         "numpy.full_like", "numpy.ravel"], isolated=False),
                      Pipeline) and not marker.exists()


def test_ordinary_models_load_without_naming_anything(pair):
    mallory, alice = pair
    warnings.filterwarnings("ignore", category=UserWarning)  # tiny data: convergence warnings
    models = {"lr": LogisticRegression().fit(X, Y),
              "log": make_pipeline(FunctionTransformer(np.log1p), LogisticRegression()).fit(X, Y)}
    for name, model in models.items():
        mallory.publish(model, name=name, project="shop")
        loaded = alice.use(name)
        assert (loaded.predict(X) == model.predict(X)).all(), name


@pytest.mark.parametrize("name, model, kinds", [
    ("rf", RandomForestClassifier(n_estimators=3), ["sklearn.tree._tree.Tree"]),
    ("knn", KNeighborsClassifier(n_neighbors=2, algorithm="kd_tree"),
     ["sklearn.metrics._dist_metrics.EuclideanDistance64", "sklearn.neighbors._kd_tree.KDTree"]),
    ("hgb", HistGradientBoostingClassifier(max_iter=3, min_samples_leaf=1),
     ["sklearn.ensemble._hist_gradient_boosting.predictor.TreePredictor"]),
    ("mlp", MLPClassifier(max_iter=5), ["sklearn.neural_network._stochastic_optimizers.AdamOptimizer"]),
    ("imp", make_pipeline(SimpleImputer(), LogisticRegression()), ["numpy.dtype"]),
])
def test_helper_types_are_publishable_and_load_when_the_reader_names_them(pair, name, model, kinds):
    """Trees, indexes, metrics, optimizers, even a numpy.dtype are built by the file with its own
    arguments and state (a crafted one reads or writes memory out of bounds): as skops does, the
    reader names them; the message says which."""
    mallory, alice = pair
    warnings.filterwarnings("ignore", category=UserWarning)
    model.fit(X, Y)
    mallory.publish(model, name=name, project="shop")  # on the reviewed publishable list
    with pytest.raises(Invalid) as err:
        alice.use(name)
    assert all(k in str(err.value) for k in kinds), err.value
    loaded = alice.use(name, trusted=kinds)
    assert (loaded.predict(X) == model.predict(X)).all(), name


def _gadget(module: str, cls: str, args: list) -> bytes:
    """A fitted LogisticRegression whose skops schema gains one node that constructs
    ``module.cls(*args)`` when loaded (skops' ConstructorFromReduceNode)."""
    import io
    import json
    import zipfile

    import skops.io as sio

    files = {}
    with zipfile.ZipFile(io.BytesIO(sio.dumps(LogisticRegression().fit(X, Y)))) as z:
        files = {n: z.read(n) for n in z.namelist()}
    schema = json.loads(files["schema.json"])
    text = {"__class__": "str", "__module__": "builtins", "__loader__": "JsonNode", "is_json": True}
    schema["content"]["content"]["x_gadget"] = {
        "__class__": cls, "__module__": module, "__loader__": "ConstructorFromReduceNode",
        "content": {"__class__": "tuple", "__module__": "builtins", "__loader__": "TupleNode",
                    "content": [{**text, "content": json.dumps(a)} for a in args]}}
    schema["content"]["key_types"]["content"].append(
        {"__class__": "str", "__module__": "builtins", "__loader__": "TypeNode"})
    files["schema.json"] = json.dumps(schema).encode()
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as z:
        for n, b in files.items():
            z.writestr(n, b)
    return out.getvalue()


@pytest.mark.parametrize("module, cls", [
    ("numpy.distutils.fcompiler.gnu", "Popen"),  # subprocess.Popen, re-exported by a numpy module
    ("sklearn.datasets._base", "Path"),
    ("numpy.f2py.__main__", "X"),  # importing this module runs f2py's main() (it killed the server)
])
def test_re_exported_classes_and_running_modules_are_neither_trusted_nor_imported(pair, tmp_path, module, cls):
    import base64
    import sys

    from mlgov_jupyter.core.model_trust import untrusted_types
    from mlgov_jupyter.kernel.client import _load

    marker = tmp_path / "ran"
    data = _gadget(module, cls, [["sh", "-c", f"touch {marker}"]])
    before = set(sys.modules)
    assert untrusted_types(data) == [f"{module}.{cls}"]  # exact names, nothing resolved
    assert module not in set(sys.modules) - before  # decided without importing it
    mallory, alice = pair
    with pytest.raises(Invalid, match=f"{module}.{cls}"):  # refused at publish
        mallory._call("POST", "assets", body={"name": "credit-model", "project": "shop", "kind": "model",
                                              "format": "skops", "content_b64": base64.b64encode(data).decode()})
    with pytest.raises(Invalid, match=f"{module}.{cls}"):  # and at load, for bytes stored before
        _load({"name": "credit-model", "format": "skops"}, data, None)
    assert not marker.exists()


# --- content: a type skops trusts is no proof that what the file builds under it is safe ---------

def _files(data: bytes) -> dict:
    import io
    import zipfile

    with zipfile.ZipFile(io.BytesIO(data)) as z:
        return {n: z.read(n) for n in z.namelist()}


def _zip(files: dict, deflate: bool = False) -> bytes:
    import io
    import zipfile

    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED if deflate else zipfile.ZIP_STORED) as z:
        for n, b in files.items():
            z.writestr(n, b)
    return out.getvalue()


def _edit(data: bytes, schema=None, member=None) -> bytes:
    """The skops file with its schema (a function of the parsed schema, in place) and members
    (name, bytes) -> bytes rewritten."""
    import json

    files = _files(data)
    parsed = json.loads(files["schema.json"])
    if schema:
        schema(parsed)
    files["schema.json"] = json.dumps(parsed).encode()
    if member:
        files = {n: (b if n == "schema.json" else member(n, b)) for n, b in files.items()}
    return _zip(files)


def _nodes(schema, loader=None):
    """Every dict of a schema (with loader: those of that loader), depth first."""
    stack, out = [schema], []
    while stack:
        value = stack.pop()
        if isinstance(value, dict):
            if loader is None or value.get("__loader__") == loader:
                out.append(value)
            stack.extend(value.values())
        elif isinstance(value, list):
            stack.extend(value)
    return out


def _set_field(schema, key: str, value) -> None:
    """Set every JsonNode stored under ``key`` in a DictNode of the schema."""
    import json

    hits = [d["content"][key] for d in _nodes(schema, "DictNode") if key in d.get("content", {})]
    assert hits, key
    for node in hits:
        node["content"] = json.dumps(value)


def _sparse_lr(index: int | None = None, disguise: bool = False) -> bytes:
    """A fitted LogisticRegression whose coef_ is a csc matrix (as .sparsify() makes, in csc),
    its indices optionally all set to ``index``, optionally declared as the trusted base class
    scipy.sparse._matrix.spmatrix: the red team's F1."""
    import io

    import scipy.sparse as sp
    import skops.io as sio

    model = LogisticRegression().fit(np.random.default_rng(0).normal(size=(40, 4)), [0, 1] * 20)
    model.coef_ = sp.csc_matrix(model.coef_)

    def member(name, raw):
        if name.endswith(".npz") and index is not None:
            npz = np.load(io.BytesIO(raw))
            arrays = {k: npz[k] for k in npz.files}
            arrays["indices"] = np.full_like(arrays["indices"], index)
            buf = io.BytesIO()
            np.savez(buf, **arrays)
            return buf.getvalue()
        return raw

    def schema(s):
        if disguise:
            for node in _nodes(s, "SparseMatrixNode"):
                node["__class__"], node["__module__"] = "spmatrix", "scipy.sparse._matrix"

    return _edit(sio.dumps(model), schema, member)


def test_a_sparse_matrix_claiming_a_trusted_name_is_refused_at_publish_and_load(pair):
    """skops trusts scipy.sparse._matrix.spmatrix by name and builds whatever format the .npz
    says, unchecked: predict() then wrote out of bounds in the reader's kernel (SIGSEGV)."""
    import base64

    import skops.io as sio

    from mlgov_jupyter.core.model_trust import untrusted_types
    from mlgov_jupyter.kernel.client import _load

    data = _sparse_lr(index=10_000_000, disguise=True)
    assert sio.get_untrusted_types(data=data) == []  # what skops alone says: nothing to name
    with pytest.raises(ValueError, match=r"declared scipy\.sparse\._matrix\.spmatrix but holds a "
                                         r"scipy\.sparse\._csc\.csc_matrix"):
        untrusted_types(data)
    mallory, alice = pair
    with pytest.raises(Invalid, match="declared scipy.sparse._matrix.spmatrix") as err:
        mallory._call("POST", "assets", body={"name": "churn-lr", "project": "shop", "kind": "model",
                                              "format": "skops", "content_b64": base64.b64encode(data).decode()})
    assert "\n" not in str(err.value) and type(err.value) is Invalid
    # bytes stored before this check: the reader refuses them too, whatever it names
    everything = ["scipy.sparse._matrix.spmatrix", "scipy.sparse._csc.csc_matrix"]
    with pytest.raises(Invalid, match="declared scipy.sparse._matrix.spmatrix"):
        _load({"name": "churn-lr", "format": "skops"}, data, everything)


def test_sparse_content_is_checked_even_when_the_reader_trusts_its_type():
    from mlgov_jupyter.core.model_trust import untrusted_types

    csc = ["scipy.sparse._csc.csc_matrix"]
    assert untrusted_types(_sparse_lr(), trusted=csc) == []  # the honest file
    with pytest.raises(ValueError, match=r"is malformed \(.*indices"):
        untrusted_types(_sparse_lr(index=64), trusted=csc)
    with pytest.raises(ValueError, match="is malformed"):
        untrusted_types(_sparse_lr(index=-1), trusted=csc)

    # declared csr, stored csc: the class built must be the one declared
    def as_csr(s):
        for node in _nodes(s, "SparseMatrixNode"):
            node["__class__"], node["__module__"] = "csr_matrix", "scipy.sparse._csr"
    with pytest.raises(ValueError, match="declared scipy.sparse._csr.csr_matrix but holds"):
        untrusted_types(_edit(_sparse_lr(), as_csr), trusted=["scipy.sparse._csr.csr_matrix"])

    # the same class built by another loader would set its index arrays unchecked
    def as_object(s):
        for node in _nodes(s, "SparseMatrixNode"):
            node.clear()
            node.update({"__class__": "csc_matrix", "__module__": "scipy.sparse._csc", "__loader__": "ObjectNode",
                         "content": {"__class__": "dict", "__module__": "builtins", "__loader__": "DictNode",
                                     "content": {}, "key_types": {"__class__": "list", "__module__": "builtins",
                                                                  "__loader__": "ListNode", "content": []}}})
    with pytest.raises(ValueError, match="only skops' SparseMatrixNode builds"):
        untrusted_types(_edit(_sparse_lr(), as_object), trusted=csc)


def test_sparse_models_are_audited_as_skops_does_and_load_when_named():
    import scipy.sparse as sp
    import skops.io as sio
    from sklearn.random_projection import SparseRandomProjection

    from mlgov_jupyter.core.model_trust import untrusted_types
    from mlgov_jupyter.kernel.client import _load

    lr = LogisticRegression().fit(X, Y)
    lr.sparsify()
    matrices = [sp.coo_matrix(np.eye(3)), sp.bsr_matrix(np.eye(4), blocksize=(2, 2)), sp.dia_matrix(np.eye(3)),
                sp.csr_array(np.eye(3)), sp.coo_array(np.ones((2, 2, 2))), sp.csc_matrix((3, 3))]
    for obj in (lr, SparseRandomProjection(n_components=2, random_state=0).fit(X), matrices):
        data = sio.dumps(obj)
        names = sio.get_untrusted_types(data=data)
        assert untrusted_types(data) == names and any(n.startswith("scipy.sparse.") for n in names)
        loaded = _load({"name": "m", "format": "skops"}, data, names)
        if obj is lr:
            assert (loaded.predict(X) == lr.predict(X)).all()


def _rng_model(rng) -> bytes:
    """A fitted SGDClassifier holding ``rng``: as its random_state (a RandomState, drawn from when
    the reader refits), or as an attribute (a Generator)."""
    import skops.io as sio
    from sklearn.linear_model import SGDClassifier

    if isinstance(rng, np.random.RandomState):
        return sio.dumps(SGDClassifier(max_iter=5, tol=None, random_state=rng).fit(X, Y))
    model = SGDClassifier(max_iter=5, tol=None).fit(X, Y)
    model.rng_ = rng
    return sio.dumps(model)


@pytest.mark.parametrize("make, key, value", [
    (lambda: np.random.RandomState(0), "pos", 100_000_000),  # MT19937's key is 624 long
    (lambda: np.random.RandomState(0), "pos", -5),
    (lambda: np.random.Generator(np.random.MT19937(0)), "pos", 625),
    (lambda: np.random.Generator(np.random.Philox(0)), "buffer_pos", -100_000_000),  # buffer of 4
    (lambda: np.random.default_rng(0), "pool_size", 10_000_000_000),  # a 40 GB pool
])
def test_random_states_with_positions_outside_their_state_are_refused(make, key, value):
    """numpy takes a stored position as it is and indexes its key with it on the next draw (read
    out of bounds: SIGSEGV when the reader refits); skops trusts RandomState and Generator."""
    import skops.io as sio

    from mlgov_jupyter.core.model_trust import untrusted_types
    from mlgov_jupyter.kernel.client import _load

    honest = _rng_model(make())
    assert untrusted_types(honest) == [] == sio.get_untrusted_types(data=honest)
    model = _load({"name": "m", "format": "skops"}, honest, None)
    model.partial_fit(X, Y)  # draws from the loaded state
    if hasattr(model, "rng_"):
        model.rng_.random(3)
    data = _edit(honest, lambda s: _set_field(s, key, value))
    assert sio.get_untrusted_types(data=data) == []
    with pytest.raises(ValueError, match=f"{key} {value}"):
        untrusted_types(data)


def test_the_state_checked_is_the_one_skops_builds_not_the_text_in_its_place():
    """skops builds a node once per __id__: a later node with the id of an earlier one is the
    earlier one. A harmless pos in place, aliased to a hidden one out of range, is still refused."""
    from mlgov_jupyter.core.model_trust import untrusted_types

    def alias(s):
        estimator = s["content"]
        pos = [d["content"]["pos"] for d in _nodes(s, "DictNode") if "pos" in d.get("content", {})][0]
        hidden = {"__class__": "int", "__module__": "builtins", "__loader__": "JsonNode",
                  "content": "100000000", "is_json": True, "__id__": 4242}
        estimator["content"] = {"a_hidden": hidden, **estimator["content"]}  # built first
        estimator["key_types"]["content"].insert(0, {"__class__": "str", "__module__": "builtins",
                                                     "__loader__": "TypeNode"})
        pos["__id__"] = 4242
        assert 0 <= int(pos["content"]) <= 624  # what is in place is harmless

    data = _edit(_rng_model(np.random.RandomState(0)), alias)
    with pytest.raises(ValueError, match="pos 100000000"):
        untrusted_types(data)


def test_arrays_are_plain_npy_of_the_size_their_header_declares():
    import io

    import skops.io as sio

    from mlgov_jupyter.core.model_trust import untrusted_types

    data = sio.dumps(LogisticRegression().fit(X, Y))

    def npz(name, raw):  # np.load would return a lazy NpzFile, not an array
        if not name.endswith(".npy"):
            return raw
        buf = io.BytesIO()
        np.savez(buf, x=np.load(io.BytesIO(raw)))
        return buf.getvalue()

    with pytest.raises(ValueError, match="is no .npy array"):
        untrusted_types(_edit(data, member=npz))
    with pytest.raises(ValueError, match="does not hold the"):
        untrusted_types(_edit(data, member=lambda n, b: b + b"\0" * 8 if n.endswith(".npy") else b))

    def objects(name, raw):
        if not name.endswith(".npy"):
            return raw
        header = "{'descr': '|O', 'fortran_order': False, 'shape': (1,), }"
        return b"\x93NUMPY\x01\x00" + len(header + "\n").to_bytes(2, "little") + header.encode() + b"\n" + b"\0" * 8
    with pytest.raises(ValueError, match="holds Python objects"):
        untrusted_types(_edit(data, member=objects))

    # a numpy.dtype is read from an empty array, nothing else
    imputer = sio.dumps(SimpleImputer().fit(X))
    assert untrusted_types(imputer) == ["numpy.dtype"]

    def dtype_from_rows(name, raw):
        return raw if not name.endswith(".npy") or np.load(io.BytesIO(raw)).shape != (0,) else \
            _npy(np.zeros(3, dtype=np.load(io.BytesIO(raw)).dtype))
    with pytest.raises(ValueError, match="numpy.dtype .* not read from an empty array"):
        untrusted_types(_edit(imputer, member=dtype_from_rows), trusted=["numpy.dtype"])


def _npy(array) -> bytes:
    import io

    buf = io.BytesIO()
    np.save(buf, array)
    return buf.getvalue()


# --- size: the zip and the schema are measured before skops reads anything -----------------------

def _bomb(member_mb: int, readers: int, deflate: bool = True) -> bytes:
    """The red team's F2: a list of ``readers`` BytesNodes that all read one member of zeros."""
    import json

    node = {"__class__": "bytes", "__module__": "builtins", "__loader__": "BytesNode", "file": "z.bin"}
    schema = {"__class__": "list", "__module__": "builtins", "__loader__": "ListNode",
              "content": [dict(node) for _ in range(readers)], "protocol": 2, "_skops_version": "0.16.0"}
    return _zip({"schema.json": json.dumps(schema).encode(), "z.bin": b"\0" * (member_mb << 20)}, deflate)


def test_a_small_file_that_expands_is_refused_before_it_is_decompressed(pair):
    import base64
    import tracemalloc

    from mlgov_jupyter.core.errors import TooLarge
    from mlgov_jupyter.core.model_trust import untrusted_types
    from mlgov_jupyter.kernel.client import _load

    data = _bomb(20, 20)
    assert len(data) < 30_000
    tracemalloc.start()
    with pytest.raises(TooLarge, match="expands 1,0[0-9]{2} times"):
        untrusted_types(data)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert peak < 5 << 20, peak  # nothing inflated
    # uncompressed (no ratio to catch): a 2 MB member read by 20 nodes
    with pytest.raises(TooLarge, match="member 'z.bin' is read by 20 nodes"):
        untrusted_types(_bomb(2, 20, deflate=False))
    assert untrusted_types(_bomb(2, 2, deflate=False)) == []  # a member shared by two nodes is fine
    # within the per-member ratio and readers, the whole file may still expand only so much
    from mlgov_jupyter.core.model_trust import Limits

    lax = Limits(max_ratio=2_000, ratio_floor=1 << 10)
    with pytest.raises(TooLarge, match="expands to more than .* as skops reads it"):
        untrusted_types(_bomb(2, 8), limits=lax)
    assert untrusted_types(_bomb(2, 1), limits=lax) == []
    mallory, alice = pair
    with pytest.raises(TooLarge) as err:  # at publish: 413
        mallory._call("POST", "assets", body={"name": "bomb", "project": "shop", "kind": "model",
                                              "format": "skops", "content_b64": base64.b64encode(data).decode()})
    assert "\n" not in str(err.value) and err.value.status == 413
    with pytest.raises(TooLarge):  # and before a reader loads bytes stored earlier
        _load({"name": "bomb", "format": "skops"}, data, None)


def test_a_staged_file_is_checked_member_by_member(tmp_path):
    """The service may check an upload on disk without reading it whole."""
    from mlgov_jupyter.core.errors import TooLarge
    from mlgov_jupyter.core.model_trust import unpublishable_types

    path = tmp_path / "m.skops"
    path.write_bytes(_sparse_lr())
    assert unpublishable_types(path) == ["scipy.sparse._csc.csc_matrix"] == unpublishable_types(str(path))
    path.write_bytes(_bomb(20, 20))
    with pytest.raises(TooLarge):
        unpublishable_types(path)
    path.write_bytes(_sparse_lr(index=10_000_000, disguise=True))
    with pytest.raises(ValueError, match="declared"):
        unpublishable_types(path)


def test_every_limit_of_a_skops_file():
    import json

    import skops.io as sio

    from mlgov_jupyter.core.errors import TooLarge
    from mlgov_jupyter.core.model_trust import Limits, untrusted_types

    data = sio.dumps(LogisticRegression().fit(X, Y))
    files = _files(data)
    assert untrusted_types(data) == []
    with pytest.raises(TooLarge, match="expands to more than"):
        untrusted_types(data, limits=Limits(max_bytes=1_000))
    with pytest.raises(TooLarge, match="member .* expands to"):
        untrusted_types(data, limits=Limits(max_member_bytes=500))
    with pytest.raises(TooLarge, match="members"):
        untrusted_types(data, limits=Limits(max_members=3))
    with pytest.raises(TooLarge, match="nodes"):
        untrusted_types(data, limits=Limits(max_nodes=10))
    with pytest.raises(TooLarge, match="nested more than"):
        untrusted_types(data, limits=Limits(max_depth=4))
    with pytest.raises(TooLarge, match="objects"):
        untrusted_types(sio.dumps([LogisticRegression()] * 3), limits=Limits(max_objects=2))
    # a compressed member counts by what it expands to, and by its ratio
    packed = _zip({**files, "pad.npy": _npy(np.zeros(1 << 18))}, deflate=True)
    with pytest.raises(TooLarge, match="'pad.npy' expands .* times"):
        untrusted_types(packed, limits=Limits(ratio_floor=1 << 10))
    # one name twice: the checker and skops could read different bytes
    import io
    import zipfile

    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z, warnings.catch_warnings():
        warnings.simplefilter("ignore")  # zipfile warns of the duplicate name
        for n, b in files.items():
            z.writestr(n, b)
        z.writestr(next(n for n in files if n.endswith(".npy")), _npy(np.zeros(2)))
    with pytest.raises(ValueError, match="twice"):
        untrusted_types(buf.getvalue())
    assert untrusted_types(_zip(files)) == []  # the same members once each
    # a node that reads a member the zip does not hold
    with pytest.raises(ValueError, match="missing member"):
        untrusted_types(_zip({**files, "schema.json": files["schema.json"].replace(b".npy", b".npx", 1)}))
    with pytest.raises(ValueError, match="not JSON"):
        untrusted_types(_zip({**files, "schema.json": b"{" * 100_000}))
    with pytest.raises(ValueError, match="has no schema.json"):
        untrusted_types(b"PK\x05\x06" + b"\0" * 18)  # an empty zip
    with pytest.raises(ValueError, match="not a readable zip"):
        untrusted_types(b"junk")
    assert json.loads(files["schema.json"])  # untouched


async def test_content_and_size_refusals_over_rest(api):
    import base64

    def body(data):
        return {"name": "m", "kind": "model", "format": "skops", "content_b64": base64.b64encode(data).decode()}

    code, err, _ = await api("alice", "POST", "assets", body(_bomb(20, 20)))
    assert code == 413 and "expands 1,0" in err["message"] and "\n" not in err["message"], err
    code, err, _ = await api("alice", "POST", "assets", body(_sparse_lr(index=10_000_000, disguise=True)))
    assert code == 400 and "declared scipy.sparse._matrix.spmatrix but holds" in err["message"], err
    code, err, _ = await api("alice", "POST", "assets", body(_edit(_rng_model(np.random.RandomState(0)),
                                                                   lambda s: _set_field(s, "pos", 10**8))))
    assert code == 400 and "pos 100000000" in err["message"], err


def _fill_dtype(schema) -> dict:
    return [d for d in _nodes(schema, "DictNode") if "_fill_dtype" in d.get("content", {})][0]["content"]["_fill_dtype"]


def test_a_declared_type_is_built_only_by_its_own_loader():
    """The reader of any SimpleImputer names numpy.dtype; a LossNode declaring numpy.dtype would
    call np.dtype("V8") and __setstate__ a field at offset 1e9 (transform then writes out of
    bounds). A type named for its loader is refused from any other, a loader building a fixed
    type must declare it, and LossNode / ConstructorFromReduceNode build only what skops allows."""
    import skops.io as sio

    from mlgov_jupyter.core.model_trust import untrusted_types

    pipe = make_pipeline(SimpleImputer(), LogisticRegression()).fit(X, Y)
    honest = sio.dumps(pipe)
    assert untrusted_types(honest) == ["numpy.dtype"]
    assert untrusted_types(honest, trusted=["numpy.dtype"]) == []

    def as_loss(schema):  # the imputer's _fill_dtype, rebuilt by a LossNode
        node = _fill_dtype(schema)
        assert node["__loader__"] == "DTypeNode"
        node.clear()
        node.update({"__class__": "dtype", "__module__": "numpy", "__loader__": "LossNode",
                     "__reduce__": {"args": {"__class__": "tuple", "__module__": "builtins",
                                             "__loader__": "TupleNode",
                                             "content": [{"__class__": "str", "__module__": "builtins",
                                                          "__loader__": "JsonNode", "content": '"V8"',
                                                          "is_json": True}]}},
                     "content": {"__class__": "dict", "__module__": "builtins", "__loader__": "DictNode",
                                 "content": {}, "key_types": {"__class__": "list", "__module__": "builtins",
                                                              "__loader__": "ListNode", "content": []}}})
    with pytest.raises(ValueError, match="LossNode .* builds numpy.dtype, which only skops' DTypeNode"):
        untrusted_types(_edit(honest, schema=as_loss), trusted=["numpy.dtype"])

    def loss_of(module, cls):
        def edit(schema):
            as_loss(schema)
            node = _fill_dtype(schema)
            node["__module__"], node["__class__"] = module, cls
        return edit
    with pytest.raises(ValueError, match="LossNode .* builds builtins.bytearray, which is not one of"):
        untrusted_types(_edit(honest, schema=loss_of("builtins", "bytearray")), trusted=["builtins.bytearray"])

    def ctor(schema):
        node = _fill_dtype(schema)
        node["__loader__"] = "ConstructorFromReduceNode"
        node.pop("__id__", None)  # else skops reuses the first node of that id
    with pytest.raises(ValueError, match="ConstructorFromReduceNode .* builds numpy.dtype"):
        untrusted_types(_edit(honest, schema=ctor), trusted=["numpy.dtype"])

    def tree_named_dtype(schema):  # a TreeNode builds a Tree whatever it declares
        for node in _nodes(schema, "TreeNode"):
            node["__module__"], node["__class__"] = "numpy", "dtype"
    forest = sio.dumps(RandomForestClassifier(n_estimators=1).fit(X, Y))
    with pytest.raises(ValueError, match="TreeNode .* declares numpy.dtype but builds sklearn.tree._tree.Tree"):
        untrusted_types(_edit(forest, schema=tree_named_dtype), trusted=["numpy.dtype"])

    # honest models with each loader still pass
    for model in (RandomForestClassifier(n_estimators=2), HistGradientBoostingClassifier(max_iter=2),
                  KNeighborsClassifier(algorithm="kd_tree", n_neighbors=1)):
        untrusted_types(sio.dumps(model.fit(X, Y)), trusted=sorted(__import__(
            "mlgov_jupyter.core.model_trust", fromlist=["x"]).PUBLISHABLE_TYPES))


def test_a_bytearray_counts_what_it_builds():
    """skops builds bytearray(list(bytes)): 9 bytes for each byte read, counted in the budget."""
    import json

    from mlgov_jupyter.core.errors import TooLarge
    from mlgov_jupyter.core.model_trust import Limits, untrusted_types

    node = {"__class__": "bytearray", "__module__": "builtins", "__loader__": "BytearrayNode", "file": "b.bin"}
    schema = {"__class__": "list", "__module__": "builtins", "__loader__": "ListNode",
              "content": [dict(node), dict(node)], "protocol": 2, "_skops_version": "0.16.0"}
    data = _zip({"schema.json": json.dumps(schema).encode(), "b.bin": b"\1" * (1 << 20)})
    limits = Limits(max_bytes=8 << 20)  # 2 MB read, 16 MB built on top
    with pytest.raises(TooLarge):
        untrusted_types(data, limits=limits)
    assert untrusted_types(data, limits=Limits(max_bytes=32 << 20)) == []
