import os
import shutil
import subprocess

import numpy as np
import pandas as pd
import pytest
from sklearn import metrics as skm

from mlgov_jupyter.core.cards import card_from_session, carry_over, data_hash, infer_problem_type, validate
from mlgov_jupyter.core.errors import Invalid



def groups(content):
    return {g["name"]: g["metric_data"] for g in content["evaluation_details"][0]["metric_groups"]}


def numbers(content):
    out = {}
    for data in groups(content).values():
        out.update({m["name"]: m["value"] for m in data if m["type"] == "number"})
    return out


def test_binary_pipeline_fields(binary_content, binary_model, binary_data):
    X_tr, X_te, y_tr, y_te = binary_data
    c = binary_content
    validate(c)
    ov = c["model_overview"]
    assert ov["model_name"] == "cancer-screen"
    assert ov["algorithm_type"] == "LogisticRegression"
    assert ov["problem_type"] == "BinaryClassification"
    assert ov["model_creator"] == "alice"

    hp = {h["name"]: h["value"] for h in c["training_details"]["training_job_details"]["hyper_parameters"]}
    assert hp["scale"] == "StandardScaler"
    assert hp["clf"] == "LogisticRegression"
    assert hp["clf__C"] == "0.5"
    assert hp["clf__max_iter"] == "2000"
    assert hp["scale__with_mean"] == "True"
    assert all(isinstance(v, str) and 1 <= len(v) <= 255 for v in hp.values())

    job = c["training_details"]["training_job_details"]
    assert job["training_datasets"] == ["clinic/cancer-train"]
    assert job["training_metrics"][0]["value"] == skm.accuracy_score(y_tr, binary_model.predict(X_tr))
    ev = c["evaluation_details"][0]
    assert ev["datasets"] == ["clinic/cancer-test"]
    assert ev["metadata"]["rows"] == str(len(y_te))
    assert ev["metadata"]["data_hash"] == data_hash(X_te, y_te)

    custom = c["additional_information"]["custom_details"]
    assert custom["features"].split(", ") == list(X_tr.columns)
    assert custom["n_features"] == "30"
    assert custom["training_data_shape"] == f"{len(X_tr)} x 30"
    assert custom["training_data_hash"] == data_hash(X_tr, y_tr)
    assert custom["notebook_path"] == "notebooks/train.ipynb"
    assert custom["author"] == "alice"
    assert custom["created_at"] == "2026-01-02T03:04:05Z"
    assert custom["model_class"] == "sklearn.pipeline.Pipeline"
    assert custom["pipeline_steps"] == "scale: StandardScaler, clf: LogisticRegression"
    import platform
    import sklearn

    assert custom["python_version"] == platform.python_version()
    assert f"scikit-learn=={sklearn.__version__}" in custom["libraries"]
    assert f"pandas=={pd.__version__}" in custom["libraries"]
    assert f"numpy=={np.__version__}" in custom["libraries"]


def test_binary_metrics_equal_sklearn(binary_content, binary_model, binary_data):
    _X_tr, X_te, _y_tr, y_te = binary_data
    pred = binary_model.predict(X_te)
    proba = binary_model.predict_proba(X_te)[:, 1]
    got = numbers(binary_content)
    assert got == {
        "accuracy": skm.accuracy_score(y_te, pred),
        "precision": skm.precision_score(y_te, pred),
        "recall": skm.recall_score(y_te, pred),
        "f1": skm.f1_score(y_te, pred),
        "auc": skm.roc_auc_score(y_te, proba),
    }
    g = groups(binary_content)
    cm = g["Confusion matrix"][0]
    assert cm["type"] == "matrix"
    assert cm["value"] == skm.confusion_matrix(y_te, pred).tolist()
    assert cm["x_axis_name"] == cm["y_axis_name"] == ["0", "1"]

    curves = {m["name"]: m for m in g["Curves"]}
    fpr, tpr, _ = skm.roc_curve(y_te, proba)
    roc = curves["roc_curve"]["value"]
    assert curves["roc_curve"]["type"] == "linear_graph"
    assert 2 <= len(roc) <= 20
    assert roc[0] == [fpr[0], tpr[0]] and roc[-1] == [fpr[-1], tpr[-1]]
    full = {(float(a), float(b)) for a, b in zip(fpr, tpr)}
    assert all(tuple(p) in full for p in roc)

    precision, recall, _ = skm.precision_recall_curve(y_te, proba)
    pr = curves["precision_recall_curve"]["value"]
    assert len(precision) > 20 and len(pr) == 20  # really downsampled
    full = {(float(r), float(p)) for r, p in zip(recall, precision)}
    assert all(tuple(p) in full for p in pr)
    assert pr[0] == [float(recall[-1]), float(precision[-1])]
    assert pr[-1] == [float(recall[0]), float(precision[0])]

    imp = g["Feature importance"][0]
    coef = np.abs(binary_model[-1].coef_).mean(axis=0)
    top = np.argsort(-coef, kind="stable")[:20]
    assert imp["value"] == [float(coef[i]) for i in top]
    assert imp["x_axis_name"] == [str(binary_model.feature_names_in_[i]) for i in top]


def test_string_labels_use_classes_1_as_positive():
    from sklearn.tree import DecisionTreeClassifier

    rng = np.random.default_rng(1)
    X = pd.DataFrame({"a": rng.normal(size=300), "b": rng.normal(size=300)})
    y = pd.Series(np.where(X["a"] + 0.5 * rng.normal(size=300) > 0, "yes", "no"))
    model = DecisionTreeClassifier(max_depth=3, random_state=0).fit(X[:200], y[:200])
    c = card_from_session(model, "tree", train=(X[:200], y[:200]), test=(X[200:], y[200:]))
    pred = model.predict(X[200:])
    got = numbers(c)
    assert c["evaluation_details"][0]["metadata"]["positive_label"] == "yes"
    assert got["precision"] == skm.precision_score(y[200:], pred, pos_label="yes")
    assert got["recall"] == skm.recall_score(y[200:], pred, pos_label="yes")
    assert got["auc"] == skm.roc_auc_score(y[200:] == "yes", model.predict_proba(X[200:])[:, 1])
    hp = {h["name"]: h["value"] for h in c["training_details"]["training_job_details"]["hyper_parameters"]}
    assert hp["max_depth"] == "3" and hp["criterion"] == "gini"
    assert "pipeline_steps" not in c["additional_information"]["custom_details"]


def test_multiclass_metrics_equal_sklearn():
    from sklearn.datasets import load_iris
    from sklearn.ensemble import RandomForestClassifier
    from sklearn.model_selection import train_test_split

    X, y = load_iris(return_X_y=True)  # numpy, no feature names
    X_tr, X_te, y_tr, y_te = train_test_split(X, y, test_size=0.4, random_state=3)
    model = RandomForestClassifier(n_estimators=15, random_state=0).fit(X_tr, y_tr)
    c = card_from_session(model, "iris", train=(X_tr, y_tr), test=(X_te, y_te), datasets=["bio/iris"])
    validate(c)
    assert c["model_overview"]["problem_type"] == "MulticlassClassification"
    pred = model.predict(X_te)
    assert numbers(c) == {
        "accuracy": skm.accuracy_score(y_te, pred),
        "weighted_precision": skm.precision_score(y_te, pred, average="weighted", zero_division=0),
        "weighted_recall": skm.recall_score(y_te, pred, average="weighted", zero_division=0),
        "weighted_f1": skm.f1_score(y_te, pred, average="weighted", zero_division=0),
    }
    g = groups(c)
    assert g["Confusion matrix"][0]["value"] == skm.confusion_matrix(y_te, pred).tolist()
    assert g["Per-class F1"][0]["value"] == skm.f1_score(y_te, pred, average=None).tolist()
    assert "Curves" not in g
    assert g["Feature importance"][0]["x_axis_name"][0] in {"x0", "x1", "x2", "x3"}
    assert c["training_details"]["training_job_details"]["training_datasets"] == ["bio/iris"]
    assert "datasets" not in c["evaluation_details"][0]
    assert c["additional_information"]["custom_details"]["features"] == "x0, x1, x2, x3"


def test_regression_metrics_equal_sklearn():
    from sklearn.datasets import load_diabetes
    from sklearn.linear_model import Ridge

    X, y = load_diabetes(return_X_y=True, as_frame=True)
    model = Ridge(alpha=0.3).fit(X[:300], y[:300])
    c = card_from_session(model, "diabetes", train=(X[:300], y[:300]), test=(X[300:], y[300:]))
    validate(c)
    assert c["model_overview"]["problem_type"] == "Regression"
    pred = model.predict(X[300:])
    assert numbers(c) == {
        "mae": skm.mean_absolute_error(y[300:], pred),
        "mse": skm.mean_squared_error(y[300:], pred),
        "rmse": skm.root_mean_squared_error(y[300:], pred),
        "r2": skm.r2_score(y[300:], pred),
    }
    assert c["training_details"]["training_job_details"]["training_metrics"] == [
        {"name": "r2", "value": skm.r2_score(y[:300], model.predict(X[:300])), "notes": "on the training data"}]


def test_nested_composites_and_hyperparameter_limits():
    from sklearn.compose import ColumnTransformer
    from sklearn.ensemble import GradientBoostingClassifier
    from sklearn.impute import SimpleImputer
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import OneHotEncoder, StandardScaler

    rng = np.random.default_rng(0)
    X = pd.DataFrame({"num": rng.normal(size=120), "cat": rng.choice(["a", "b", "c"], size=120),
                      "other": rng.normal(size=120)})
    y = (X["num"] > 0).astype(int)
    pre = ColumnTransformer([
        ("nums", Pipeline([("impute", SimpleImputer()), ("scale", StandardScaler())]), ["num", "other"]),
        ("cats", OneHotEncoder(handle_unknown="ignore"), ["cat"]),
    ])
    model = Pipeline([("pre", pre), ("gb", GradientBoostingClassifier(n_estimators=5, random_state=0))]).fit(X, y)
    c = card_from_session(model, "nested", train=(X, y), test=(X, y))
    validate(c)
    hp = {h["name"]: h["value"] for h in c["training_details"]["training_job_details"]["hyper_parameters"]}
    assert hp["pre__nums"] == "Pipeline"
    assert hp["pre__nums__scale__with_std"] == "True"
    assert hp["pre__cats__handle_unknown"] == "ignore"
    assert hp["gb__n_estimators"] == "5"
    assert len(hp) <= 100
    imp = groups(c)["Feature importance"][0]
    names = list(model[:-1].get_feature_names_out())
    assert set(imp["x_axis_name"]) <= set(names)
    assert c["model_overview"]["algorithm_type"] == "GradientBoostingClassifier"


def test_long_parameter_values_are_cut_to_limits():
    from sklearn.preprocessing import FunctionTransformer

    model = FunctionTransformer(kw_args={"k" * 10: "v" * 500})
    c = card_from_session(model, "fn")
    hp = {h["name"]: h["value"] for h in c["training_details"]["training_job_details"]["hyper_parameters"]}
    assert len(hp["kw_args"]) == 255 and hp["kw_args"].endswith("…")
    assert "problem_type" not in c["model_overview"]
    assert "evaluation_details" not in c


def test_lineage_and_hash():
    from sklearn.linear_model import LinearRegression

    X = pd.DataFrame({"a": [1.0, 2.0, 3.0, 4.0], "b": [0.0, 1.0, 0.0, 1.0]})
    y = pd.Series([1.0, 2.1, 2.9, 4.2])
    model = LinearRegression().fit(X, y)
    c = card_from_session(model, "lin", train=(X, y), test=(X, y),
                          datasets={"training": ["p/train-a", "p/train-b"], "evaluation": "p/holdout"})
    assert c["training_details"]["training_job_details"]["training_datasets"] == ["p/train-a", "p/train-b"]
    assert c["evaluation_details"][0]["datasets"] == ["p/holdout"]
    assert data_hash(X, y) == data_hash(X.copy(), y.copy())
    assert data_hash(X, y) == data_hash(X.set_index(pd.Index([9, 8, 7, 6])), y)
    assert data_hash(X, y) != data_hash(X.assign(a=[1.0, 2.0, 3.0, 4.5]), y)
    assert data_hash(X, y) != data_hash(X.rename(columns={"a": "z"}), y)
    # the string dtype (object in pandas 2, str in pandas 3) does not change the hash
    texts = pd.DataFrame({"s": ["x", "y", None], "n": [1, 2, 3]})
    assert data_hash(texts.astype({"s": object})) == data_hash(texts.astype({"s": "string"}))
    assert data_hash(texts.astype({"s": object})) != data_hash(texts.assign(s=["x", "y", "z"]))
    assert data_hash(X.to_numpy()) == data_hash(X.to_numpy().copy())
    assert data_hash(X.to_numpy()) != data_hash(X.to_numpy()[::-1])
    with pytest.raises(Invalid, match="unknown key 'testing'"):
        card_from_session(model, "lin", datasets={"testing": ["x"]})
    with pytest.raises(Invalid, match="at most 15 training datasets"):
        card_from_session(model, "lin", datasets=[f"d{i}" for i in range(16)])
    no_data = card_from_session(model, "lin", datasets={"evaluation": ["p/holdout"]})
    assert no_data["evaluation_details"] == [{"name": "Evaluation datasets", "datasets": ["p/holdout"]}]


def test_git_commit_recorded(tmp_path, binary_model):
    if not shutil.which("git"):
        pytest.skip("git not installed")
    env = {**os.environ, "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.org",
           "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@example.org"}
    run = lambda *a: subprocess.run(["git", *a], cwd=tmp_path, env=env, check=True, capture_output=True, text=True)  # noqa: E731
    run("init", "-q")
    (tmp_path / "nb.ipynb").write_text("{}")
    run("add", "nb.ipynb")
    run("commit", "-q", "-m", "first")
    sha = run("rev-parse", "HEAD").stdout.strip()
    c = card_from_session(binary_model, "g", notebook_path=str(tmp_path / "nb.ipynb"))
    custom = c["additional_information"]["custom_details"]
    assert custom["git_commit"] == sha and custom["git_dirty"] == "false"
    (tmp_path / "nb.ipynb").write_text('{"changed": 1}')
    assert card_from_session(binary_model, "g", notebook_path=str(tmp_path / "nb.ipynb"))[
        "additional_information"]["custom_details"]["git_dirty"] == "true"
    outside = tmp_path.parent / (tmp_path.name + "-nogit")
    outside.mkdir()
    c = card_from_session(binary_model, "g", notebook_path=str(outside / "nb.ipynb"))
    assert "git_commit" not in c["additional_information"]["custom_details"]


class ThresholdModel:
    """Not scikit-learn: only predict."""

    def predict(self, X):
        return (np.asarray(X)[:, 0] > 0).astype(int)


def test_foreign_model_gets_what_can_be_read():
    X = np.array([[-1.0, 0.0], [1.0, 0.0], [2.0, 1.0], [-2.0, 1.0], [0.5, 0.0]])
    y = np.array([0, 1, 1, 0, 0])
    c = card_from_session(ThresholdModel(), "thresh", train=(X, y), test=(X, y))
    validate(c)
    assert c["model_overview"]["algorithm_type"] == "ThresholdModel"
    assert c["model_overview"]["problem_type"] == "BinaryClassification"
    assert "training_job_details" not in c.get("training_details", {}) or \
        "hyper_parameters" not in c["training_details"]["training_job_details"]
    pred = ThresholdModel().predict(X)
    got = numbers(c)
    assert got["accuracy"] == skm.accuracy_score(y, pred)
    assert "auc" not in got  # no scores to rank by
    assert c["additional_information"]["custom_details"]["features"] == "x0, x1"


def test_bad_input_raises_invalid(binary_model, binary_data):
    X_tr, X_te, y_tr, y_te = binary_data
    with pytest.raises(Invalid, match="invalid model card name"):
        card_from_session(binary_model, "bad name")
    with pytest.raises(Invalid, match="X has .* rows but y has"):
        card_from_session(binary_model, "ok", test=(X_te, y_te[:-1]))
    with pytest.raises(Invalid, match="pair"):
        card_from_session(binary_model, "ok", test=X_te)
    with pytest.raises(Invalid, match="could not evaluate"):
        card_from_session(binary_model, "ok", test=(X_te.iloc[:, :3], y_te))
    from sklearn.linear_model import LogisticRegression

    with pytest.raises(Invalid, match="NotFittedError"):
        card_from_session(LogisticRegression(), "ok", test=(X_te, y_te))
    with pytest.raises(Invalid, match="model is None"):
        card_from_session(None, "ok")


def test_infer_problem_type():
    from sklearn.linear_model import LinearRegression, LogisticRegression

    assert infer_problem_type(LinearRegression()) == "Regression"
    assert infer_problem_type(LogisticRegression(), [0, 1, 1]) == "BinaryClassification"
    assert infer_problem_type(LogisticRegression(), ["a", "b", "c"]) == "MulticlassClassification"
    assert infer_problem_type(ThresholdModel(), np.linspace(0, 1, 500)) == "Regression"
    assert infer_problem_type(ThresholdModel(), None) is None


def test_carry_over():
    prev = {"intended_uses": {"intended_uses": "old use", "risk_rating": "High"},
            "business_details": {"business_problem": "bp"},
            "additional_information": {"caveats_and_recommendations": "careful", "custom_details": {"a": "b"}}}
    new = {"intended_uses": {"intended_uses": "new use"}, "additional_information": {"custom_details": {"c": "d"}}}
    out = carry_over(new, prev)
    assert out["intended_uses"] == {"intended_uses": "new use", "risk_rating": "High"}
    assert out["business_details"] == {"business_problem": "bp"}
    assert out["additional_information"] == {"custom_details": {"c": "d"}, "caveats_and_recommendations": "careful"}
    assert new == {"intended_uses": {"intended_uses": "new use"}, "additional_information": {"custom_details": {"c": "d"}}}


def test_lightgbm_sklearn_interface():
    lgb = pytest.importorskip("lightgbm")
    from sklearn.datasets import load_breast_cancer

    X, y = load_breast_cancer(return_X_y=True, as_frame=True)
    model = lgb.LGBMClassifier(n_estimators=20, num_leaves=7, verbose=-1).fit(X[:400], y[:400])
    c = card_from_session(model, "lgbm", train=(X[:400], y[:400]), test=(X[400:], y[400:]))
    validate(c)
    assert c["model_overview"]["algorithm_type"] == "LGBMClassifier"
    assert c["model_overview"]["problem_type"] == "BinaryClassification"
    hp = {h["name"]: h["value"] for h in c["training_details"]["training_job_details"]["hyper_parameters"]}
    assert hp["n_estimators"] == "20" and hp["num_leaves"] == "7"
    assert f"lightgbm=={lgb.__version__}" in c["additional_information"]["custom_details"]["libraries"]
    pred = model.predict(X[400:])
    assert numbers(c)["f1"] == skm.f1_score(y[400:], pred)
    assert numbers(c)["auc"] == skm.roc_auc_score(y[400:], model.predict_proba(X[400:])[:, 1])


def test_many_classes_and_single_class_test_data():
    from sklearn.neighbors import KNeighborsClassifier

    rng = np.random.default_rng(0)
    X = rng.normal(size=(500, 3))
    y = rng.integers(0, 25, size=500)
    model = KNeighborsClassifier(n_neighbors=3).fit(X, y)
    c = card_from_session(model, "many", test=(X, y))
    validate(c)
    g = groups(c)
    assert "Confusion matrix" not in g and "Per-class F1" not in g
    assert "25 classes" in c["evaluation_details"][0]["metadata"]["confusion_matrix"]
    assert numbers(c)["accuracy"] == skm.accuracy_score(y, model.predict(X))

    yb = (X[:, 0] > 0).astype(int)
    binary = KNeighborsClassifier(n_neighbors=3).fit(X, yb)
    only_pos = yb == 1
    c = card_from_session(binary, "one-class", test=(X[only_pos], yb[only_pos]))
    validate(c)
    got = numbers(c)
    assert "auc" not in got and "Curves" not in groups(c)  # undefined with one class, not NaN
    assert got["recall"] == skm.recall_score(yb[only_pos], binary.predict(X[only_pos]))


def test_auc_from_decision_function_when_no_probabilities(binary_data):
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler
    from sklearn.svm import LinearSVC

    X_tr, X_te, y_tr, y_te = binary_data
    model = make_pipeline(StandardScaler(), LinearSVC(C=0.1)).fit(X_tr, y_tr)
    assert not hasattr(model, "predict_proba")
    c = card_from_session(model, "svm", test=(X_te, y_te))
    assert numbers(c)["auc"] == skm.roc_auc_score(y_te, model.decision_function(X_te))
    assert c["model_overview"]["algorithm_type"] == "LinearSVC"
