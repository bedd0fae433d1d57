import datetime as dt

import pytest


@pytest.fixture(scope="session")
def binary_data():
    from sklearn.datasets import load_breast_cancer
    from sklearn.model_selection import train_test_split

    X, y = load_breast_cancer(return_X_y=True, as_frame=True)
    return train_test_split(X, y, test_size=0.3, random_state=0, stratify=y)


@pytest.fixture(scope="session")
def binary_model(binary_data):
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import StandardScaler

    X_tr, _X_te, y_tr, _y_te = binary_data
    return Pipeline([("scale", StandardScaler()), ("clf", LogisticRegression(C=0.5, max_iter=2000))]).fit(X_tr, y_tr)


NOW = dt.datetime(2026, 1, 2, 3, 4, 5, tzinfo=dt.timezone.utc)


@pytest.fixture(scope="session")
def binary_content(binary_model, binary_data):
    from mlgov_jupyter.core.cards import card_from_session

    X_tr, X_te, y_tr, y_te = binary_data
    return card_from_session(
        binary_model, "cancer-screen", train=(X_tr, y_tr), test=(X_te, y_te),
        datasets={"training": ["clinic/cancer-train"], "evaluation": ["clinic/cancer-test"]},
        notebook_path="notebooks/train.ipynb", author="alice", now=NOW,
    )


@pytest.fixture()
def full_content(binary_content):
    """Autopopulated content plus every hand-written section SageMaker has."""
    import copy

    c = copy.deepcopy(binary_content)
    c["model_overview"].update({
        "model_description": "Flags biopsies for a second read.",
        "model_owner": "clinic-ml",
        "model_id": "asset-123",
        "model_version": 2,
        "model_artifact": ["s3://bucket/model.tar.gz"],
        "inference_environment": {"container_image": ["registry/image:1"]},
    })
    c["intended_uses"] = {
        "purpose_of_model": "Prioritise reads.",
        "intended_uses": "Decision support only.",
        "factors_affecting_model_efficiency": "Scanner type.",
        "risk_rating": "High",
        "explanations_for_risk_rating": "Clinical impact.",
    }
    c["business_details"] = {"business_problem": "Backlog", "business_stakeholders": "Radiology",
                             "line_of_business": "Diagnostics"}
    c["training_details"]["objective_function"] = {
        "function": {"function": "Minimize", "facet": "Loss", "condition": "log loss"}, "notes": "default"}
    c["training_details"]["training_observations"] = "Converged."
    job = c["training_details"]["training_job_details"]
    job["training_arn"] = "arn:aws:sagemaker:eu-west-1:123456789012:training-job/x"
    job["training_environment"] = {"container_image": ["registry/train:1"]}
    job["user_provided_training_metrics"] = [{"name": "val_loss", "value": 0.12, "notes": "5-fold"}]
    job["user_provided_hyper_parameters"] = [{"name": "seed", "value": "0"}]
    ev = c["evaluation_details"][0]
    ev["evaluation_job_arn"] = "arn:aws:sagemaker:eu-west-1:123456789012:processing-job/e"
    ev["metric_groups"].append({"name": "Extra", "metric_data": [
        {"name": "passed_review", "type": "boolean", "value": True},
        {"name": "grade", "type": "string", "value": "A"},
    ]})
    c["additional_information"]["ethical_considerations"] = "Sex and age balance checked."
    c["additional_information"]["caveats_and_recommendations"] = "Not for paediatric use."
    return c
