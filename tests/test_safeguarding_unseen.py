"""Safeguarding tried from outside (QA, issue 9): crisis messages nobody on the team wrote, in
every catalog language, at every kind of state, through the real web chat API, LINE and
Telegram stand-ins and the counsellor console. Wording is fresh: indirect, slang, romanised,
mixed, disguised. Known failures are kept apart (not in this file) until they are fixed."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from bots.line import line_router
from bots.telegram import telegram_router
from casecore.db import transaction
from casecore.models import Conversation, Message
from i18n.catalog import catalog
from tests.conftest import Running, make_settings, start_app
from tests.handoff_helpers import counsellor_client
from tests.helpers import JAPANESE_INTAKE, login_body, make_counsellor, new_session, send
from tests.standins import line_webhook as wh
from tests.standins.line_fixtures import ACCESS_TOKEN, CHANNEL_SECRET, line_api, line_server  # noqa: F401
from tests.standins.stack import running_channels, with_channels
from tests.standins.telegram_fixtures import (  # noqa: F401
    BOT_TOKEN,
    WEBHOOK_SECRET,
    message_update,
    telegram_api,
    telegram_server,
)
from tests.test_handoff_live import open_console, receive_until
from tests.test_line_webhook import USER, Line
from tests.test_telegram import USER as TG_USER
from tests.test_telegram import Tg

SATURDAY_NIGHT = datetime(2026, 11, 28, 14, 0, tzinfo=UTC)  # Saturday 23:00 in Tokyo
WEEKDAY_MORNING = datetime(2026, 11, 25, 1, 0, tzinfo=UTC)  # Wednesday 10:00 in Tokyo
SUICIDE_LINES = {"tel:0570783556", "tel:0120783556", "tel:0570064556", "tel:0120279338"}

# Fresh crisis wording, one or two per language (not from tests/ or i18n/risk/data/).
FRESH_CRISES: list[tuple[str, str]] = [
    ("ja", "生きてる意味ないわ、ぜんぶ終わりにしたい"),
    ("ja", "mou shinitai yo"),
    ("ja-easy", "しにたい です。 たすけて"),
    ("en", "i dont want to wake up tomorrow"),
    ("en", "wanna kms fr 😭"),
    ("zh-Hans", "活着好累，想结束这一切"),
    ("zh-Hant", "我不想活了，真的好累"),
    ("ko", "그냥 다 끝내고 싶어요"),
    ("vi", "em không muốn sống nữa"),
    ("tl", "ayoko na, gusto ko nang magpakamatay"),
    ("pt-BR", "to pensando em me matar"),
    ("ne", "मलाई बाँच्न मन छैन"),
    ("id", "pengen bunuh diri rasanya"),
    ("es", "ya no quiero vivir, estoy muy cansada de todo"),
    ("th", "ไม่อยากมีชีวิตอยู่แล้ว"),
    ("my", "ကိုယ့်ကိုယ်ကို သတ်သေချင်တယ်"),
]


@pytest.fixture
async def app(tmp_path: Path) -> AsyncIterator[Running]:
    # One test opens many sessions from one "device": the flood limits are another test's subject.
    async for r in start_app(make_settings(tmp_path, rate_limits_enabled=False)):
        r.ctx.router.clock = lambda: WEEKDAY_MORNING
        yield r


async def chat(client: httpx.AsyncClient, language: str) -> dict[str, Any]:
    """A web chat session whose language was chosen at the language question (so ja-easy too)."""
    session = await new_session(client, None)
    reply = await send(client, session, "choice", language)
    assert reply["state"] == "consent_use", reply
    return session


def emergency(reply: dict[str, Any]) -> dict[str, Any]:
    found = [m for m in reply["messages"] if m["kind"] == "emergency"]
    assert len(found) == 1, [(m["kind"], m["text"][:60]) for m in reply["messages"]]
    return found[0]


def all_text(reply: dict[str, Any]) -> str:
    return "\n".join(m["text"] for m in reply["messages"])


def assert_crisis_answered(reply: dict[str, Any], lang: str, kind: str = "suicide") -> dict[str, Any]:
    """The emergency answer as the resident must see it, in their language."""
    em = emergency(reply)
    cat = catalog(lang)
    assert cat.text(f"risk.open.{kind}") in em["text"], (lang, em["text"][:120])
    assert reply["conversation_status"] == "waiting"
    assert cat.text("unknown_input") not in all_text(reply)
    assert cat.text("consent.use.text") not in all_text(reply)
    assert [c["id"] for c in reply["messages"][-1]["choices"]] == ["human", "continue"]
    for c in em["contacts"]:
        assert c["uri"].startswith("tel:") and c["number"] in em["text"]
    return em


async def stored_inbound(running: Running, conv_id: int) -> list[str | None]:
    async with transaction(running.ctx.sessions) as s:
        return list((await s.scalars(
            select(Message.text).where(Message.conversation_id == conv_id, Message.direction == "in").order_by(Message.id)
        )).all())


async def conv_row(running: Running, conv_id: int) -> Conversation:
    async with transaction(running.ctx.sessions) as s:
        conv = await s.get(Conversation, conv_id)
        assert conv is not None
        s.expunge(conv)
        return conv


# ── 1. fresh crisis wording, every language, in and out of hours ─────────────
@pytest.mark.parametrize("lang,text", FRESH_CRISES, ids=[f"{lg}-{i}" for i, (lg, _) in enumerate(FRESH_CRISES)])
async def test_fresh_crisis_at_consent_is_answered_in_the_residents_language(app: Running, lang: str, text: str) -> None:
    client = app.client
    session = await chat(client, lang)
    reply = await send(client, session, "text", text)
    em = assert_crisis_answered(reply, lang)
    assert {c["uri"] for c in em["contacts"]} >= SUICIDE_LINES
    assert catalog(lang).text("risk.in_hours") in em["text"]  # Wednesday 10:00: the desk is open
    conv = await conv_row(app, session["session_id"])
    assert conv.urgent and "suicide" in conv.urgency_reasons
    # go on: exactly at the consent question, without the whole consent text again
    cont = await send(client, session, "choice", "continue")
    assert cont["state"] == "consent_use" and catalog(lang).text("consent.use.text") not in all_text(cont)
    assert [c["id"] for c in cont["messages"][-1]["choices"]] == ["agree", "more", "decline", "human"]
    agreed = await send(client, session, "choice", "agree")
    assert agreed["state"] == "safety_check"
    assert text in await stored_inbound(app, session["session_id"])


@pytest.mark.parametrize("lang,text", [("ja", "消えたい😢 もう無理"), ("en", "i see no reason to live anymore"),
                                       ("vi", "toi muon chet"), ("my", "ေသခ်င္တယ္"), ("ne", "म मर्न चाहन्छु")])
async def test_saturday_night_says_when_a_person_reads_it_and_which_lines_answer_now(app: Running, lang: str, text: str) -> None:
    app.ctx.router.clock = lambda: SATURDAY_NIGHT
    session = await chat(app.client, lang)
    em = assert_crisis_answered(await send(app.client, session, "text", text), lang)
    closed = catalog(lang).text("risk.out_of_hours", next_open="\x00", lines_24h="\x01")
    before_date = closed.split("\x00")[0].strip()
    assert before_date[:10] in em["text"], em["text"]
    after = em["text"].split(before_date[:10])[-1]
    assert "8:30" in after and "30" in after  # Monday 30 November, 08:30
    now_lines = after.split(closed.split("\x00")[1].split("\x01")[0].strip()[-6:])[-1]
    assert "0120-279-338" in now_lines  # よりそいホットライン answers at 23:00
    assert catalog(lang).text("risk.in_hours") not in em["text"]


async def test_weekday_morning_domestic_violence_names_police_and_dv_lines(app: Running) -> None:
    session = await chat(app.client, "en")
    reply = await send(app.client, session, "text", "my boyfriend punched me and i'm hiding in the toilet")
    em = assert_crisis_answered(reply, "en", "domestic_violence")
    uris = {c["uri"] for c in em["contacts"]}
    assert {"tel:110", "tel:0120279889", "tel:%238008"} <= uris
    assert catalog("en").text("risk.in_hours") in em["text"]


# ── crisis at every kind of state: answered, then "continue" resumes exactly ──
# (steps of JAPANESE_INTAKE taken, the state then, what "continue" shows)
STATES = [(0, "consent_use", "agree"), (1, "safety_check", "danger"), (2, "for_whom", "self"),
          (3, "categories", "money"), (7, "age_band", "under_20"), (8, "district", "芝"),
          (13, "contact_method", "this_channel"), (16, "consent_share", "yes"), (17, "summary", "confirm")]


@pytest.mark.parametrize("steps,node,first_choice", STATES, ids=[s[1] for s in STATES])
async def test_crisis_at_each_state_resumes_exactly_there(app: Running, steps: int, node: str, first_choice: str) -> None:
    client = app.client
    session = await new_session(client, "ja")
    reply = session
    for kind, value in JAPANESE_INTAKE[:steps]:
        reply = await send(client, session, kind, value)
    assert reply["state"] == node
    crisis = "もうやめたい、全部。消えたい"  # contains the stop word やめたい
    answered = await send(client, session, "text", crisis)
    assert answered["state"] == node
    assert_crisis_answered(answered, "ja")
    cont = await send(client, session, "choice", "continue")
    assert cont["state"] == node and cont["conversation_status"] == "waiting"
    assert cont["messages"][-1]["choices"][0]["id"] == first_choice
    kept = await stored_inbound(app, session["session_id"])
    assert crisis in kept  # nothing purged or emptied
    assert "派遣の契約が切れて" in " ".join(t for t in kept if t) or steps < 7


async def test_crisis_as_the_free_text_problem_is_kept_as_the_answer(app: Running) -> None:
    session = await new_session(app.client, "ja")
    for kind, value in JAPANESE_INTAKE[:6]:
        await send(app.client, session, kind, value)
    reply = await send(app.client, session, "text", "家賃も払えない。もう死にたいよ")
    assert_crisis_answered(reply, "ja")
    cont = await send(app.client, session, "choice", "continue")
    assert cont["state"] == "age_band"


async def test_crisis_after_the_handover_is_answered_and_stays_urgent(app: Running) -> None:
    session = await new_session(app.client, "ja")
    for kind, value in JAPANESE_INTAKE:
        reply = await send(app.client, session, kind, value)
    assert reply["state"] == "handed_over"
    reply = await send(app.client, session, "text", "待ってる間に、ロープで首をつろうかと考えてしまう")
    em = emergency(reply)
    assert catalog("ja").text("risk.open.suicide") in em["text"] and {c["uri"] for c in em["contacts"]} >= SUICIDE_LINES
    assert reply["conversation_status"] == "waiting" and reply["state"] == "handed_over"
    assert (await conv_row(app, session["session_id"])).urgent


async def test_crisis_after_stop_and_after_two_hours_away(app: Running) -> None:
    client = app.client
    session = await chat(client, "en")
    await send(client, session, "choice", "agree")
    paused = await send(client, session, "text", "stop")
    assert paused["conversation_status"] == "bot"
    reply = await send(client, session, "text", "i am going to kill myself tonight")
    assert_crisis_answered(reply, "en")
    # another resident comes back two hours later, mid-intake, in Vietnamese
    other = await chat(client, "vi")
    await send(client, other, "choice", "agree")
    at = await send(client, other, "choice", "none")
    assert at["state"] == "for_whom"
    app.ctx.router.clock = lambda: WEEKDAY_MORNING + timedelta(hours=2)
    reply = await send(client, other, "text", "tôi không muốn sống nữa")
    assert_crisis_answered(reply, "vi")
    cont = await send(client, other, "choice", "continue")
    assert cont["state"] == "for_whom" and cont["messages"][-1]["choices"][0]["id"] == "self"


async def test_talk_to_a_person_after_the_answer_then_continue(app: Running) -> None:
    session = await chat(app.client, "ko")
    await send(app.client, session, "choice", "agree")
    await send(app.client, session, "choice", "none")
    assert_crisis_answered(await send(app.client, session, "text", "남편이 술 마시면 때려요. 오늘도 맞았어요"), "ko", "domestic_violence")
    person = await send(app.client, session, "choice", "human")
    assert person["conversation_status"] == "waiting" and [c["id"] for c in person["messages"][-1]["choices"]] == ["continue"]
    cont = await send(app.client, session, "choice", "continue")
    assert cont["state"] == "for_whom"


# ── 2. command words inside crisis text; plain commands still work ───────────
COMMAND_TRAPS = [
    ("ja", "相談員さん、もう限界で死にたいです"), ("ja", "戻る場所もない、死にたい"), ("ja-easy", "もう やめたい。 しにたい"),
    ("en", "I want to stop living"), ("en", "please, a human. i'm going to end my life"),
    ("en", "go back? there's no going back, i want to die"), ("es", "ya no quiero seguir viviendo, quiero parar todo"),
    ("pt-BR", "cancela tudo, vou me matar"), ("pt-BR", "quero parar de viver"),
    ("vi", "tôi muốn dừng lại tất cả, muốn chết"), ("tl", "gusto ko nang tumigil sa buhay"),
    ("tl", "stop na, ayoko nang mabuhay"), ("id", "berhenti aja semuanya, aku mau mati"),
    ("ko", "그만하고 싶어요 다 죽고싶어"), ("zh-Hans", "我想停止一切，不想活了"), ("zh-Hant", "我想停止這一切，不想活了"),
    ("th", "อยากหยุดทุกอย่าง อยากตาย"), ("ne", "सबै रोक्न चाहन्छु, मर्न मन छ"), ("my", "အားလုံး ရပ်ချင်ပြီ သေချင်တယ်"),
]


@pytest.mark.parametrize("lang,text", COMMAND_TRAPS, ids=[f"{lg}-{i}" for i, (lg, _) in enumerate(COMMAND_TRAPS)])
async def test_command_word_inside_crisis_text_at_a_choice_prompt(app: Running, lang: str, text: str) -> None:
    session = await chat(app.client, lang)
    await send(app.client, session, "choice", "agree")
    await send(app.client, session, "choice", "none")
    reply = await send(app.client, session, "text", text)
    assert reply["state"] == "for_whom"  # not stopped, not back, not the language question
    assert_crisis_answered(reply, lang)
    assert text in await stored_inbound(app, session["session_id"])


@pytest.mark.parametrize("lang", ["ja", "en", "vi", "es", "th"])
async def test_whole_message_commands_still_work(app: Running, lang: str) -> None:
    cat = catalog(lang)
    session = await chat(app.client, lang)
    await send(app.client, session, "choice", "agree")
    person = await send(app.client, session, "text", f"  {cat.label('human')} ")
    assert person["conversation_status"] == "waiting" and not any(m["kind"] == "emergency" for m in person["messages"])
    other = await chat(app.client, lang)
    await send(app.client, other, "choice", "agree")
    at = await send(app.client, other, "choice", "none")
    back = await send(app.client, other, "text", cat.label("back") + "。" if lang == "ja" else cat.label("back"))
    assert at["state"] == "for_whom" and back["state"] == "safety_check"
    stopped = await send(app.client, other, "text", cat.label("stop"))
    assert cat.text("stop.kept") in all_text(stopped) and stopped["conversation_status"] == "bot"
    assert not any(m["kind"] == "emergency" for m in stopped["messages"])


async def test_japanese_typed_stop_before_consent_purges_but_crisis_stop_keeps(app: Running) -> None:
    plain = await new_session(app.client, "ja")
    await send(app.client, plain, "text", "やめる")
    kept = await stored_inbound(app, plain["session_id"])
    assert kept and all(t is None for t in kept)  # emptied: nothing risky was said
    crisis = await new_session(app.client, "ja")
    await send(app.client, crisis, "text", "人生もうやめたい、死にたい")
    await send(app.client, crisis, "text", "やめる")
    assert "人生もうやめたい、死にたい" in await stored_inbound(app, crisis["session_id"])


# ── 3. hard negatives: no alarm, the intake goes on ──────────────────────────
HARD_NEGATIVES = [
    ("ja", "仕事が見つからなくて死ぬほど焦ってます"), ("ja", "去年母が亡くなってから一人暮らしです"),
    ("ja", "自殺対策のシンポジウムに参加したいのですが"), ("ja-easy", "きょねん ちちが しにました。 いまは ひとりです"),
    ("en", "I'm dying to get a job, any job"), ("en", "my dad passed away in march and i can't pay his debts"),
    ("en", "is there a suicide prevention training for volunteers?"), ("en", "my landlord is killing me with these fees lol"),
    ("es", "me muero por encontrar trabajo"), ("es", "mi madre falleció el año pasado"),
    ("pt-BR", "to morrendo de vontade de trabalhar"), ("vi", "bố tôi mất năm ngoái"),
    ("tl", "namatay ang nanay ko noong isang taon"), ("id", "ayah saya meninggal tahun lalu"),
    ("ko", "일자리 구하고 싶어 죽겠어요"), ("zh-Hans", "我爸爸去年去世了"), ("zh-Hant", "我爸爸去年過世了"),
    ("th", "พ่อเสียชีวิตเมื่อปีที่แล้ว"), ("ne", "मेरो आमा गत वर्ष बित्नुभयो"), ("my", "အမေ မနှစ်က ဆုံးသွားတယ်"),
]


@pytest.mark.parametrize("lang,text", HARD_NEGATIVES, ids=[f"{lg}-{i}" for i, (lg, _) in enumerate(HARD_NEGATIVES)])
async def test_hard_negative_does_not_alarm_or_block(app: Running, lang: str, text: str) -> None:
    client = app.client
    at_choice = await chat(client, lang)
    await send(client, at_choice, "choice", "agree")
    reply = await send(client, at_choice, "text", text)
    assert reply["conversation_status"] == "bot" and reply["state"] == "safety_check"
    assert not any(m["kind"] == "emergency" for m in reply["messages"])
    at_text = await chat(client, lang)
    for cid in ("agree", "none", "self", "debt", "done"):
        await send(client, at_text, "choice", cid)
    reply = await send(client, at_text, "text", text)
    assert reply["state"] == "age_band" and reply["conversation_status"] == "bot"  # taken as the problem
    assert not any(m["kind"] == "emergency" for m in reply["messages"])
    assert not (await conv_row(app, at_text["session_id"])).urgent


# ── 4. disguised and hostile input ───────────────────────────────────────────
DISGUISED = [
    ("ja", "<script>alert(1)</script>死にたい"), ("ja", "死\u200bに\u200bた\u200bい"), ("ja", "死\u200cに\u200dた\ufeffい"),
    ("ja", "死\x00にたい"), ("ja", "ｼﾆﾀｲ"), ("ja", "死　に　た　い"), ("ja", "ｓｈｉｎｉｔａｉ"), ("en", "I ＷＡＮＴ ＴＯ ＤＩＥ"),
    ("en", "i want to d\u00adie"), ("my", "ေသခ်င္တယ္"),
]


@pytest.mark.parametrize("lang,text", DISGUISED, ids=[f"{lg}-{i}" for i, (lg, _) in enumerate(DISGUISED)])
async def test_disguised_crisis_is_still_screened(app: Running, lang: str, text: str) -> None:
    session = await new_session(app.client, lang if lang != "my" else "my")
    reply = await send(app.client, session, "text", text)
    assert_crisis_answered(reply, lang)


async def test_html_in_a_crisis_message_is_kept_as_text_not_markup(app: Running) -> None:
    session = await new_session(app.client, "ja")
    raw = "<script>alert(1)</script>死にたい"
    reply = await send(app.client, session, "text", raw)
    assert "<script>" not in all_text(reply)  # the bot never echoes it
    r = await app.client.get(f"/api/webchat/sessions/{session['session_id']}/messages",
                             headers={"Authorization": f"Bearer {session['token']}"})
    assert any(m["text"] == raw for m in r.json()["messages"])  # stored as typed; the page renders text


async def test_crisis_sentence_near_the_limit_is_screened(app: Running) -> None:
    session = await new_session(app.client, "ja")
    text = "家賃のことで" * 660 + "もう死にたい"  # 3,966 characters: under the cut
    assert len(text) < 4000
    assert_crisis_answered(await send(app.client, session, "text", text), "ja")


# ── 5. the console side ──────────────────────────────────────────────────────
async def test_counsellor_held_tagalog_crisis_is_flagged_in_queue_and_read(app: Running) -> None:
    session = await chat(app.client, "tl")
    await send(app.client, session, "choice", "human")
    cid = session["session_id"]
    async with counsellor_client(app, "sato") as sato:
        assert (await sato.post(f"/api/conversations/{cid}/claim")).status_code == 200
        reply = await send(app.client, session, "text", "pagod na pagod na ako, gusto ko na lang mawala sa mundo")
        assert reply["messages"] == [] and reply["conversation_status"] == "counsellor"  # bot silent
        (mine,) = (await sato.get("/api/queue")).json()["mine"]
        assert mine["urgent"] is True and mine["urgency_reasons"] == ["suicide"]
        read = (await sato.get(f"/api/conversations/{cid}")).json()
        assert read["conversation"]["urgent"] is True and read["conversation"]["urgency_reasons"] == ["suicide"]
        # a whole-message "stop" in a held conversation changes nothing the counsellor owns
        await send(app.client, session, "text", "stop")
        (mine,) = (await sato.get("/api/queue")).json()["mine"]
        assert mine["status"] == "counsellor" and mine["urgent"] is True


def test_counsellor_held_crisis_reaches_the_console_websocket(tmp_path: Path) -> None:
    from tests.browser import serve_settings

    with serve_settings(make_settings(tmp_path, rate_limits_enabled=False)) as live:
        live.call(make_counsellor(live.ctx, "sato"))
        s = httpx.post(live.url + "/api/webchat/sessions", json={"language": "pt-BR"}).json()
        headers = {"Authorization": f"Bearer {s['token']}"}
        url = f"{live.url}/api/webchat/sessions/{s['session_id']}/messages"
        httpx.post(url, json={"choice": "human"}, headers=headers)
        cookie = httpx.post(live.url + "/api/auth/login", json=login_body("sato")).cookies["madoguchi_session"]
        with httpx.Client(base_url=live.url, cookies={"madoguchi_session": cookie}) as staff:
            assert staff.post(f"/api/conversations/{s['session_id']}/claim").status_code == 200
            with open_console(live, cookie) as ws:
                reply = httpx.post(url, json={"text": "meu namorado me espancou de novo, to com medo"}, headers=headers).json()
                assert reply["messages"] == []
                event = receive_until(ws, "risk_flagged", timeout=10)
                assert event["conversation_id"] == s["session_id"] and event["level"] == "emergency"
                assert "domestic_violence" in event["kinds"]
            (held,) = staff.get("/api/queue").json()["mine"]
            assert held["urgent"] is True and "domestic_violence" in held["urgency_reasons"]


# ── other channels ───────────────────────────────────────────────────────────
@pytest.fixture
async def line(line_api, tmp_path: Path) -> AsyncIterator[Line]:  # noqa: F811
    settings = with_channels(make_settings(tmp_path), line_channel_secret=CHANNEL_SECRET,
                             line_channel_access_token=ACCESS_TOKEN, line_api_base_url=line_api.base_url)
    async with running_channels(settings, "/webhooks/line", line_router) as running:
        yield Line(running.ctx, running.client, line_api)


@pytest.fixture
async def tg(telegram_api, tmp_path: Path) -> AsyncIterator[Tg]:  # noqa: F811
    settings = with_channels(make_settings(tmp_path), telegram_bot_token=BOT_TOKEN,
                             telegram_webhook_secret=WEBHOOK_SECRET, telegram_api_base_url=telegram_api.base_url)
    async with running_channels(settings, "/webhooks/telegram", telegram_router) as running:
        running.ctx.extras["telegram"].sender.base_delay = 0.01
        yield Tg(running.ctx, running.client, telegram_api)


async def urgent(ctx: Any) -> list[list[str]]:
    async with ctx.sessions() as s:
        return [list(r) for r in (await s.scalars(select(Conversation.urgency_reasons).where(Conversation.urgent))).all()]


async def test_line_stop_word_inside_crisis_at_a_choice_prompt(line: Line) -> None:
    await line.send(wh.follow_event(USER, line.token()))
    await line.tap("ja")
    await line.tap("agree")
    await line.say("もうやめたい、全部。生きてるのがしんどい")
    assert await urgent(line.ctx) == [["suicide"]]
    flex = [m for m in line.api.messages_to(USER) if m["type"] == "flex"]
    uris = {b["action"]["uri"] for b in flex[-1]["contents"]["body"]["contents"]}
    assert uris >= SUICIDE_LINES and not line.api.violations
    assert line.offered() == ["human", "continue"]
    await line.tap("continue")
    assert "danger" in line.offered()  # back at the safety question


async def test_telegram_korean_crisis_text_gets_numbers_in_text(tg: Tg) -> None:
    await tg.send(message_update(TG_USER, "살기 싫다 진짜. 그냥 다 끝내고 싶어", language="ko"))
    assert await urgent(tg.ctx) == [["suicide"]]
    texts = [m["text"] for m in tg.api.sent_to(TG_USER)]
    assert any(catalog("ko").text("risk.open.suicide") in t and "0120-279-338" in t for t in texts), texts
    assert tg.offered() == ["human", "continue"]
