"""The LINE stand-in refuses exactly what LINE would: proof that the validator bites."""

from __future__ import annotations

import json

import httpx
import pytest

from tests.standins.line_fixtures import ACCESS_TOKEN, line_api, line_server  # noqa: F401
from tests.standins.line_spec import messaging_spec

HEADERS = {"Authorization": f"Bearer {ACCESS_TOKEN}", "Content-Type": "application/json"}


def _item(label: str) -> dict:
    return {"type": "action", "action": {"type": "postback", "label": label, "data": "c:x", "displayText": label}}


def _push(**message) -> dict:
    return {"to": "U" + "0" * 32, "messages": [{"type": "text", "text": "こんにちは", **message}]}


@pytest.mark.parametrize(
    ("body", "needle"),
    [
        (_push(quickReply={"items": [_item("x")] * 14}), "quickReply/items"),
        (_push(quickReply={"items": [_item("あ" * 21)]}), "label"),
        (_push(text="x" * 5001), "messages/0/text"),
        ({"to": "U1", "messages": [{"type": "text"}]}, "'text' is a required property"),
        ({"to": "U1", "messages": [{"type": "carousel", "text": "x"}]}, "messages/0/type"),
        ({"to": "U1", "messages": [{"type": "text", "text": "x"}] * 6}, "messages"),
        ({"to": "U1", "messages": []}, "messages"),
        (_push(quickReply={"items": [{"type": "action", "action": {"type": "postback", "label": "a", "data": "d" * 301}}]}), "data"),
        ({"messages": [{"type": "text", "text": "x"}]}, "'to' is a required property"),
    ],
)
def test_spec_rejects_bodies_line_would_refuse(body: dict, needle: str) -> None:
    op, problems = messaging_spec().check_request("POST", "/v2/bot/message/push", HEADERS, json.dumps(body).encode())
    assert op is not None and op.operation_id == "pushMessage"
    assert problems and any(needle in p for p in problems), problems


def test_spec_accepts_a_correct_push_with_13_quick_replies_and_20_char_labels() -> None:
    body = _push(quickReply={"items": [_item("あ" * 20)] * 13})
    assert messaging_spec().check_request("POST", "/v2/bot/message/push", HEADERS, json.dumps(body).encode())[1] == []


def test_spec_checks_headers_and_paths() -> None:
    spec = messaging_spec()
    ok = json.dumps(_push()).encode()
    assert spec.check_request("POST", "/v2/bot/message/push", {"Content-Type": "application/json"}, ok)[1]
    bad_key = {**HEADERS, "X-Line-Retry-Key": "not-a-uuid"}
    assert any("X-Line-Retry-Key" in p for p in spec.check_request("POST", "/v2/bot/message/push", bad_key, ok)[1])
    assert spec.check_request("POST", "/v2/bot/message/pushh", HEADERS, ok)[0] is None
    loading = json.dumps({"chatId": "U1", "loadingSeconds": 7}).encode()
    assert spec.check_request("POST", "/v2/bot/chat/loading/start", HEADERS, loading)[1]


def test_standin_answers_400_and_records_the_violation(line_api) -> None:  # noqa: F811
    body = _push(quickReply={"items": [_item("x")] * 14})
    r = httpx.post(f"{line_api.base_url}/v2/bot/message/push", headers=HEADERS, json=body)
    assert r.status_code == 400
    assert r.json()["message"].startswith("The request body has")
    assert line_api.violations and not line_api.delivered
    line_api.violations.clear()  # this test sent it on purpose


def test_standin_auth_reply_token_and_retry_key(line_api) -> None:  # noqa: F811
    url = line_api.base_url
    assert httpx.post(f"{url}/v2/bot/message/push", headers={**HEADERS, "Authorization": "Bearer nope"}, json=_push()).status_code == 401
    token = line_api.issue_reply_token("U1")
    reply = {"replyToken": token, "messages": [{"type": "text", "text": "a"}]}
    assert httpx.post(f"{url}/v2/bot/message/reply", headers=HEADERS, json=reply).status_code == 200
    second = httpx.post(f"{url}/v2/bot/message/reply", headers=HEADERS, json=reply)
    assert second.status_code == 400 and second.json()["message"] == "Invalid reply token"
    key = {**HEADERS, "X-Line-Retry-Key": "123e4567-e89b-12d3-a456-426614174000"}
    assert httpx.post(f"{url}/v2/bot/message/push", headers=key, json=_push()).status_code == 200
    again = httpx.post(f"{url}/v2/bot/message/push", headers=key, json=_push())
    assert again.status_code == 409 and again.headers["x-line-accepted-request-id"]
    assert [d.via for d in line_api.delivered] == ["reply", "push"]
