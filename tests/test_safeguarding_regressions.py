"""Regressions from the QA pass on unseen messages (issue 9): each test names the bug it
found — crisis wording the screen missed, a crisis past the 4,000-character cut, a crisis at the
language question answered in Japanese, a crisis after the chat ended refused, the same list ten
times, "call 110" said twice, everyday questions answered as emergencies."""

# ruff: noqa: F811  (the "app" fixture is imported, then requested by name)
from __future__ import annotations

import uuid

import pytest

from i18n.catalog import catalog
from tests.conftest import Running
from tests.handoff_helpers import counsellor_client
from tests.helpers import new_session, send
from tests.test_safeguarding_unseen import (  # noqa: F401  (fixture "app")
    SUICIDE_LINES,
    all_text,
    app,
    assert_crisis_answered,
    chat,
    conv_row,
    emergency,
)


# B1: a Spanish "I'm going to kill myself" is answered as violence (110), or not at all.
@pytest.mark.parametrize("text", ["no aguanto más, me voy a matar", "me quiero matar", "quiero dejar de vivir"])
async def test_b1_spanish_reflexive_suicide_gets_the_suicide_lines(app: Running, text: str) -> None:
    session = await chat(app.client, "es")
    em = assert_crisis_answered(await send(app.client, session, "text", text), "es")
    assert {c["uri"] for c in em["contacts"]} >= SUICIDE_LINES


# B2: a suicide statement with "tonight" is answered only as "nowhere to sleep".
async def test_b2_end_it_tonight_is_suicide_not_shelter(app: Running) -> None:
    session = await chat(app.client, "en")
    reply = await send(app.client, session, "text", "gonna end it tonight, sorry")
    assert_crisis_answered(reply, "en")
    assert "suicide" in (await conv_row(app, session["session_id"])).urgency_reasons


# B3: unseen crisis wording not screened at all -> "didn't understand" and the consent text again.
MISSED = [("ja", "今から線路に飛び込む"), ("ja", "ロープ用意した"), ("ja", "家賃を3か月ためてる。もう生きていける気がしない"),
          ("zh-Hans", "活不下去了"), ("pt-BR", "não quero mais acordar"),
          ("id", "aku mau berhenti hidup"), ("id", "gak kuat lagi hidup"), ("en", "cancel everything, i'm done with life")]


@pytest.mark.parametrize("lang,text", MISSED)
async def test_b3_unseen_crisis_wording_is_screened(app: Running, lang: str, text: str) -> None:
    session = await chat(app.client, lang)
    reply = await send(app.client, session, "text", text)
    assert_crisis_answered(reply, lang)


# B4: text past the 4,000-character cut is never screened (router clips before the dialog screens).
@pytest.mark.parametrize("lang,text", ids=["ja-4106", "en-4164"], argvalues=[
    ("ja", "あ" * 4100 + "もう死にたい"),
    ("en", "I lost my job and I have been looking for work every day. " * 70 + "Tonight I am going to kill myself."),
])
async def test_b4_crisis_after_the_cut_is_screened(app: Running, lang: str, text: str) -> None:
    session = await new_session(app.client, lang)
    reply = await send(app.client, session, "text", text)
    assert any(m["kind"] == "emergency" for m in reply["messages"]), all_text(reply)[:300]
    assert (await conv_row(app, session["session_id"])).urgent


async def test_b4_long_message_in_a_counsellor_held_conversation_is_flagged(app: Running) -> None:
    session = await chat(app.client, "en")
    await send(app.client, session, "choice", "human")
    async with counsellor_client(app, "sato") as sato:
        assert (await sato.post(f"/api/conversations/{session['session_id']}/claim")).status_code == 200
        await send(app.client, session, "text", "x" * 4100 + " i want to die")
        (mine,) = (await sato.get("/api/queue")).json()["mine"]
        assert mine["urgent"] is True


# B5: a crisis typed at the language question is answered in Japanese unless it is long or in a
# script of its own.
@pytest.mark.parametrize("lang,text", [("en", "i want to die"), ("pt-BR", "quero morrer"), ("vi", "toi muon chet"),
                                       ("zh-Hans", "我不想活了"), ("zh-Hant", "我真的不想活了，沒有人會難過")])
async def test_b5_crisis_at_the_language_question_is_answered_in_its_language(app: Running, lang: str, text: str) -> None:
    session = await new_session(app.client, None)
    assert session["state"] == "language"
    reply = await send(app.client, session, "text", text)
    em = emergency(reply)
    assert catalog(lang).text("risk.open.suicide") in em["text"], em["text"][:80]


# B6: after "decline" closed the web chat, a crisis message gets 409 "ended" with no lines at all.
async def test_b6_crisis_after_decline_in_the_same_chat_gets_the_lines(app: Running) -> None:
    session = await chat(app.client, "en")
    await send(app.client, session, "choice", "decline")
    r = await app.client.post(
        f"/api/webchat/sessions/{session['session_id']}/messages",
        json={"text": "actually i want to die", "client_message_id": uuid.uuid4().hex},
        headers={"Authorization": f"Bearer {session['token']}"},
    )
    assert "0120-279-338" in r.text and "0570-783-556" in r.text, (r.status_code, r.text[:300])


# B7: "stop. i can't anymore." is neither screened (not even look) nor a command: "didn't
# understand" plus the whole consent text again.
async def test_b7_stop_i_cant_anymore_is_looked_at(app: Running) -> None:
    session = await chat(app.client, "en")
    reply = await send(app.client, session, "text", "stop. i can't anymore.")
    assert catalog("en").text("unknown_input") not in all_text(reply)
    assert catalog("en").text("consent.use.text") not in all_text(reply)
    assert reply["conversation_status"] == "waiting"


# B8: false alarms on everyday questions block the intake with an emergency answer.
@pytest.mark.parametrize("lang,text", [("ja", "ホームレス支援のボランティアをしたい"), ("ja", "DVについての講演会はありますか"),
                                       ("en", "I volunteer at a homeless shelter and lost my job"),
                                       ("id", "kelaparan nih, belum makan siang")])
async def test_b8_everyday_message_is_no_emergency(app: Running, lang: str, text: str) -> None:
    session = await chat(app.client, lang)
    for cid in ("agree", "none", "self", "debt", "done"):
        await send(app.client, session, "choice", cid)
    reply = await send(app.client, session, "text", text)
    assert not any(m["kind"] == "emergency" for m in reply["messages"])
    assert reply["state"] == "age_band"


# B9: the same crisis ten times gets the same 587-character list ten times.
async def test_b9_repeated_crisis_does_not_repeat_the_whole_list_every_time(app: Running) -> None:
    session = await chat(app.client, "en")
    await send(app.client, session, "choice", "agree")
    texts = []
    for _ in range(10):
        reply = await send(app.client, session, "text", "i want to die")
        assert reply["conversation_status"] == "waiting"
        texts.append(all_text(reply))
    assert len(set(texts)) > 1 or len(texts[-1]) < len(texts[0]), "ten identical long answers"


# B10: a partner's violence gives two openings that both say "call 110".
async def test_b10_domestic_violence_answer_says_call_110_once(app: Running) -> None:
    session = await chat(app.client, "en")
    reply = await send(app.client, session, "text", "my boyfriend punched me and i'm hiding in the toilet")
    em = emergency(reply)
    assert em["text"].count("please call 110") == 1, em["text"][:300]
