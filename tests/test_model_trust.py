"""use() of a catalog model: a model holding functions (exec, np.full_like ...) would run its
publisher's code in the reader's kernel, so only skops' defaults load without the reader naming the
rest in trusted=[...]; the service refuses at publish what is not on a reviewed list."""

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
    assert isinstance(model, Pipeline) and not marker.exists()  # loading alone ran nothing


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
