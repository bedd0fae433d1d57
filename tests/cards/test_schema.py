import copy
import json

import jsonschema
import pytest

from mlgov_jupyter.core.cards import (
    MAX_CONTENT_CHARS,
    load_schema,
    validate,
    validate_card_name,
    validate_status,
)
from mlgov_jupyter.core.errors import Invalid


def _invalid(content, *fragments):
    with pytest.raises(Invalid) as e:
        validate(content)
    msg = str(e.value)
    assert "\n" not in msg
    for f in fragments:
        assert f in msg, msg
    return msg


def test_schema_is_draft07_and_closed_everywhere():
    schema = load_schema()
    jsonschema.Draft7Validator.check_schema(schema)
    assert schema["$schema"].startswith("http://json-schema.org/draft-07/")
    assert set(schema["properties"]) == {"model_overview", "model_package_details", "intended_uses", "business_details",
                                         "training_details", "evaluation_details", "additional_information"}

    open_objects = []

    def walk(node, path):
        if isinstance(node, dict):
            if "properties" in node and node.get("type") == "object" and node.get("additionalProperties") is not False:
                open_objects.append(path)
            for k, v in node.items():
                walk(v, f"{path}/{k}")
        elif isinstance(node, list):
            for i, v in enumerate(node):
                walk(v, f"{path}/{i}")

    walk(schema, "#")
    # the metric dispatcher is closed by the per-type subschema it selects
    assert open_objects == ["#/definitions/metric"]


def test_full_content_validates(full_content):
    validate(full_content)
    jsonschema.Draft7Validator(load_schema()).validate(full_content)


@pytest.mark.parametrize("path", [
    [], ["model_overview"], ["model_overview", "inference_environment"], ["intended_uses"],
    ["business_details"], ["training_details"], ["training_details", "objective_function"],
    ["training_details", "objective_function", "function"], ["training_details", "training_job_details"],
    ["training_details", "training_job_details", "training_environment"],
    ["training_details", "training_job_details", "hyper_parameters", 0],
    ["training_details", "training_job_details", "training_metrics", 0],
    ["evaluation_details", 0], ["evaluation_details", 0, "metric_groups", 0],
    ["evaluation_details", 0, "metric_groups", 0, "metric_data", 0],
    ["evaluation_details", 0, "metric_groups", 1, "metric_data", 0],
    ["additional_information"],
])
def test_unknown_keys_rejected_at_every_level(full_content, path):
    node = full_content
    for p in path:
        node = node[p]
    node["surprise"] = "x"
    _invalid(full_content, "surprise")


def _metric(content, group_name):
    for g in content["evaluation_details"][0]["metric_groups"]:
        if g["name"] == group_name:
            return g["metric_data"][0]
    raise KeyError(group_name)


def test_enums(full_content):
    c = copy.deepcopy(full_content)
    c["intended_uses"]["risk_rating"] = "Extreme"
    _invalid(c, "$.intended_uses.risk_rating", "Extreme")
    c = copy.deepcopy(full_content)
    c["training_details"]["objective_function"]["function"]["function"] = "Maximise"
    _invalid(c, "$.training_details.objective_function.function.function")
    c = copy.deepcopy(full_content)
    _metric(c, "Confusion matrix")["type"] = "heatmap"
    _invalid(c, "metric_data[0].type")
    for risk in ("High", "Medium", "Low", "Unknown"):
        c = copy.deepcopy(full_content)
        c["intended_uses"]["risk_rating"] = risk
        validate(c)


def test_string_limits(full_content):
    for section, field, limit in [("model_overview", "model_description", 1024),
                                  ("intended_uses", "intended_uses", 2048),
                                  ("business_details", "business_problem", 2048),
                                  ("additional_information", "caveats_and_recommendations", 2048)]:
        c = copy.deepcopy(full_content)
        c[section][field] = "x" * limit
        validate(c)
        c[section][field] = "x" * (limit + 1)
        _invalid(c, f"$.{section}.{field}", "too long")
    c = copy.deepcopy(full_content)
    # AWS's pattern ".{1,63}" is not anchored: one character is needed, longer names are valid
    c["evaluation_details"][0]["name"] = "n" * 90
    validate(c)
    c["evaluation_details"][0]["name"] = ""
    _invalid(c, "$.evaluation_details[0].name", "must not be empty")
    c["evaluation_details"][0]["name"] = "\n"
    _invalid(c, "$.evaluation_details[0].name")
    c = copy.deepcopy(full_content)
    c["evaluation_details"][0]["evaluation_observation"] = "o" * 2097
    _invalid(c, "evaluation_observation")


def test_array_limits(full_content):
    job = ["training_details", "training_job_details"]
    cases = [
        (["model_overview", "model_artifact"], "a", 15),
        (job + ["training_datasets"], "d", 15),
        (["evaluation_details", 0, "datasets"], "d", 10),
        (job + ["hyper_parameters"], {"name": "p", "value": "1"}, 100),
        (job + ["training_metrics"], {"name": "m", "value": 1.0}, 50),
    ]
    for path, item, limit in cases:
        c = copy.deepcopy(full_content)
        node = c
        for p in path[:-1]:
            node = node[p]
        node[path[-1]] = [copy.deepcopy(item) for _ in range(limit)]
        validate(c)
        node[path[-1]].append(copy.deepcopy(item))
        _invalid(c, "too long")


def test_metric_value_shapes(full_content):
    c = copy.deepcopy(full_content)
    roc = _metric(c, "Curves")
    assert roc["type"] == "linear_graph"
    roc["value"] = [[i / 144, i / 144] for i in range(144)]  # AWS sets no maximum
    validate(c)
    roc["value"] = [[0.1, 0.2, 0.3]]
    _invalid(c, "metric_data[0].value[0]")
    roc["value"] = []
    _invalid(c, "metric_data[0].value")

    c = copy.deepcopy(full_content)
    cm = _metric(c, "Confusion matrix")
    cm["value"] = [[1.0] * 20 for _ in range(20)]
    validate(c)
    cm["value"].append([1.0] * 20)
    _invalid(c, "too long")
    cm["value"] = [[1.0] * 21 for _ in range(3)]
    _invalid(c, "metric_data[0].value[", "21 items, at most 20")
    cm["value"] = [[1.0, 2.0], [3.0]]
    _invalid(c, "same length")

    c = copy.deepcopy(full_content)
    bar = _metric(c, "Feature importance")
    bar["value"] = [1.0] * 21
    validate(c)
    bar["value"] = ["a"]
    _invalid(c, "is not of type 'number'")

    c = copy.deepcopy(full_content)
    extra = c["evaluation_details"][0]["metric_groups"][-1]["metric_data"]
    extra[1]["value"] = "s" * 64
    _invalid(c, "metric_data[1].value")
    extra[1]["value"] = "s" * 63
    validate(c)
    # AWS's simple_metric takes a number, a string (<= 63) or a boolean whatever its type
    extra[0]["value"] = "yes"
    validate(c)
    extra[0]["value"] = [1]
    _invalid(c, "metric_data[0].value")
    c = copy.deepcopy(full_content)
    number = c["evaluation_details"][0]["metric_groups"][0]["metric_data"][0]
    number["value"] = True
    validate(c)
    number["value"] = {"a": 1}
    _invalid(c, "metric_data[0].value")


def test_other_rules(full_content):
    c = copy.deepcopy(full_content)
    c["model_overview"]["model_version"] = 0
    _invalid(c, "$.model_overview.model_version")
    c = copy.deepcopy(full_content)
    c["additional_information"]["custom_details"]["n"] = 3
    _invalid(c, "$.additional_information.custom_details.n")
    c = copy.deepcopy(full_content)
    c["evaluation_details"][0]["metadata"]["weird key"] = 1
    _invalid(c, '$.evaluation_details[0].metadata["weird key"]')
    c = copy.deepcopy(full_content)
    c["evaluation_details"][0]["metric_groups"][0]["metric_data"][0]["value"] = float("nan")
    _invalid(c, "finite")
    c = copy.deepcopy(full_content)
    del c["evaluation_details"][0]["name"]
    _invalid(c, "'name' is a required property")
    _invalid([], "JSON object")
    validate({})


def test_total_size_limit():
    custom = {f"k{i}": "v" * 1000 for i in range(99)}
    content = {"additional_information": {"custom_details": custom}}
    assert len(json.dumps(content, separators=(",", ":"))) < MAX_CONTENT_CHARS
    validate(content)
    custom["k99"] = "v" * 1000
    msg = _invalid(content, "limit is 100000")
    assert "characters" in msg


def test_card_names_and_status():
    for ok in ("a", "model-1", "A--b", "x" * 63, "9"):
        assert validate_card_name(ok) == ok
    for bad in ("", "-a", "a-", "a_b", "a b", "x" * 64, "é", None, 5):
        with pytest.raises(Invalid):
            validate_card_name(bad)
    assert validate_status("PendingReview") == "PendingReview"
    with pytest.raises(Invalid):
        validate_status("Pending")


# ---------------------------------------------------------------- cards the SageMaker Python SDK writes
# Files of tests/fixtures/sagemaker_sdk (Apache-2.0, unchanged from aws/sagemaker-python-sdk at 35484d21).

import pathlib  # noqa: E402

SDK = pathlib.Path(__file__).resolve().parents[1] / "fixtures" / "sagemaker_sdk" / "model_card"


def _sdk_groups(name):
    return json.loads((SDK / "evaluation_metrics" / name).read_text())["metric_groups"]


@pytest.mark.parametrize("name", sorted(p.name for p in (SDK / "evaluation_metrics").glob("translated_*.json")))
def test_sdk_translated_metric_groups_are_valid(name):
    groups = _sdk_groups(name)
    content = {"evaluation_details": [{"name": "sdk", "metric_groups": groups}]}
    validate(content)
    jsonschema.Draft7Validator(load_schema()).validate(content)


def test_long_metric_group_names_from_the_sdk_parsers():
    names = [g["name"] for n in ("translated_clarify_bias.json", "translated_clarify_explanation.json")
             for g in _sdk_groups(n)]
    assert max(map(len, names)) == 75 and "post_training_bias_metrics - label Target = 1 and facet Gender=0" in names
    long_name = "post_training_bias_metrics - label Target = 1 and facet Gender=0 and age bracket=7"
    assert len(long_name) == 82
    validate({"evaluation_details": [{"name": "bias", "metric_groups": [
        {"name": long_name, "metric_data": [{"name": "DPPL", "type": "number", "value": 0.1}]}]}]})


def test_a_scikit_learn_pr_curve_of_144_points_through_the_sdk_binary_parser_shape():
    from sklearn.metrics import precision_recall_curve

    rng = __import__("numpy").random.default_rng(0)
    y = rng.integers(0, 2, 300)
    score = rng.random(300).round(2) * 0.7 + y * 0.3
    precision, recall, _ = precision_recall_curve(y, score)
    assert len(precision) >= 100
    groups = copy.deepcopy(_sdk_groups("translated_model_monitor_model_quality_binary_classification.json"))
    pr = next(m for m in groups[0]["metric_data"] if m["name"] == "precision_recall_curve")
    pr["value"] = [[float(r), float(p)] for r, p in zip(recall, precision)]
    validate({"evaluation_details": [{"name": "model quality", "metric_groups": groups}]})


def test_model_package_details_as_the_sdk_writes_them():
    from mlgov_jupyter.core.cards import parse_sagemaker

    # the content of the SDK's MODEL_CARD_WITH_MODEL_PACKAGE_MOCK_RESPONSE (tests/unit/test_model_card.py)
    arn = "arn:aws:sagemaker:us-west-2:001234567890:model-package/testmodelgroup/1"
    content = {
        "model_overview": {"model_id": arn},
        "model_package_details": {
            "model_package_arn": arn, "model_package_name": "model_package_name",
            "model_package_group_name": "testmodelgroup", "model_package_version": 1,
            "model_package_description": "this is test model package",
            "inference_specification": {"containers": [
                {"image": "test model container image", "model_data_url": "s3://test",
                 "nearest_model_name": "test-model"}]},
            "model_package_status": "Pending", "model_approval_status": "PendingManualApproval",
            "approval_description": "approval_description", "created_by": {"user_profile_name": "test-user"},
            "domain": "domain", "task": "task",
            "source_algorithms": [{"algorithm_name": "test-algorithm-arn", "model_data_url": "s3://test"}],
        },
        "training_details": {"training_job_details": {"hyper_parameters": [
            {"name": "eval_metric", "value": ""}, {"name": "num_round", "value": "10"}]}},
    }
    validate(content)
    body = {"ModelCardName": "mp-card", "ModelCardVersion": 1, "Content": json.dumps(content)}
    assert parse_sagemaker(body)["content"] == content
    for path, bad, fragment in [
        (["model_package_details", "surprise"], "x", "surprise"),
        (["model_package_details", "model_approval_status"], "Maybe", "model_approval_status"),
        (["model_package_details", "inference_specification", "containers"], [{"model_data_url": "s3://x"}], "image"),
    ]:
        c = copy.deepcopy(content)
        node = c
        for p in path[:-1]:
            node = node[p]
        node[path[-1]] = bad
        _invalid(c, fragment)


def test_hyperparameter_values_follow_aws_pattern(full_content):
    c = copy.deepcopy(full_content)
    hp = c["training_details"]["training_job_details"]["hyper_parameters"]
    hp[0]["value"] = ""  # AWS: ".{0,255}" (any string)
    validate(c)
    hp[0]["name"] = ""
    _invalid(c, "hyper_parameters[0].name", "must not be empty")
