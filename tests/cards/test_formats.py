import copy
import json

import pytest
import yaml

from mlgov_jupyter.core.cards import (
    diff,
    export_sagemaker_json,
    format_diff,
    import_sagemaker_json,
    parse_sagemaker,
    sagemaker_create_request,
    to_markdown,
    validate,
)
from mlgov_jupyter.core.errors import Invalid


def test_sagemaker_round_trip_is_lossless(full_content):
    text = export_sagemaker_json(full_content)
    back = import_sagemaker_json(text)
    assert back == full_content
    assert diff(full_content, back) == []
    # types survive too (ints stay ints, bools stay bools)
    assert json.dumps(back, sort_keys=True) == json.dumps(full_content, sort_keys=True)
    assert export_sagemaker_json(back) == text


def test_sagemaker_request_and_describe_shapes(full_content):
    req = sagemaker_create_request({"name": "cancer-screen", "status": "Approved", "content": full_content})
    assert req["ModelCardName"] == "cancer-screen" and req["ModelCardStatus"] == "Approved"
    assert isinstance(req["Content"], str) and json.loads(req["Content"]) == full_content
    described = {**req, "ModelCardVersion": 3, "ModelCardArn": "arn:aws:sagemaker:x:1:model-card/cancer-screen"}
    parsed = parse_sagemaker(json.dumps(described))
    assert parsed == {"content": full_content, "name": "cancer-screen", "status": "Approved", "version": 3}
    assert import_sagemaker_json(described) == full_content
    assert import_sagemaker_json(json.dumps(full_content).encode()) == full_content


def test_import_rejects_bad_input(full_content):
    with pytest.raises(Invalid, match="the card is not valid JSON"):
        import_sagemaker_json("{nope")
    with pytest.raises(Invalid, match="JSON object"):
        import_sagemaker_json("[1]")
    bad = copy.deepcopy(full_content)
    bad["intended_uses"]["risk_rating"] = "Severe"
    with pytest.raises(Invalid, match=r"\$\.intended_uses\.risk_rating"):
        import_sagemaker_json(json.dumps(bad))
    with pytest.raises(Invalid, match="invalid model card name"):
        parse_sagemaker({"ModelCardName": "bad name", "Content": "{}"})
    with pytest.raises(Invalid, match="status"):
        parse_sagemaker({"ModelCardName": "ok", "Content": "{}", "ModelCardStatus": "Done"})
    with pytest.raises(Invalid):
        export_sagemaker_json(bad)


def test_markdown_front_matter_and_sections(full_content):
    card = {"name": "cancer-screen", "status": "Approved", "version": 4, "content": full_content}
    md = to_markdown(card)
    assert md.startswith("---\n")
    _, front, body = md.split("---\n", 2)
    meta = yaml.safe_load(front)
    assert meta["library_name"] == "sklearn"
    assert "tabular-classification" in meta["tags"]
    assert meta["datasets"] == ["clinic/cancer-train", "clinic/cancer-test"]
    assert meta["mlgov"] == {"name": "cancer-screen", "version": 4, "status": "Approved"}
    result = meta["model-index"][0]["results"][0]
    assert meta["model-index"][0]["name"] == "cancer-screen"
    assert result["dataset"]["name"] == "clinic/cancer-test"
    ev_numbers = {m["name"]: m["value"] for g in full_content["evaluation_details"][0]["metric_groups"]
                  for m in g["metric_data"] if m["type"] == "number"}
    assert {m["type"]: m["value"] for m in result["metrics"]} == ev_numbers
    for heading in ("# Model card for cancer-screen", "## Model details", "## Uses", "### Risk",
                    "## Business details", "## Training details", "### Hyperparameters", "## Evaluation",
                    "#### Confusion matrix", "## Bias, risks, and limitations", "## Additional information"):
        assert heading + "\n" in body, heading
    assert "- **Risk rating:** High" in body
    assert "Not for paediatric use." in body
    assert "| clf__C | 0.5 |" in body
    cm = full_content["evaluation_details"][0]["metric_groups"][1]["metric_data"][0]["value"]
    assert f"| 0 | {int(cm[0][0])} | {int(cm[0][1])} |" in body


def test_markdown_escapes_html(full_content):
    c = copy.deepcopy(full_content)
    c["intended_uses"]["intended_uses"] = "<script>alert('x')</script> | <img src=x onerror=alert(1)>"
    c["additional_information"]["custom_details"]["<b>k</b>"] = "<iframe>"
    md = to_markdown({"name": "m", "content": c})
    assert "<script>" not in md and "<img" not in md and "<iframe>" not in md and "<b>" not in md
    assert "&lt;script&gt;alert('x')&lt;/script&gt;" in md
    assert "| &lt;b&gt;k&lt;/b&gt; | &lt;iframe&gt; |" in md


def test_markdown_of_bare_content():
    md = to_markdown({"model_overview": {"model_name": "tiny"}})
    assert "# Model card for tiny" in md
    assert yaml.safe_load(md.split("---\n")[1])["tags"] == ["mlgov"]


def test_diff_between_versions(full_content):
    a = copy.deepcopy(full_content)
    b = copy.deepcopy(full_content)
    b["intended_uses"]["risk_rating"] = "Low"
    del b["business_details"]["line_of_business"]
    b["additional_information"]["custom_details"]["reviewer note"] = "ok"
    hp = b["training_details"]["training_job_details"]["hyper_parameters"]
    next(h for h in hp if h["name"] == "clf__C")["value"] = "2.0"
    hp.insert(0, {"name": "zz_new", "value": "1"})
    cm = b["evaluation_details"][0]["metric_groups"][1]["metric_data"][0]
    cm["value"][0][0] += 1
    changes = diff(a, b)
    by_path = {c["path"]: c for c in changes}
    assert by_path["intended_uses.risk_rating"] == {"path": "intended_uses.risk_rating", "op": "changed",
                                                   "old": "High", "new": "Low"}
    assert by_path["business_details.line_of_business"]["op"] == "removed"
    assert by_path["business_details.line_of_business"]["old"] == "Diagnostics"
    assert by_path['additional_information.custom_details["reviewer note"]'] == {
        "path": 'additional_information.custom_details["reviewer note"]', "op": "added", "old": None, "new": "ok"}
    hp_path = "training_details.training_job_details.hyper_parameters"
    assert by_path[f"{hp_path}[name=clf__C].value"]["new"] == "2.0"
    assert by_path[f"{hp_path}[name=zz_new]"]["op"] == "added"
    assert f"{hp_path} (order)" not in by_path  # an insertion keeps the others' order
    # a chart's data is one change (the whole matrix), not one per cell
    cm_path = "evaluation_details[name=Test data evaluation].metric_groups[name=Confusion matrix].metric_data[name=confusion_matrix].value"
    assert by_path[cm_path]["new"][0][0] == by_path[cm_path]["old"][0][0] + 1
    assert len(changes) == 6
    text = format_diff(changes)
    assert "~ intended_uses.risk_rating: 'High' -> 'Low'" in text
    assert "- business_details.line_of_business: 'Diagnostics'" in text
    assert format_diff(diff(a, a)) == "(no changes)"
    assert diff({"m": {"v": 1}}, {"m": {"v": 1.0}}) == []
    assert diff({"m": {"v": 1}}, {"m": {"v": True}})[0]["op"] == "changed"
    assert diff({}, {"x": [1]}) == [{"path": "x", "op": "added", "old": None, "new": [1]}]
    assert diff({"x": ["a", "b"]}, {"x": ["a"]}) == [{"path": "x[1]", "op": "removed", "old": "b", "new": None}]
    assert diff({"x": [1, 2]}, {"x": [1]}) == [{"path": "x", "op": "changed", "old": [1, 2], "new": [1]}]
    validate(b)
    swapped = copy.deepcopy(a)
    hp = swapped["training_details"]["training_job_details"]["hyper_parameters"]
    hp[0], hp[1] = hp[1], hp[0]
    assert [c["path"] for c in diff(a, swapped)] == [f"{hp_path} (order)"]


def test_diff_summarises_curves_and_rounds():
    """Issue 13 item 3: a curve's 87 points are one line, numbers have 4 significant digits."""
    from mlgov_jupyter.core.cards import describe

    roc = [[i / 86, (i / 86) ** 0.5] for i in range(87)]
    a = {"m": [{"name": "roc", "type": "linear_graph", "value": roc},
               {"name": "acc", "type": "number", "value": 0.912345678}],
         "bars": [1.5, 2.5], "cm": {"type": "matrix", "value": [[50, 3], [4, 43]]}}
    b = copy.deepcopy(a)
    b["m"][0]["value"] = [[x, min(1.0, y + 0.01)] for x, y in roc]
    b["m"][1]["value"] = 0.9187654321
    b["bars"] = [1.5, 2.5, 3.5]
    b["cm"]["value"][0][0] = 51
    b["extra"] = [[0.0, 0.123456789], [1.0, 1.0]]
    changes = diff(a, b)
    assert [c["path"] for c in changes] == ["m[name=roc].value", "m[name=acc].value", "bars", "cm.value", "extra"]
    d = {c["path"]: describe(c) for c in changes}
    assert d["m[name=roc].value"]["summary"] == "changed, 87 points"
    assert d["m[name=roc].value"]["new"] == b["m"][0]["value"]  # the data stays exact
    assert (d["m[name=acc].value"]["old_text"], d["m[name=acc].value"]["new_text"]) == ("0.9123", "0.9188")
    assert "summary" not in d["m[name=acc].value"]
    assert d["bars"]["summary"] == "changed, 2 values → 3 values"
    assert d["cm.value"]["summary"] == "changed, 2×2 matrix"
    assert d["extra"]["summary"] == "2 points" and d["extra"]["old_text"] is None
    # more digits only where 4 would make old and new look equal
    close = describe({"path": "x", "op": "changed", "old": 0.91231, "new": 0.91234})
    assert (close["old_text"], close["new_text"]) == ("0.91231", "0.91234")
    nested = describe({"path": "x", "op": "added", "old": None, "new": {"auc": 0.987654321, "n": [1, "a"]}})
    assert nested["new_text"] == '{"auc": 0.9877, "n": [1, "a"]}'
    text = format_diff(changes)
    assert text.splitlines()[0] == "~ m[name=roc].value: changed, 87 points"
    assert "~ m[name=acc].value: 0.9123 -> 0.9188" in text
    assert "+ extra: 2 points" in text
    assert len(text.splitlines()) == 5


def test_model_package_card_round_trips_and_renders_to_markdown():
    """A card the SageMaker SDK writes for a model package (its unit test's content)."""
    arn = "arn:aws:sagemaker:us-west-2:001234567890:model-package/testmodelgroup/1"
    content = {
        "model_overview": {"model_id": arn},
        "model_package_details": {
            "model_package_arn": arn, "model_package_name": "model_package_name",
            "model_package_group_name": "testmodelgroup", "model_package_version": 1,
            "model_package_description": "this is test model package",
            "inference_specification": {"containers": [{"image": "test model container image",
                                                        "model_data_url": "s3://test",
                                                        "nearest_model_name": "test-model"}]},
            "model_package_status": "Pending", "model_approval_status": "PendingManualApproval",
            "approval_description": "approval_description", "created_by": {"user_profile_name": "test-user"},
            "domain": "domain", "task": "task",
            "source_algorithms": [{"algorithm_name": "test-algorithm-arn", "model_data_url": "s3://test"}],
        },
    }
    assert import_sagemaker_json(export_sagemaker_json(content)) == content
    md = to_markdown({"name": "mp-card", "content": content})
    assert "## Model package" in md and "testmodelgroup" in md and "PendingManualApproval" in md
    assert "s3://test" in md and "test-user" in md
