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
    assert set(schema["properties"]) == {"model_overview", "intended_uses", "business_details",
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
    c["evaluation_details"][0]["name"] = "n" * 64
    _invalid(c, "$.evaluation_details[0].name")
    c["evaluation_details"][0]["name"] = ""
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
    roc["value"] = [[i / 20, i / 20] for i in range(20)]
    validate(c)
    roc["value"].append([1.0, 1.0])
    _invalid(c, "metric_data[0].value", "too long")
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
    _invalid(c, "too long")
    bar["value"] = ["a"]
    _invalid(c, "is not of type 'number'")

    c = copy.deepcopy(full_content)
    extra = c["evaluation_details"][0]["metric_groups"][-1]["metric_data"]
    extra[1]["value"] = "s" * 64
    _invalid(c, "metric_data[1].value")
    extra[1]["value"] = "s" * 63
    validate(c)
    extra[0]["value"] = "yes"  # boolean metric with a string value
    _invalid(c, "metric_data[0].value")
    c = copy.deepcopy(full_content)
    number = c["evaluation_details"][0]["metric_groups"][0]["metric_data"][0]
    number["value"] = True
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
