"""LineSender against the spec-validating LINE stand-in."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator

import pytest

from bots.common.textsplit import utf16_len
from bots.line.channels import LineChannel, LineChannels
from bots.line.memory import ChoiceMemory
from bots.line.render import MAX_QUICK_REPLIES, number_answer, render
from bots.line.sender import LineApi, LineSender, RetryPolicy
from dialogs.types import Choice, OutboundMessage
from handoff.delivery import DeliveryError, DeliveryTarget
from tests.standins.line_api import Fault
from tests.standins.line_fixtures import ACCESS_TOKEN, CHANNEL_SECRET, line_api, line_server  # noqa: F401

USER = "U" + "a" * 32
FAST = RetryPolicy(attempts=6, base_delay=0.01, max_delay=0.05)


@pytest.fixture
async def sender(line_api) -> AsyncIterator[LineSender]:  # noqa: F811
    api = LineApi(line_api.base_url)
    channels = LineChannels([LineChannel("minato-tokyo", CHANNEL_SECRET, ACCESS_TOKEN)], "minato-tokyo")
    yield LineSender(channels, api, ChoiceMemory(), FAST)
    await api.aclose()


def target(reply_token: str | None = None, at: float | None = None) -> DeliveryTarget:
    ctx = {}
    if reply_token:
        ctx = {"reply_token": reply_token, "reply_token_at": f"{at if at is not None else time.time():.3f}"}
    return DeliveryTarget("minato-tokyo", "line", USER, 1, "ja", ctx)


CHOICES = (Choice("agree", "同意します"), Choice("decline", "同意しません"), Choice("more", "くわしく知りたい"))


async def test_reply_with_quick_replies_uses_the_token(sender, line_api) -> None:  # noqa: F811
    token = line_api.issue_reply_token(USER)
    await sender.send(target(token), [OutboundMessage("利用に同意しますか?", CHOICES)])
    [delivered] = line_api.delivered
    assert delivered.via == "reply"
    items = delivered.message["quickReply"]["items"]
    assert [i["action"]["data"] for i in items] == ["c:agree", "c:decline", "c:more"]
    assert [i["action"]["displayText"] for i in items] == [c.label for c in CHOICES]


async def test_expired_or_spent_token_falls_back_to_push_with_retry_key(sender, line_api) -> None:  # noqa: F811
    old = line_api.issue_reply_token(USER)
    await sender.send(target(old, at=time.time() - 120), [OutboundMessage("a")])
    spent = line_api.issue_reply_token(USER)
    await sender.send(target(spent), [OutboundMessage("b")])
    await sender.send(target(spent), [OutboundMessage("c")])  # the same token again: push
    assert [(d.message["text"], d.via) for d in line_api.delivered] == [("a", "push"), ("b", "reply"), ("c", "push")]
    pushes = line_api.calls_to("pushMessage")
    assert all(c.headers.get("x-line-retry-key") for c in pushes)
    assert not line_api.calls_to("replyMessage")[1:]  # the stale token was never even tried


async def test_token_refused_by_line_falls_back_to_push(sender, line_api) -> None:  # noqa: F811
    await sender.send(target("never-issued"), [OutboundMessage("こんにちは")])
    assert [d.via for d in line_api.delivered] == ["push"]


async def test_long_text_split_and_more_than_five_messages(sender, line_api) -> None:  # noqa: F811
    long = ("生活のことで困っています。" * 800).strip()  # > 5000 characters
    messages = [OutboundMessage(long)] + [OutboundMessage(f"{i}番目") for i in range(6)]
    token = line_api.issue_reply_token(USER)
    await sender.send(target(token), [*messages[:-1], OutboundMessage("最後", CHOICES)])
    texts = [d.message["text"] for d in line_api.delivered]
    assert "".join(texts[:-6]) == long and all(utf16_len(t) <= 5000 for t in texts)
    vias = [d.via for d in line_api.delivered]
    assert vias[:5] == ["reply"] * 5 and set(vias[5:]) == {"push"}
    assert "quickReply" in line_api.delivered[-1].message
    assert all(len(c.body["messages"]) <= 5 for c in line_api.calls if c.body)


async def test_long_labels_and_emoji_fit_line_limits(sender, line_api) -> None:  # noqa: F811
    choices = (Choice("money", "生活費・お金のこと(収入が足りない、貯金がない)"), Choice("other", "😀" * 15))
    await sender.send(target(), [OutboundMessage("<script>alert(1)</script> 何に困っていますか?", choices)])
    [d] = line_api.delivered
    labels = [i["action"]["label"] for i in d.message["quickReply"]["items"]]
    assert all(utf16_len(label) <= 20 for label in labels) and labels[0].endswith("…")
    assert d.message["text"].startswith("<script>")  # sent as text, LINE shows it literally


async def test_more_than_13_choices_become_a_numbered_list_and_numbers_map_back(sender, line_api) -> None:  # noqa: F811
    many = tuple(Choice(f"c{i}", f"選択肢{i}") for i in range(1, MAX_QUICK_REPLIES + 3))
    await sender.send(target(), [OutboundMessage("どれですか?", many)])
    [d] = line_api.delivered
    assert "quickReply" not in d.message
    assert "1. 選択肢1" in d.message["text"] and "15. 選択肢15" in d.message["text"]
    numbered = await sender.memory.numbered(f"minato-tokyo:line:{USER}")
    assert number_answer("１５", numbered) == "c15" and number_answer("16", numbered) is None
    await sender.send(target(), [OutboundMessage("次", CHOICES)])
    assert await sender.memory.numbered(f"minato-tokyo:line:{USER}") == []


async def test_burst_of_429_delays_but_loses_nothing(sender, line_api) -> None:  # noqa: F811
    line_api.script("pushMessage", Fault(429, retry_after=1), Fault(429, retry_after=0), Fault(500), Fault(502))
    started = time.monotonic()
    await sender.send(target(), [OutboundMessage("届きますか")])
    assert time.monotonic() - started >= 1.0  # Retry-After was honoured
    assert [d.message["text"] for d in line_api.delivered] == ["届きますか"]
    keys = {c.headers["x-line-retry-key"] for c in line_api.calls_to("pushMessage")}
    assert len(keys) == 1 and len(line_api.calls_to("pushMessage")) == 5


async def test_lost_response_is_not_delivered_twice(sender, line_api) -> None:  # noqa: F811
    line_api.script("pushMessage", Fault(500, accept=True))  # delivered, but the answer is 500
    await sender.send(target(), [OutboundMessage("一度だけ")])
    assert [d.message["text"] for d in line_api.delivered] == ["一度だけ"]
    assert [c.status for c in line_api.calls_to("pushMessage")] == [500, 409]


async def test_reply_429_then_retry_within_token_life(sender, line_api) -> None:  # noqa: F811
    line_api.script("replyMessage", Fault(429, retry_after=0))
    token = line_api.issue_reply_token(USER)
    await sender.send(target(token), [OutboundMessage("返信")])
    assert [d.via for d in line_api.delivered] == ["reply"]


async def test_gives_up_with_delivery_error(sender, line_api) -> None:  # noqa: F811
    line_api.script("pushMessage", *[Fault(503)] * 6)
    with pytest.raises(DeliveryError):
        await sender.send(target(), [OutboundMessage("x")])
    assert not line_api.delivered


async def test_unknown_profile_and_refused_token_raise(sender, line_api) -> None:  # noqa: F811
    with pytest.raises(DeliveryError):
        await sender.send(DeliveryTarget("nowhere", "line", USER, 1, "ja"), [OutboundMessage("x")])
    line_api.access_tokens.clear()  # LINE answers 401: not retried
    with pytest.raises(DeliveryError):
        await sender.send(target(), [OutboundMessage("x")])
    assert len(line_api.calls_to("pushMessage")) == 1


async def test_loading_animation_is_valid(sender, line_api) -> None:  # noqa: F811
    await sender.show_loading(sender.channels.for_profile("minato-tokyo"), USER)
    assert line_api.loading == [{"chatId": USER, "loadingSeconds": 20}]


def test_render_moves_quick_reply_to_the_last_message() -> None:
    out = render([OutboundMessage("質問", CHOICES), OutboundMessage("補足")], "ja")
    assert "quickReply" not in out.messages[0] and "quickReply" in out.messages[1]
    assert render([OutboundMessage("", CHOICES)], "ja").messages[0]["text"]  # never empty


# What the reply sends is the dict render made (no SDK model round trip on the hot path), so
# it must be exactly what the SDK's own models would have sent: same keys, no nulls.
VARIED = [
    [OutboundMessage("利用に同意しますか?", CHOICES)],
    [OutboundMessage("Xin chào 🙏 <script>alert(1)</script>", machine_translated=True)],
    [OutboundMessage("緊急の場合は119番へ", kind="emergency"), OutboundMessage("続けますか?", CHOICES[:2])],
    [OutboundMessage("選んでください", tuple(Choice(f"c{i}", f"項目{i}") for i in range(MAX_QUICK_REPLIES + 3)))],
    [OutboundMessage("長い" * 3000)],
    [OutboundMessage(f"{i}件目") for i in range(7)],
]


@pytest.mark.parametrize("messages", VARIED, ids=["choices", "translated", "emergency", "numbered", "long", "seven"])
async def test_a_reply_is_sent_as_the_sdk_models_would_send_it(sender, line_api, messages) -> None:  # noqa: F811
    from linebot.v3.messaging import ReplyMessageRequest

    from bots.line.render import batches

    token = line_api.issue_reply_token(USER)
    await sender.send(target(token), messages)
    [first_batch, *_] = batches(render(messages, "ja").messages)
    body = {"replyToken": token, "messages": first_batch, "notificationDisabled": False}
    assert ReplyMessageRequest.from_dict(body).to_dict() == body
    [call] = line_api.calls_to("replyMessage")  # checked against messaging-api.yml by the stand-in
    assert call.body == body
