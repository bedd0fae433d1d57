"""use() of a catalog model: a model holding functions (exec, np.full_like ...) would run its
publisher's code in the reader's kernel, so only skops' defaults and classes of the ML libraries
load without the reader naming the rest in trusted=[...]."""

import builtins

import numpy as np
import pandas as pd
import pytest
from sklearn.ensemble import RandomForestClassifier
from sklearn.linear_model import LogisticRegression
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
    models = {"lr": LogisticRegression().fit(X, Y), "rf": RandomForestClassifier(n_estimators=3).fit(X, Y),
              "log": make_pipeline(FunctionTransformer(np.log1p), LogisticRegression()).fit(X, Y)}
    for name, model in models.items():
        mallory.publish(model, name=name, project="shop")
        loaded = alice.use(name)
        assert (loaded.predict(X) == model.predict(X)).all(), name
