"""Threading tokens: verifiable, not guessable, found in any of the three places."""

from __future__ import annotations

import re

from hypothesis import given
from hypothesis import strategies as st

from bots.email.parse import parse_mail
from bots.email.threading import (
    ThreadKeys,
    find_conversation,
    new_message_id,
    reply_address,
    subject_with_token,
)

KEYS = ThreadKeys.from_secret("secret-one")
CENTRE = "soudan@example.lg.jp"


@given(st.integers(min_value=1, max_value=2**62))
def test_token_round_trip(conversation_id: int) -> None:
    token = KEYS.token(conversation_id)
    assert re.fullmatch(r"[0-9a-z]{1,13}-[a-z2-7]{12}", token)
    assert KEYS.verify(token) == conversation_id
    assert KEYS.verify(token.upper()) == conversation_id  # clients may change case


def test_tokens_cannot_be_forged_or_moved() -> None:
    token = KEYS.token(42)
    mac = token.split("-")[1]
    assert KEYS.verify(f"{KEYS.token(43).split('-')[0]}-{mac}") is None  # another conversation
    assert KEYS.verify(token[:-1] + ("a" if token[-1] != "a" else "b")) is None
    assert ThreadKeys.from_secret("secret-two").verify(token) is None  # another installation
    for junk in ("", "-", "abc", "zz-", "-aaaaaaaaaaaa", "!!-aaaaaaaaaaaa", "1" * 30 + "-aaaaaaaaaaaa"):
        assert KEYS.verify(junk) is None


def _reply(to: str, subject: str = "Re: 相談", extra: str = "") -> bytes:
    return f"From: r@example.jp\r\nTo: {to}\r\nSubject: {subject}\r\n{extra}\r\n本文".encode()


def test_found_by_plus_address_headers_or_subject() -> None:
    token = KEYS.token(7)
    plus = reply_address(CENTRE, token)
    assert plus == f"soudan+{token}@example.lg.jp"
    assert find_conversation(parse_mail(_reply(plus)), KEYS, CENTRE) == 7
    mid = new_message_id(CENTRE, token)
    assert find_conversation(parse_mail(_reply(CENTRE, extra=f"In-Reply-To: {mid}\r\n")), KEYS, CENTRE) == 7
    assert find_conversation(parse_mail(_reply(CENTRE, extra=f"References: <a@b> {mid}\r\n")), KEYS, CENTRE) == 7
    subject = subject_with_token("相談", token, "x")
    assert find_conversation(parse_mail(_reply(CENTRE, subject=f"RE: {subject}")), KEYS, CENTRE) == 7
    assert find_conversation(parse_mail(_reply(CENTRE)), KEYS, CENTRE) is None
    # a plus-address of someone else's mailbox is not ours
    assert find_conversation(parse_mail(_reply(f"other+{token}@example.lg.jp")), KEYS, CENTRE) is None


def test_subject_keeps_theirs_once_with_one_token() -> None:
    token = KEYS.token(9)
    assert subject_with_token("Re: RE: 返信: 家賃 [#old-token]", token, "ご相談") == f"Re: 家賃 [#{token}]"
    assert subject_with_token("", token, "ご相談") == f"Re: ご相談 [#{token}]"
    assert subject_with_token("Fwd: 転送：相談", None, "x") == "Re: 相談"


def test_message_ids_are_unique_and_carry_the_token() -> None:
    token = KEYS.token(5)
    ids = {new_message_id(CENTRE, token) for _ in range(100)}
    assert len(ids) == 100 and all(i.startswith(f"<madoguchi.{token}.") and i.endswith("@example.lg.jp>") for i in ids)
