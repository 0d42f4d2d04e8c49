"""Mail as it really arrives, and mail that must never be answered: au emoji and NEC/IBM
characters, lying charset labels, lone surrogates, a display name posing as an address, an
empty text/plain beside the HTML, every mailing-list / spam / bounce shape in use, header-less
auto-responders, and a huge body that must not stall anything."""

from __future__ import annotations

import base64
import time

import pytest

from bots.email.charsets import decode_bytes
from bots.email.loops import RepeatCounter, classify, fingerprint, soft_verdict
from bots.email.parse import parse_mail
from tests.fixtures.mail.make_carrier_mail import encode_cp50220

OWN = ["soudan@example.lg.jp"]


def mail(headers: str, body: bytes | str = "本文です", *, ctype: str = "text/plain; charset=utf-8") -> bytes:
    head = headers.strip().replace("\n", "\r\n")
    if "Content-Type" not in headers:
        head += f"\r\nMIME-Version: 1.0\r\nContent-Type: {ctype}"
    raw = body.encode() if isinstance(body, str) else body
    return head.encode("utf-8", "surrogateescape") + b"\r\n\r\n" + raw


def jis(*pairs: tuple[int, int], text: str = "") -> bytes:
    """ISO-2022-JP: the given JIS code pairs in one kanji run, then `text` (ASCII)."""
    return b"\x1b$B" + b"".join(bytes(p) for p in pairs) + b"\x1b(B" + text.encode()


# ── charsets ─────────────────────────────────────────────────────────────────────
def test_au_emoji_in_iso2022jp_become_emoji() -> None:
    # ⚠ (JIS 753A), ❤ (7834), 😭 (752C), 😢 (7B4E: a row Outlook uses for IBM kanji)
    body = jis((0x75, 0x3A), (0x78, 0x34), (0x75, 0x2C), (0x7B, 0x4E), (0x24, 0x22), text=" ok")
    raw = mail("From: hanako-1203@ezweb.ne.jp\nSubject: test", body, ctype="text/plain; charset=ISO-2022-JP")
    assert parse_mail(raw).text == "⚠️❤️😭😢あ ok"


def test_nec_and_ibm_characters_from_outlook_are_kanji_not_emoji() -> None:
    text = "①家賃Ⅱ期分、㈱髙﨑の件"
    raw = mail("From: yamada@outlook.jp\nSubject: test", encode_cp50220(text), ctype="text/plain; charset=iso-2022-jp")
    assert parse_mail(raw).text == text  # 髙 and 﨑 sit in rows au uses for emoji
    # the same rows from an au phone are au's emoji, never a wrong kanji
    # (纊, JIS 7921: KDDI's own code point U+E5CD; no standard emoji is known for it)
    au = mail("From: x@au.com\nSubject: t", encode_cp50220("纊"), ctype="text/plain; charset=iso-2022-jp")
    assert parse_mail(au).text == "\ue5cd"


@pytest.mark.parametrize(
    ("data", "label", "expected"),
    [
        ("朱镕基喆说：你好".encode("gbk"), "gb2312", "朱镕基喆说：你好"),  # GBK beyond GB2312
        ("生活费不够了".encode(), "gb2312", "生活费不够了"),  # UTF-8 under a GB2312 label
        ("家賃が払えません".encode(), "shift_jis", "家賃が払えません"),
        ("Tôi cần giúp đỡ".encode(), "iso-8859-1", "Tôi cần giúp đỡ"),
        ("Frösche über".encode("cp1252"), "utf-8", "Frösche über"),  # a UTF-8 label on Latin-1
        ("Frösche über".encode("cp1252"), None, "Frösche über"),
        ("家賃の相談".encode("cp932"), None, "家賃の相談"),
        ("월세를 못 내요".encode("cp949"), "ks_c_5601-1987", "월세를 못 내요"),
    ],
)
def test_lying_labels_and_unlabelled_bytes(data: bytes, label: str | None, expected: str) -> None:
    assert decode_bytes(data, label) == expected


def test_lone_surrogates_never_come_out() -> None:
    assert decode_bytes(b"+2D0-abc", "utf-7") == "\ufffdabc"  # UTF-7 can carry a lone surrogate
    assert decode_bytes(b"\x00\xd8a\x00", "utf-16-le") == "\ufffda"
    subject = "=?utf-7?Q?+2D0-?= =?utf-16?B?" + base64.b64encode(b"\xff\xfe\x3d\xd8").decode() + "?="
    raw = mail(f"From: a@example.jp\nSubject: {subject}", b"+2D0-\xe5\xae\xb6", ctype="text/plain; charset=utf-7")
    parsed = parse_mail(raw)
    for value in (parsed.subject, parsed.text, parsed.body):
        value.encode("utf-8")  # would raise on a surrogate
    assert "\ufffd" in parsed.subject


@pytest.mark.parametrize(
    ("from_header", "sender"),
    [
        # the display name decodes to "x@evil.example>" text: the address stays taro's
        ("=?utf-8?b?" + base64.b64encode("山田 <x@evil.example>".encode()).decode() + "?= <taro@home.example>",
         "taro@home.example"),
        ("=?utf-8?q?x=40evil.example_=3Cx@evil.example=3E?= <taro@home.example>", "taro@home.example"),
        ('"x@evil.example" <taro@home.example>', "taro@home.example"),
        ("alice@example.com <bob@example.com>", "bob@example.com"),
        ("taro@home.example (=?utf-8?b?" + base64.b64encode(b"<x@evil.example>").decode() + "?=)", "taro@home.example"),
    ],
)
def test_the_address_is_parsed_before_the_display_name_is_decoded(from_header: str, sender: str) -> None:
    assert parse_mail(mail(f"From: {from_header}\nSubject: 相談")).sender == sender


def test_empty_plain_beside_html_keeps_the_residents_words() -> None:
    raw = (
        "From: a@example.jp\r\nSubject: s\r\nMIME-Version: 1.0\r\n"
        'Content-Type: multipart/mixed; boundary="b"\r\n\r\n'
        "--b\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n \r\n"
        "--b\r\nContent-Type: text/html; charset=utf-8\r\n\r\n<p>家賃を3か月<b>滞納</b>しています</p>\r\n--b--\r\n"
    ).encode()
    parsed = parse_mail(raw)
    assert parsed.text == "家賃を3か月滞納しています" and parsed.html_only


# ── automatic mail ───────────────────────────────────────────────────────────────
@pytest.mark.parametrize(
    ("headers", "reason"),
    [
        ("From: a@example.jp\nList-Subscribe: <mailto:s@lists.example.jp>", "mailing-list"),
        ("From: a@example.jp\nList-Archive: <https://lists.example.jp/arc>", "mailing-list"),
        ("From: a@example.jp\nList-Owner: <mailto:o@lists.example.jp>", "mailing-list"),
        ("From: a@example.jp\nMailing-List: contact help@yahoogroups.example; run by ezmlm", "mailing-list"),
        ("From: a@example.jp\nX-Mailing-List: <ml@example.jp> archive/latest/123", "mailing-list"),
        ("From: a@example.jp\nX-ML-Name: chonaikai\nX-Mail-Count: 01234", "mailing-list"),
        ("From: a@example.jp\nX-MLServer: fml [fml 4.0.3 release]", "mailing-list"),
        ("From: a@example.jp\nX-BeenThere: users@lists.example.org", "mailing-list"),
        ("From: a@example.jp\nSender: owner-chonai@ml.example.jp", "list-sender"),
        ("From: a@example.jp\nReturn-Path: <chonai-admin@ml.example.jp>", "list-sender"),
        ("From: chonai-owner@ml.example.jp", "system-sender"),
        ("From: chonai-admin@ml.example.jp", "system-sender"),
        ("From: owner-chonai@ml.example.jp", "system-sender"),
        ("From: a@example.jp\nX-Spam-Status: Yes, score=12.1 required=5.0", "spam"),
        ("From: a@example.jp\nX-Spam-Flag: YES", "spam"),
        ("From: a@example.jp\nX-Spam: Spam", "spam"),
        ("From: a@example.jp\nX-Failed-Recipients: nobody@example.com", "bounce"),
        ("From: a@example.jp\nReturn-Path: < >", "null-return-path"),
        ("From: MAILER_DAEMON@mx.example.jp", "system-sender"),
        ("From: a@example.jp\nSubject: failure notice", "auto-subject"),
        ("From: a@example.jp\nSubject: 【自動返信】お問い合わせありがとうございます", "auto-subject"),
        ("From: a@example.jp\nSubject: Re: 自動返信：不在のお知らせ", "auto-subject"),
        ("From: a@example.jp\nSubject: [info] 不在通知", "auto-subject"),
        ("From: a@example.jp\nSubject: Delivery delayed: 相談", "auto-subject"),
    ],
)
def test_every_automatic_shape_in_use(headers: str, reason: str) -> None:
    verdict = classify(parse_mail(mail(headers)), OWN)
    assert verdict.automatic and verdict.reason == reason


def test_a_bounce_wrapped_in_multipart_mixed() -> None:
    raw = (
        "From: Mail Delivery Subsystem <delivery@mx.example.jp>\r\nSubject: 相談\r\nMIME-Version: 1.0\r\n"
        'Content-Type: multipart/mixed; boundary="o"\r\n\r\n'
        "--o\r\nContent-Type: text/plain\r\n\r\nSee below\r\n"
        "--o\r\nContent-Type: message/delivery-status\r\n\r\nReporting-MTA: dns; mx.example.jp\r\n\r\n"
        "Final-Recipient: rfc822; x@example.com\r\nAction: failed\r\nStatus: 5.1.1\r\n--o--\r\n"
    ).encode()
    assert classify(parse_mail(raw), OWN).reason == "report"


@pytest.mark.parametrize(
    "headers",
    [
        "From: a@example.jp\nX-Spam-Status: No, score=-0.9 required=5.0",
        "From: a@example.jp\nX-Spam-Flag: NO",
        "From: a@example.jp\nSubject: 不在者投票のことで相談です",  # 不在 in a real question
        "From: a@example.jp\nSubject: Reading: 家計の相談",
        "From: admin.tanaka@example.jp",  # admin as a name, not a list's -admin
    ],
)
def test_people_are_still_answered(headers: str) -> None:
    assert not classify(parse_mail(mail(headers)), OWN).automatic


@pytest.mark.parametrize(
    "body",
    [
        "このメールは自動返信です。\n12月28日から1月4日まで不在にしております。",
        "ただいま不在にしております。戻り次第ご連絡いたします。",
        "Thank you for your email. I am currently out of the office until Monday.",
        "This is an automatic reply. Your message has been received.",
    ],
)
def test_header_less_auto_responders_are_kept_not_answered(body: str) -> None:
    parsed = parse_mail(mail("From: tanaka@example.co.jp\nSubject: Re: ご相談の受付", body))
    assert not classify(parsed, OWN).automatic  # kept for the counsellor …
    assert soft_verdict(parsed) == "auto-wording"  # … but never answered


def test_a_resident_mentioning_an_auto_reply_is_answered() -> None:
    body = ("区役所に電話しましたが、つながりませんでした。家賃を2か月滞納していて、大家さんから出ていくように"
            "言われています。子どもが2人います。どうしたらいいでしょうか。" * 20 + "自動返信のメールしか来ません。")
    assert soft_verdict(parse_mail(mail("From: a@example.jp\nSubject: 相談", body))) is None


async def test_near_identical_replies_are_an_auto_responder() -> None:
    one = parse_mail(mail("From: t@example.co.jp", "受付番号 10231 でお問い合わせを受け付けました。2026/12/01 10:00"))
    two = parse_mail(mail("From: t@example.co.jp", "受付番号 10232 でお問い合わせを受け付けました。2026/12/01 10:01"))
    other = parse_mail(mail("From: t@example.co.jp", "家賃の相談をしたいです。"))
    assert fingerprint(one) == fingerprint(two) != fingerprint(other)
    counter = RepeatCounter(limit=2)
    assert not await counter.repeated("t@example.co.jp", fingerprint(one))
    assert not await counter.repeated("t@example.co.jp", fingerprint(other))
    assert not await counter.repeated("t@example.co.jp", fingerprint(two))
    assert await counter.repeated("t@example.co.jp", fingerprint(one))  # the third time
    assert not await counter.repeated("u@example.co.jp", fingerprint(one))  # per address


# ── huge bodies ──────────────────────────────────────────────────────────────────
def test_a_200000_character_line_parses_quickly() -> None:
    body = "家賃の相談です。" + "あ" * 200_000 + " wrote:"
    started = time.perf_counter()
    parsed = parse_mail(mail("From: a@example.jp\nSubject: 長文", body))
    assert time.perf_counter() - started < 1.5  # it took over 10 s before the patterns were bounded
    assert parsed.text.startswith("家賃の相談です。") and parsed.truncated


def test_a_5mb_body_with_quoted_history_parses_within_bounds() -> None:
    quoted = "\n".join(f"> {i}行目: 以前のメールの引用です。On Mon wrote something" for i in range(68_000))
    body = "お世話になります。新しい相談です。\n\n2026年11月22日 9:00 相談窓口 <soudan@example.lg.jp>:\n" + quoted
    raw = mail("From: a@example.jp\nSubject: Re: 相談", body)
    assert 4_900_000 < len(raw) < 6 * 1024 * 1024
    started = time.perf_counter()
    parsed = parse_mail(raw, max_bytes=6 * 1024 * 1024)
    assert time.perf_counter() - started < 3
    assert parsed.text == "お世話になります。新しい相談です。"
    assert len(parsed.body) <= 200_000
