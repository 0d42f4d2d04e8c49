"""LINE's official OpenAPI documents turned into strict request validators.

openapi-core checks paths, methods, parameters, headers and the Bearer scheme, but it does not
follow `discriminator` mappings (a `{"type": "text"}` message without `text` passes), so request
and webhook bodies are also checked here with jsonschema on the spec's own component schemas:
every schema with a discriminator becomes "the base schema AND the schema its mapping names",
so `Message`, `Action`, `Event`, ... are validated as the concrete type LINE would parse.

A few limits are documented in LINE's reference but absent from the YAML (quick reply labels
of at most 20 characters, 5000-character texts, ...). They are added as an explicit overlay,
each with the reference section it comes from, so the stand-in rejects what LINE rejects.
"""

from __future__ import annotations

import copy
import json
import os
import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import yaml
from jsonschema import Draft202012Validator, FormatChecker

# The official documents (github.com/line/line-openapi, Apache-2.0; commit in SOURCE), vendored
# so the tests run anywhere; MADOGUCHI_LINE_SPEC_DIR points at another copy to re-check.
SPEC_DIR = Path(os.environ.get("MADOGUCHI_LINE_SPEC_DIR", Path(__file__).parent / "specs" / "line-openapi"))
MESSAGING_SPEC = SPEC_DIR / "messaging-api.yml"
WEBHOOK_SPEC = SPEC_DIR / "webhook.yml"

_REF = "#/components/schemas/"
_DROP = {"discriminator", "example", "examples", "externalDocs", "xml", "nullable", "readOnly"}

# Limits from https://developers.line.biz/en/reference/messaging-api/ that the YAML omits.
_OVERLAY: dict[str, dict[str, Any]] = {
    # "Text message: text ... Max character limit: 5000"
    "TextMessage": {"properties": {"text": {"type": "string", "minLength": 1, "maxLength": 5000}}},
    # "Quick reply: items ... Max: 13 quick reply button objects" (maxItems is in the YAML;
    # the array itself is required and must not be empty)
    "QuickReply": {"required": ["items"], "properties": {"items": {"minItems": 1}}},
    # "Quick reply button object: action (required) ... label: Max character limit: 20"
    "QuickReplyItem": {
        "required": ["action"],
        "properties": {
            "type": {"const": "action"},
            "action": {
                "required": ["label"],
                "properties": {"label": {"type": "string", "minLength": 1, "maxLength": 20}},
            },
        },
    },
    # "Postback action: displayText ... Max character limit: 300"; "Message action: text ...
    # Max character limit: 300"
    "PostbackAction": {"properties": {"displayText": {"type": "string", "maxLength": 300}}},
    "MessageAction": {
        "required": ["text"],
        "properties": {"text": {"type": "string", "minLength": 1, "maxLength": 300}},
    },
    # "loadingSeconds ... must be a multiple of 5"
    "ShowLoadingAnimationRequest": {"properties": {"loadingSeconds": {"multipleOf": 5}}},
}


def _convert(node: Any) -> Any:
    """OpenAPI 3.0 schema object -> JSON Schema 2020-12 (enough for LINE's documents)."""
    if isinstance(node, list):
        return [_convert(v) for v in node]
    if not isinstance(node, dict):
        return node
    out = {k: _convert(v) for k, v in node.items() if k not in _DROP}
    if node.get("nullable") and isinstance(out.get("type"), str):
        out["type"] = [out["type"], "null"]
    return out


def _rewrite_refs(node: Any, old: str, new: str) -> Any:
    if isinstance(node, list):
        return [_rewrite_refs(v, old, new) for v in node]
    if isinstance(node, dict):
        if node.get("$ref") == old:
            return {**node, "$ref": new}
        return {k: _rewrite_refs(v, old, new) for k, v in node.items()}
    return node


def build_schemas(raw: dict[str, Any], overlay: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """Component schemas with discriminators resolved and the documented limits added."""
    src: dict[str, Any] = raw["components"]["schemas"]
    out: dict[str, Any] = {name: _convert(s) for name, s in src.items()}
    for name, schema in src.items():
        disc = schema.get("discriminator")
        if not disc or not disc.get("mapping"):
            continue
        base = f"{name}__base"
        prop = disc["propertyName"]
        out[base] = out[name]
        # Subtypes extend the base through allOf: point them at the base, not at the dispatcher.
        for target in disc["mapping"].values():
            tname = target.removeprefix(_REF)
            out[tname] = _rewrite_refs(out[tname], _REF + name, _REF + base)
        out[name] = {
            "allOf": [
                {"$ref": _REF + base},
                *(
                    {
                        "if": {"properties": {prop: {"const": key}}, "required": [prop]},
                        "then": {"$ref": target},
                    }
                    for key, target in disc["mapping"].items()
                ),
            ],
            "required": [prop],
            "properties": {prop: {"enum": sorted(disc["mapping"])}},
        }
    for name, extra in overlay.items():
        out[name] = {"allOf": [out[name], extra]}
    return out


@dataclass(frozen=True)
class Operation:
    operation_id: str
    method: str
    path_template: str
    pattern: re.Pattern[str]
    body_schema: str | None  # component name of the JSON request body


class SpecValidator:
    """Validate JSON documents against named component schemas of one spec."""

    def __init__(self, spec_path: Path, overlay: dict[str, dict[str, Any]]) -> None:
        self.raw = yaml.safe_load(spec_path.read_text(encoding="utf-8"))
        self.schemas = build_schemas(self.raw, overlay)
        self._root = {"components": {"schemas": self.schemas}}
        self._validators: dict[str, Draft202012Validator] = {}

    def errors(self, schema_name: str, document: Any) -> list[str]:
        validator = self._validators.get(schema_name)
        if validator is None:
            schema = {**self._root, "$ref": _REF + schema_name}
            validator = Draft202012Validator(schema, format_checker=FormatChecker())
            self._validators[schema_name] = validator
        return sorted(
            {
                f"{'/'.join(map(str, e.absolute_path)) or '<root>'}: {e.message[:160]}"
                for e in validator.iter_errors(document)
            }
        )


class MessagingApiSpec(SpecValidator):
    """messaging-api.yml: operations by path and method, bodies by schema."""

    def __init__(self, spec_path: Path = MESSAGING_SPEC) -> None:
        super().__init__(spec_path, _OVERLAY)
        from openapi_core import OpenAPI

        self.openapi = OpenAPI.from_dict(copy.deepcopy(self.raw))
        self.operations: list[Operation] = []
        self.hosts: dict[str, str] = {}  # operation id -> its own server, when not api.line.me
        for template, item in self.raw["paths"].items():
            regex = "^" + re.sub(r"\{[^/]+\}", "[^/]+", template) + "$"
            for method, op in item.items():
                if method not in {"get", "post", "put", "delete", "patch"}:
                    continue
                body = None
                content = (op.get("requestBody") or {}).get("content", {})
                ref = content.get("application/json", {}).get("schema", {}).get("$ref")
                if ref:
                    body = ref.removeprefix(_REF)
                self.operations.append(
                    Operation(op["operationId"], method.upper(), template, re.compile(regex), body)
                )
                servers = op.get("servers") or []
                if servers:  # the data API (api-data.line.me): content, rich menu images
                    self.hosts[op["operationId"]] = servers[0]["url"]

    def find(self, method: str, path: str) -> Operation | None:
        for op in self.operations:
            if op.method == method.upper() and op.pattern.match(path):
                return op
        return None

    def check_request(
        self, method: str, path: str, headers: dict[str, str], body: bytes, query: str = ""
    ) -> tuple[Operation | None, list[str]]:
        """(the operation, every reason LINE would refuse this request)."""
        op = self.find(method, path)
        if op is None:
            return None, [f"no operation {method} {path} in messaging-api.yml"]
        problems: list[str] = []
        lower = {k.lower(): v for k, v in headers.items()}
        from openapi_core.testing import MockRequest

        request = MockRequest(
            self.hosts.get(op.operation_id, "https://api.line.me"),
            method.lower(),
            path,
            args=dict(p.split("=", 1) for p in query.split("&") if "=" in p),
            headers=lower,
            data=body or None,
            content_type=lower.get("content-type", "application/json").split(";")[0],
        )
        try:
            self.openapi.validate_request(request)
        except Exception as exc:  # openapi-core's error types vary by version
            problems.append(f"openapi-core: {type(exc).__name__}: {str(exc)[:400]}")
        if not lower.get("authorization", "").startswith("Bearer "):
            problems.append("Authorization: Bearer <channel access token> missing")
        if op.body_schema is not None:
            if not lower.get("content-type", "").startswith("application/json"):
                problems.append("Content-Type must be application/json")
            try:
                document = json.loads(body.decode("utf-8"))
            except (UnicodeDecodeError, json.JSONDecodeError) as exc:
                problems.append(f"body is not UTF-8 JSON: {exc}")
            else:
                problems.extend(self.errors(op.body_schema, document))
        return op, problems


class WebhookSpec(SpecValidator):
    """webhook.yml: what LINE posts to the service."""

    def __init__(self, spec_path: Path = WEBHOOK_SPEC) -> None:
        super().__init__(spec_path, {})

    def callback_errors(self, document: Any) -> list[str]:
        return self.errors("CallbackRequest", document)


@cache
def messaging_spec() -> MessagingApiSpec:
    return MessagingApiSpec()


@cache
def webhook_spec() -> WebhookSpec:
    return WebhookSpec()
