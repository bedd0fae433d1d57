"""An MLflow run or registered model version imports into a card (params, metrics, tags, artifact
hash, lineage to catalog datasets), with a local MLflow file store and the real MLflow client."""

import hashlib

import pandas as pd
import pytest

import mlgov_jupyter
from mlgov_jupyter.core.cards import validate
from mlgov_jupyter.core.errors import Invalid

mlflow = pytest.importorskip("mlflow")


@pytest.fixture
def tracking(tmp_path, monkeypatch):
    monkeypatch.setenv("MLFLOW_ALLOW_FILE_STORE", "true")  # MLflow 3 keeps the file store in maintenance
    uri = (tmp_path / "mlruns").as_uri()
    mlflow.set_tracking_uri(uri)
    mlflow.set_experiment("credit")
    model_file = tmp_path / "model.skops"
    model_file.write_bytes(b"model bytes")
    with mlflow.start_run(run_name="lr-run") as run:
        mlflow.log_params({"C": 0.5, "penalty": "l2"})
        mlflow.log_metrics({"auc": 0.91, "accuracy": 0.87})
        mlflow.set_tags({"team": "risk", "estimator_class": "sklearn.linear_model.LogisticRegression"})
        mlflow.log_artifact(str(model_file), "model")
        frame = pd.DataFrame({"x": [1, 2]})
        mlflow.log_input(mlflow.data.from_pandas(frame, name="loans"), context="training")
        mlflow.log_input(mlflow.data.from_pandas(frame, name="not-in-catalog"), context="evaluation")
    client = mlflow.MlflowClient(tracking_uri=uri)
    client.create_registered_model("credit-lr")
    version = client.create_model_version("credit-lr", f"runs:/{run.info.run_id}/model", run_id=run.info.run_id)
    yield uri, run.info.run_id, version.version
    mlflow.set_tracking_uri(None)


def test_mlflow_run_and_registered_version_import_into_a_card(tracking, tmp_path, monkeypatch):
    uri, run_id, version = tracking
    monkeypatch.setenv("MLGOV_DB_URL", f"sqlite:///{tmp_path / 'mlflow.sqlite'}")
    monkeypatch.delenv("MLGOV_SERVER_URL", raising=False)
    alice = mlgov_jupyter.connect(user="alice")
    alice.create_project("credit")
    alice.publish(pd.DataFrame({"x": [1, 2]}), name="loans", project="credit")
    from sklearn.linear_model import LogisticRegression

    alice.publish(LogisticRegression().fit([[0.0], [1.0]], [0, 1]), name="credit-lr", project="credit")

    card = alice.card_from_mlflow(f"models:/credit-lr/{version}", "credit-lr-card", "credit-lr",
                                  tracking_uri=uri).card
    content = card["content"]
    validate(content)
    job = content["training_details"]["training_job_details"]
    assert {h["name"]: h["value"] for h in job["hyper_parameters"]} == {"C": "0.5", "penalty": "l2"}
    assert {m["name"]: m["value"] for m in job["training_metrics"]} == {"auc": 0.91, "accuracy": 0.87}
    details = content["additional_information"]["custom_details"]
    expected = hashlib.sha256(b"model.skops\0" + b"model bytes").hexdigest()
    assert details["mlflow_artifact_sha256"] == "sha256:" + expected
    assert details["mlflow_run_id"] == run_id and details["tag_team"] == "risk"
    assert content["model_overview"]["model_version"] == int(version)
    assert content["model_overview"]["algorithm_type"] == "sklearn.linear_model.LogisticRegression"
    assert card["lineage"] == {"training": ["loans"], "evaluation": []}  # only what the catalog has
    assert "mlflow_dataset_not-in-catalog" in details

    again = alice.card_from_mlflow(run_id, "credit-lr-card", "credit-lr", tracking_uri=uri).card
    assert again["version"] == 2 and again["content"]["model_overview"]["model_name"] == "lr-run"
    with pytest.raises(Invalid, match="MLflow"):
        alice.card_from_mlflow("0" * 32, "credit-lr-card", "credit-lr", tracking_uri=uri)
    with pytest.raises(Invalid, match="models:/NAME/VERSION"):
        alice.card_from_mlflow("models:/credit-lr", "credit-lr-card", "credit-lr", tracking_uri=uri)
