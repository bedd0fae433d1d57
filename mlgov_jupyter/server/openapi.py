"""The OpenAPI 3 document, generated from the route table and the contract models."""

from __future__ import annotations

import re

from .. import __version__
from .. import api

ERRORS = {"400": "Invalid input", "403": "Forbidden", "404": "Not found", "409": "Conflict"}


def _path(route_path: str) -> str:
    return "/" + api.BASE + re.sub(r"\(\?P<(\w+)>[^)]*\)", r"{\1}", route_path)


REF = "#/components/schemas/{model}"


def _schema(model, components: dict) -> dict:
    """The model's JSON schema, its nested models hoisted into components."""
    schema = model.model_json_schema(ref_template=REF)
    components.update(schema.pop("$defs", {}))
    return schema


def openapi_document(base_url: str = "/") -> dict:
    paths: dict = {}
    components: dict = {"Error": {"type": "object", "required": ["message"],
                                  "properties": {"message": {"type": "string"}}}}
    for route in api.ROUTES:
        op: dict = {"operationId": f"{route.method.lower()}_{route.resource}", "summary": route.summary,
                    "parameters": [], "responses": {},
                    "x-mlgov-action": route.action, "x-mlgov-project-scoped": route.scoped}
        for name in re.findall(r"\(\?P<(\w+)>", route.path):
            op["parameters"].append({"name": name, "in": "path", "required": True,
                                     "schema": {"type": "integer" if name == "id" else "string"}})
        if route.query is not None:
            schema = _schema(route.query, components)
            for name, prop in schema.get("properties", {}).items():
                op["parameters"].append({"name": name, "in": "query", "required": False,
                                         "schema": prop})
        if route.body is not None:
            op["requestBody"] = {"required": True, "content": {
                "application/json": {"schema": _schema(route.body, components)}}}
        content = ({"application/octet-stream": {"schema": {"type": "string", "format": "binary"}}}
                   if route.binary else {"application/json": {"schema": {"type": "object"}}})
        op["responses"][str(route.status)] = {"description": "OK", "content": content}
        for code, text in ERRORS.items():
            op["responses"][code] = {"description": text, "content": {"application/json": {
                "schema": {"$ref": "#/components/schemas/Error"}}}}
        paths.setdefault(_path(route.path), {})[route.method.lower()] = op
    paths["/" + api.BASE + "openapi.json"] = {"get": {
        "operationId": "get_openapi", "summary": "This document",
        "responses": {"200": {"description": "OK"}}}}
    return {"openapi": "3.0.3",
            "info": {"title": "mlgov-jupyter governance API", "version": __version__},
            "servers": [{"url": base_url}],
            "components": {
                "schemas": components,
                "securitySchemes": {"token": {"type": "apiKey", "in": "header",
                                              "name": "Authorization"}}},
            "security": [{"token": []}],
            "paths": paths}
