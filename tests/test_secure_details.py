"""Sensitive details off LINE (issue 16): the one-time link (signed, short-lived, bound to the
conversation and contact point, one use), the dialog that never repeats page answers into the
chat, and a LINE conversation (the spec-checked stand-in) whose name and contact are answered on
the operator's own page: LINE receives a URI action and none of the details."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

import pytest
from sqlalchemy import select, text

from bots.line import line_router
from casecore.db import transaction
from casecore.models import AuditEvent, Case, Conversation, Message
from dialogs.engine import DialogContext, DialogInput, step
from dialogs.profile import ProfileRegistry
from handoff import secure_links
from tests.conftest import Running
from tests.standins import line_webhook as wh
from tests.standins.line_fixtures import ACCESS_TOKEN, CHANNEL_SECRET, line_api, line_server  # noqa: F401
from tests.standins.stack import running_channels, settle, with_channels

SECRET = "s" * 40
USER = "U" + "d" * 32
NAME = "山田花子シークレット"
PHONE = "09011112222"
PROBLEM = "家賃を三か月滞納しています"


# ── the link ───────────────────────────────────────────────────────────────────────────────
def test_a_link_names_its_conversation_and_contact_point_and_nothing_else() -> None:
    token, nonce = secure_links.issue(SECRET, 41, 7, minutes=30, now=1000.0)
    claims = secure_links.verify(SECRET, token, now=1000.0 + 29 * 60)
    assert (claims.conversation_id, claims.contact_point_id, claims.nonce) == (41, 7, nonce)
    assert claims.expires == 1000 + 30 * 60
    assert secure_links.url("https://soudan.example/", token) == f"https://soudan.example/secure/{token}"
    # nothing personal in it: ids, a random nonce, the expiry, the signature
    assert len(token.split(".")) == 5 and nonce in token


def test_a_link_expires() -> None:
    token, _ = secure_links.issue(SECRET, 41, 7, minutes=30, now=1000.0)
    with pytest.raises(secure_links.LinkExpired) as caught:
        secure_links.verify(SECRET, token, now=1000.0 + 30 * 60 + 1)
    assert caught.value.claims.conversation_id == 41  # an expired link still says whose chat to tell


@pytest.mark.parametrize("tamper", ["conversation", "contact", "expiry", "secret", "garbage"])
def test_a_forged_link_is_refused(tamper: str) -> None:
    token, _ = secure_links.issue(SECRET, 41, 7, minutes=30, now=1000.0)
    conv, contact, nonce, expiry, sig = token.split(".")
    forged = {
        "conversation": f"42.{contact}.{nonce}.{expiry}.{sig}",
        "contact": f"{conv}.8.{nonce}.{expiry}.{sig}",
        "expiry": f"{conv}.{contact}.{nonce}.{int(expiry) + 3600}.{sig}",
        "secret": secure_links.issue("t" * 40, 41, 7, minutes=30, now=1000.0)[0],
        "garbage": "not-a-link",
    }[tamper]
    with pytest.raises(secure_links.LinkError) as caught:
        secure_links.verify(SECRET, forged, now=1000.0)
    assert not isinstance(caught.value, secure_links.LinkExpired)


def test_one_use_is_a_swap_of_hashes() -> None:
    _, nonce = secure_links.issue(SECRET, 41, 7, minutes=30)
    _, other = secure_links.issue(SECRET, 41, 7, minutes=30)
    assert secure_links.pending_hash(nonce) != secure_links.pending_hash(other)  # a newer link supersedes
    session = secure_links.new_session_token(minutes=30, now=1000.0)
    assert secure_links.session_deadline(session) == 1000 + 30 * 60
    assert secure_links.session_hash(session) != secure_links.pending_hash(nonce)
    assert secure_links.session_deadline("nonsense") is None


# ── the dialog ─────────────────────────────────────────────────────────────────────────────
def test_answers_given_on_the_page_never_reach_the_chat_s_summary() -> None:
    profile = ProfileRegistry.load("minato-tokyo").default
    ctx = DialogContext(profile=profile, now=datetime(2026, 12, 2, 10, tzinfo=UTC))
    state = {"node": "name", "language": "ja", "consented_use": True,
             "answers": {"categories": ["money"], "problem_text": PROBLEM}}
    res = step(state, DialogInput(text=NAME, secure=True), ctx)
    assert res.state.node == "contact_method" and res.state.answers["name"] == NAME
    assert res.state.secured == ["name"]
    res = step(res.state, DialogInput(choice="phone", secure=True), ctx)
    res = step(res.state, DialogInput(text=PHONE, secure=True), ctx)
    assert res.state.node == "contact_time" and set(res.state.secured) == {"name", "contact_detail", "contact_method"}
    # back in the chat: the summary shows where they were written, not what
    res = step(res.state, DialogInput(choice="anytime"), ctx)
    assert res.state.node == "consent_share"
    res = step(res.state, DialogInput(choice="no"), ctx)
    assert res.state.node == "summary"
    summary = next(m.text for m in res.messages if m.kind == "summary")
    assert NAME not in summary and PHONE not in summary
    assert "（安全なページで入力済み）" in summary and PROBLEM in summary  # the problem was typed in the chat
    # an answer rewritten in the chat is the chat's again
    res2 = step({**res.state.to_dict(), "node": "name"}, DialogInput(text="ハナコ"), ctx)
    assert "name" not in res2.state.secured


def test_the_flow_marks_the_sensitive_steps() -> None:
    from dialogs.flow import load_flow

    flow = load_flow("intake")
    assert {n.name for n in flow.nodes.values() if n.secure} == {
        "problem_detail", "name", "contact_method", "contact_phone", "contact_email"}


# ── LINE, end to end against the stand-in ───────────────────────────────────────────────────
@pytest.fixture
async def line_app(line_api, stack) -> AsyncIterator[tuple[Running, Any]]:  # noqa: F811
    settings = with_channels(stack, line_channel_secret=CHANNEL_SECRET, line_channel_access_token=ACCESS_TOKEN,
                             line_api_base_url=line_api.base_url)
    async with running_channels(settings, "/webhooks/line", line_router) as running:
        yield running, line_api


async def send(running: Running, api: Any, event: dict[str, Any]) -> None:
    raw = wh.body(event)
    r = await running.client.post("/webhooks/line", content=raw, headers={
        "Content-Type": "application/json", "X-Line-Signature": wh.sign(CHANNEL_SECRET, raw)})
    assert r.status_code == 200, r.text
    await settle(running.ctx, running.ctx.extras["line"])


async def tap(running: Running, api: Any, choice: str) -> None:
    await send(running, api, wh.postback_event(USER, f"c:{choice}", api.issue_reply_token(USER, access_token=ACCESS_TOKEN)))


async def say(running: Running, api: Any, words: str) -> None:
    await send(running, api, wh.text_event(USER, words, api.issue_reply_token(USER, access_token=ACCESS_TOKEN)))


def secure_uris(messages: list[dict[str, Any]]) -> list[str]:
    """Every URI action LINE received that leads to the secure page."""
    found = []
    for m in messages:
        for box in [m.get("contents", {}).get("body", {})] if m.get("type") == "flex" else []:
            for item in box.get("contents", []):
                action = item.get("action", {})
                if action.get("type") == "uri" and "/secure/" in action.get("uri", ""):
                    found.append(action["uri"])
    return found


async def to_problem_step(running: Running, api: Any) -> None:
    api.add_profile(USER, language="ja")
    await send(running, api, wh.follow_event(USER, api.issue_reply_token(USER, access_token=ACCESS_TOKEN)))
    for choice in ("agree", "none", "self", "money", "done"):
        await tap(running, api, choice)


async def conversation(running: Running) -> Conversation:
    async with transaction(running.ctx.sessions) as s:
        conv = await s.scalar(select(Conversation).where(Conversation.channel == "line").order_by(Conversation.id.desc()))
        assert conv is not None
        return conv


def line_bodies(api: Any) -> bytes:
    return b"\n".join(c.raw for c in api.calls)


async def raw_database_has(running: Running, needle: str) -> bool:
    """The typed words anywhere in the database: the SQLite file's bytes, or every PostgreSQL
    row as text."""
    if running.ctx.engine.dialect.name == "sqlite":
        await running.ctx.engine.dispose()  # everything on disk, WAL included
        data = running.settings.data_dir
        return any(needle.encode() in p.read_bytes() for p in data.glob("madoguchi.db*"))
    async with running.ctx.engine.connect() as c:
        tables = (await c.execute(text(
            "select tablename from pg_tables where schemaname = current_schema()"))).scalars().all()
        for table in tables:
            rows = (await c.execute(text(f'select t::text from "{table}" t'))).scalars().all()
            if any(needle in r for r in rows):
                return True
    return False


async def test_line_resident_answers_name_and_contact_on_the_secure_page(line_app: tuple[Running, Any]) -> None:
    running, api = line_app
    await to_problem_step(running, api)
    first = secure_uris(api.messages_to(USER))
    assert len(first) == 1  # offered at the problem step, beside the question (mode: offer)
    await to_name_step_rest(running, api)
    links = secure_uris(api.messages_to(USER))
    assert len(links) == 2  # offered again when the name step comes
    client = running.client
    # the first link was superseded (and the problem typed in LINE): used up
    assert (await client.get(urlsplit(first[0]).path)).status_code == 410

    path = urlsplit(links[1]).path
    page = await client.get(path)
    assert page.status_code == 200 and 'data-secure="on"' in page.text
    assert "frame-ancestors 'none'" in page.headers["content-security-policy"]
    link = path.rsplit("/", 1)[1]
    opened = await client.post("/api/webchat/secure/open", json={"link": link})
    assert opened.status_code == 201, opened.text
    body = opened.json()
    assert body["state"] == "name" and "LINEを通らず" in body["messages"][0]["text"]
    assert body["messages"][-1]["text"] == __import__("i18n.catalog").catalog.catalog("ja").text("name.ask")
    # one use: a second open is a clear 410, in the page and the API
    again = await client.get(path)
    assert again.status_code == 410 and "もう使えません" in again.text
    assert (await client.post("/api/webchat/secure/open", json={"link": link})).status_code == 410
    forged = await client.get(path[:-3] + "xyz")
    assert forged.status_code == 404

    before = len(api.messages_to(USER))
    headers = {"Authorization": f"Bearer {body['token']}"}
    sid = body["session_id"]
    url = f"/api/webchat/secure/sessions/{sid}/messages"
    r = await client.post(url, json={"text": NAME, "client_message_id": "a1"}, headers=headers)
    assert r.status_code == 200, r.text
    assert r.json()["state"] == "contact_method" and not r.json()["secure_done"]
    r = await client.post(url, json={"choice": "phone", "client_message_id": "a2"}, headers=headers)
    assert r.json()["state"] == "contact_phone"
    await settle(running.ctx, running.ctx.extras["line"])
    assert len(api.messages_to(USER)) == before  # nothing of the page reaches LINE
    r = await client.post(url, json={"text": PHONE, "client_message_id": "a3"}, headers=headers)
    done = r.json()
    assert done["secure_done"] and "LINEに戻ってください" in done["messages"][-1]["text"]
    await settle(running.ctx, running.ctx.extras["line"])
    pushed = api.messages_to(USER)[before:]
    assert "受け取りました" in pushed[0]["text"] and any("時間帯" in (m.get("text") or "") for m in pushed)
    assert [d.via for d in api.delivered[-len(pushed):]] == ["push"] * len(pushed)
    # the page's token is spent with the steps
    assert (await client.post(url, json={"text": "x", "client_message_id": "a4"}, headers=headers)).status_code == 410

    # the conversation goes on in LINE to the summary, which repeats neither
    await tap(running, api, "anytime")
    await tap(running, api, "no")  # consent_share
    assert (await conversation(running)).dialog_node == "summary"
    await tap(running, api, "confirm")
    sent = line_bodies(api)
    for secret_words in (NAME, PHONE):
        assert secret_words.encode() not in sent
        assert json.dumps(secret_words).encode()[1:-1] not in sent  # nor \\u-escaped

    conv = await conversation(running)
    async with transaction(running.ctx.sessions) as s:
        case = await s.get(Case, conv.case_id)
        assert case is not None and case.name == NAME and case.contact_detail == PHONE  # the operator has them
        rows = (await s.scalars(select(Message).where(Message.conversation_id == conv.id, Message.direction == "in"))).all()
        assert NAME in [m.text for m in rows] and all(m.channel == "line" for m in rows)  # the conversation stays LINE's
        assert await s.scalar(select(AuditEvent.id).where(AuditEvent.action == "secure_page_opened"))
    assert not await raw_database_has(running, NAME)  # only encrypted at rest
    assert not await raw_database_has(running, PHONE)


async def to_name_step_rest(running: Running, api: Any) -> None:
    await say(running, api, PROBLEM)  # typed in LINE anyway: the resident's choice
    for _ in ("age_band", "district", "household", "public_assistance", "residence"):
        await tap(running, api, "skip")


async def test_a_crisis_typed_on_the_page_reaches_the_crisis_path(line_app: tuple[Running, Any]) -> None:
    running, api = line_app
    await to_problem_step(running, api)
    path = urlsplit(secure_uris(api.messages_to(USER))[-1]).path
    body = (await running.client.post("/api/webchat/secure/open", json={"link": path.rsplit("/", 1)[1]})).json()
    r = await running.client.post(f"/api/webchat/secure/sessions/{body['session_id']}/messages",
                                  json={"text": "もう死にたい", "client_message_id": "c1"},
                                  headers={"Authorization": f"Bearer {body['token']}"})
    assert r.status_code == 200, r.text
    conv = await conversation(running)
    assert conv.urgent
    page = r.json()["messages"]
    assert any(m["kind"] == "emergency" or m["contacts"] for m in page)  # the lines show on the page


async def test_typing_in_line_while_the_page_is_open_closes_the_page(line_app: tuple[Running, Any]) -> None:
    running, api = line_app
    await to_problem_step(running, api)
    path = urlsplit(secure_uris(api.messages_to(USER))[-1]).path
    body = (await running.client.post("/api/webchat/secure/open", json={"link": path.rsplit("/", 1)[1]})).json()
    await say(running, api, PROBLEM)
    assert "ここまでにします" in api.messages_to(USER)[-2]["text"] or any(
        "ここまでにします" in (m.get("text") or "") for m in api.messages_to(USER)[-4:])
    r = await running.client.post(f"/api/webchat/secure/sessions/{body['session_id']}/messages",
                                  json={"text": "x", "client_message_id": "t1"},
                                  headers={"Authorization": f"Bearer {body['token']}"})
    assert r.status_code == 410 and "もう使えません" in r.json()["detail"]["message"]


async def test_an_expired_page_lets_line_ask_on_with_a_kind_note(line_app: tuple[Running, Any]) -> None:
    running, api = line_app
    await to_problem_step(running, api)
    path = urlsplit(secure_uris(api.messages_to(USER))[-1]).path
    body = (await running.client.post("/api/webchat/secure/open", json={"link": path.rsplit("/", 1)[1]})).json()
    # the page's time runs out: its token carries its deadline, so swap in one already past
    conv = await conversation(running)
    stale = "1." + body["token"].split(".", 1)[1]
    async with transaction(running.ctx.sessions) as s:
        row = await s.get(Conversation, conv.id)
        assert row is not None
        row.access_token_hash = secure_links.session_hash(stale)
    before = len(api.messages_to(USER))
    r = await running.client.post(f"/api/webchat/secure/sessions/{conv.id}/messages",
                                  json={"text": PROBLEM, "client_message_id": "e1"},
                                  headers={"Authorization": f"Bearer {stale}"})
    assert r.status_code == 410
    await settle(running.ctx, running.ctx.extras["line"])
    pushed = api.messages_to(USER)[before:]
    assert "時間が過ぎました" in pushed[0]["text"] and len(pushed) == 2  # the note, then the question again
    await say(running, api, PROBLEM)  # and LINE simply goes on
    assert (await conversation(running)).dialog_node == "age_band"


async def test_an_expired_link_is_a_410_page(line_app: tuple[Running, Any]) -> None:
    running, api = line_app
    await to_problem_step(running, api)
    conv = await conversation(running)
    token, nonce = secure_links.issue(running.settings.resolved_secret_key(), conv.id, conv.contact_point_id,
                                      minutes=30, now=0.0)
    async with transaction(running.ctx.sessions) as s:
        row = await s.get(Conversation, conv.id)
        assert row is not None
        row.access_token_hash = secure_links.pending_hash(nonce)
    page = await running.client.get(f"/secure/{token}")
    assert page.status_code == 410 and "LINEに戻って" in page.text
    # bound to its contact point: a link naming another one is forged
    other, _ = secure_links.issue(running.settings.resolved_secret_key(), conv.id, conv.contact_point_id + 1, minutes=30)
    assert (await running.client.get(f"/secure/{other}")).status_code == 404
