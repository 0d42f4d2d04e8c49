"""Telegram as residents really use it, against the spec-checking Bot API stand-in: a
redelivered callback is answered exactly once (Telegram refuses a second answer), and /start
in the middle of an intake resumes it instead of "didn't understand"."""

from __future__ import annotations

from i18n.catalog import catalog
from tests.standins.telegram_fixtures import (  # noqa: F401
    callback_update,
    message_update,
    telegram_api,
    telegram_server,
)
from tests.test_telegram import USER, Tg, tg  # noqa: F401  (fixture "tg")


async def test_a_redelivered_callback_is_answered_once(tg: Tg) -> None:  # noqa: F811
    await tg.send(message_update(USER, "/start"))
    update = callback_update(tg.api, USER, f"c:{tg.offered()[0]}")
    sent = len(tg.api.sent_to(USER))
    for _ in range(3):  # Telegram redelivers an update whose 200 it did not see
        assert (await tg.send(update)).status_code == 200
    assert len(tg.api.calls_to("answerCallbackQuery")) == 1  # the stand-in refuses a second
    assert len(tg.api.sent_to(USER)) > sent  # the choice itself was taken once
    # a new press of a button is a new query: answered too
    await tg.send(callback_update(tg.api, USER, f"c:{tg.offered()[0]}"))
    assert len(tg.api.calls_to("answerCallbackQuery")) == 2


async def test_start_mid_intake_resumes_at_the_current_question(tg: Tg) -> None:  # noqa: F811
    await tg.send(message_update(USER, "/start"))  # Japanese from language_code: at consent
    question = tg.last()["text"]
    offered = tg.offered()
    await tg.send(message_update(USER, "/start"))
    cat = catalog("ja")
    texts = [m["text"] for m in tg.api.sent_to(USER)[-2:]]
    assert not any(cat.text("unknown_input")[:10] in t for t in texts), texts
    assert cat.text("resume.ask") in tg.last()["text"]
    assert set(tg.offered()) == {"continue", "restart"}
    await tg.send(callback_update(tg.api, USER, "c:continue"))
    assert tg.last()["text"] == question and tg.offered() == offered  # the same question again
