"""Pictures and documents from every channel (issue 16 item 1): checked by content, cleaned of
EXIF/GPS, sealed under the resident's key, capped, shown to the counsellor with every view
audited, erased with the resident; albums answered once; a counsellor's PDF sent back."""

from __future__ import annotations

import io
import uuid
from collections.abc import AsyncIterator
from typing import Any

import pytest
from PIL import Image
from sqlalchemy import select, text

from bots.line import line_router
from casecore import crypto
from casecore import media as core
from casecore.models import AuditEvent, ContactPoint, Conversation, Message
from i18n.catalog import catalog
from tests.conftest import TEST_SECRET, Running
from tests.dovecot import dovecot_fixture  # noqa: F401  (fixture "dovecot")
from tests.handoff_helpers import counsellor_client
from tests.smtp_sink import smtp_sink_fixture  # noqa: F401  (fixture "smtp_sink")
from tests.standins import line_webhook as wh
from tests.standins.line_fixtures import ACCESS_TOKEN, CHANNEL_SECRET, line_api, line_server  # noqa: F401
from tests.standins.stack import running_channels, with_channels
from tests.standins.telegram_fixtures import (  # noqa: F401
    BOT_TOKEN,
    WEBHOOK_SECRET,
    callback_update,
    message_update,
    telegram_api,
    telegram_server,
)
from tests.test_line_webhook import USER, Line
from tests.test_telegram import USER as TG_USER
from tests.test_telegram import Tg

GPS_LAT = (35.0, 39.0, 29.58)  # 35°39'29.58" — 港区芝公園
JPEG_SOI = b"\xff\xd8\xff"


# ── realistic files, made here ────────────────────────────────────────────────────────────
def letter_jpeg(width: int = 640, height: int = 480, *, gps: bool = True, orientation: int | None = 6) -> bytes:
    """A photographed dunning letter from a phone: EXIF with the maker, GPS and rotation."""
    from PIL import ImageDraw

    img = Image.new("RGB", (width, height), (250, 248, 240))
    draw = ImageDraw.Draw(img)
    for y in range(40, height - 40, 24):
        draw.line((40, y, width - 40, y), fill=(30, 30, 30), width=2)
    draw.rectangle((width - 140, 30, width - 40, 90), outline=(200, 0, 0), width=4)  # 督促 stamp
    exif = Image.Exif()
    exif[0x010F] = "Apple"
    exif[0x0110] = "iPhone 15"
    if orientation:
        exif[0x0112] = orientation
    if gps:
        gps_ifd = {1: "N", 2: GPS_LAT, 3: "E", 4: (139.0, 44.0, 54.3)}
        exif[0x8825] = gps_ifd
    out = io.BytesIO()
    img.save(out, "JPEG", exif=exif.tobytes(), quality=90)
    return out.getvalue()


def small_png(alpha: bool = False) -> bytes:
    out = io.BytesIO()
    Image.new("RGBA" if alpha else "RGB", (64, 48), (10, 120, 200, 128) if alpha else (10, 120, 200)).save(out, "PNG")
    return out.getvalue()


def real_pdf(title: str = "申請書") -> bytes:
    from fpdf import FPDF

    pdf = FPDF()
    pdf.add_page()
    pdf.set_font("helvetica", size=14)
    pdf.cell(0, 10, "Housing benefit application form")
    return bytes(pdf.output())


async def raw_database(ctx: Any) -> bytes:
    """What the database holds, byte for byte: the SQLite file and its WAL, or every row of
    PostgreSQL's channel_media and message tables as stored."""
    from pathlib import Path

    url = ctx.engine.url
    if url.get_backend_name() == "sqlite":
        parts = [Path(url.database), Path(url.database + "-wal")]
        return b"".join(p.read_bytes() for p in parts if p.exists())
    async with ctx.engine.connect() as conn:
        rows = (await conn.execute(text("SELECT data, thumbnail, filename, sha256 FROM channel_media"))).all()
        msgs = (await conn.execute(text("SELECT text FROM message"))).all()
    return "\n".join(str(v) for row in [*rows, *msgs] for v in row).encode()


def gps_of(data: bytes) -> Any:
    with Image.open(io.BytesIO(data)) as img:
        return img.getexif().get_ifd(0x8825)


# ── the core: type by content, re-encoding ────────────────────────────────────────────────
@pytest.fixture(autouse=True)
def _cipher() -> None:
    crypto.configure(crypto.FieldCipher.from_secrets(TEST_SECRET))


def test_type_is_found_from_the_bytes_never_the_name() -> None:
    assert core.sniff(letter_jpeg()) == ("image/jpeg", "image")
    assert core.sniff(real_pdf()) == ("application/pdf", "file")
    assert core.sniff(small_png()) == ("image/png", "image")  # a PNG named "form.pdf" is a PNG
    for bad in (b"<!DOCTYPE html><html><script>alert(1)</script>", b"  <html><body>x</body></html>",
                b'<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg"><script>x</script></svg>',
                b"MZ\x90\x00\x03" + b"\x00" * 60, b"\x7fELF\x02\x01\x01", b"#!/bin/sh\nrm -rf /"):
        with pytest.raises(core.MediaRefused):
            core.sniff(bad)
    assert core.sniff(b"PK\x03\x04 a zip or an office document") == (core.OCTET, "file")


def test_an_image_is_re_encoded_upright_without_exif_or_gps() -> None:
    original = letter_jpeg(640, 480, orientation=6)
    assert gps_of(original)  # the phone wrote where it was taken
    checked = core.check(original)
    assert checked.kind == "image" and checked.content_type == "image/jpeg"
    with Image.open(io.BytesIO(checked.data)) as img:
        assert img.size == (480, 640)  # rotated as EXIF said, then the tag dropped
        assert not img.getexif() and not gps_of(checked.data)
        assert "icc_profile" not in img.info and "exif" not in img.info
    assert b"Apple" not in checked.data and b"iPhone" not in checked.data
    with Image.open(io.BytesIO(checked.thumbnail or b"")) as thumb:
        assert max(thumb.size) <= core.THUMB_SIDE
    assert checked.fingerprint != __import__("hashlib").sha256(original).hexdigest()  # keyed, not a plain hash
    assert checked.fingerprint == crypto.cipher().keyed_digest(original)


def test_a_png_with_transparency_stays_png_and_bad_images_are_refused() -> None:
    assert core.check(small_png(alpha=True)).content_type == "image/png"
    truncated = letter_jpeg()[:900]
    with pytest.raises(core.MediaRefused):
        core.check(truncated)
    with pytest.raises(core.MediaRefused):
        core.check(b"\xff\xd8\xff\xe0 not really a jpeg")


def test_a_decompression_bomb_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(core, "MAX_IMAGE_PIXELS", 10_000)  # 640x480 is then a "bomb"
    with pytest.raises(core.MediaRefused):
        core.check(letter_jpeg())


def test_filenames_are_labels_only() -> None:
    assert core.safe_filename("../../etc/passwd") == "passwd"
    assert core.safe_filename("C:\\Users\\花子\\督促状📄.jpg") == "督促状📄.jpg"
    assert core.safe_filename('a"<b>\x00.pdf') == "ab.pdf"
    assert core.safe_filename("") is None


# ── LINE: content API through the stand-in ────────────────────────────────────────────────
def media_event(kind: str, reply_token: str | None, *, image_set: dict[str, Any] | None = None,
                external: bool = False, file_name: str = "督促状.pdf", file_size: int = 10) -> dict[str, Any]:
    event = wh.media_event(USER, kind, reply_token)
    if image_set is not None:
        event["message"]["imageSet"] = image_set
    if external:
        event["message"]["contentProvider"] = {"type": "external", "originalContentUrl": "https://169.254.169.254/latest",
                                               "previewImageUrl": "https://169.254.169.254/p"}
    if kind == "file":
        event["message"]["fileName"], event["message"]["fileSize"] = file_name, file_size
    return event


@pytest.fixture
async def line(line_api, stack) -> AsyncIterator[Line]:  # noqa: F811
    settings = with_channels(stack, line_channel_secret=CHANNEL_SECRET, line_channel_access_token=ACCESS_TOKEN,
                             line_api_base_url=line_api.base_url, line_data_api_base_url=line_api.base_url,
                             media_max_file_bytes=2 * 1024 * 1024)
    async with running_channels(settings, "/webhooks/line", line_router) as running:
        yield Line(running.ctx, running.client, line_api)


async def media_rows(ctx: Any) -> list[core.ChannelMedia]:
    async with ctx.sessions() as s:
        return list((await s.scalars(select(core.ChannelMedia).order_by(core.ChannelMedia.id))).all())


async def test_a_line_photo_mid_intake_is_stored_acknowledged_and_the_question_asked_again(line: Line) -> None:
    await line.send(wh.follow_event(USER, line.token()))
    question = line.last()["text"]
    event = media_event("image", line.token())
    photo = letter_jpeg()
    line.api.add_content(event["message"]["id"], photo, "image/jpeg")
    await line.send(event)
    said = [m["text"] for m in line.api.messages_to(USER)[-2:]]
    assert said[0] == catalog("ja", "media").text("received")
    assert said[1] == question
    assert not any(catalog("ja").text("unknown_input")[:10] in t for t in said)
    assert not any(catalog("ja").text("media.unsupported")[:10] in t for t in said)
    (row,) = await media_rows(line.ctx)
    assert row.status == "stored" and row.kind == "image" and row.content_type == "image/jpeg"
    assert not gps_of(row.data) and row.data.startswith(JPEG_SOI) and row.thumbnail
    assert line.api.calls_to("getMessageContent") and not line.api.violations
    async with line.ctx.engine.connect() as conn:
        raw = (await conn.execute(text("SELECT data, thumbnail, filename FROM channel_media"))).one()
    async with line.ctx.sessions() as s:
        kid = await s.scalar(select(ContactPoint.data_key_id))
    assert raw[0].startswith(f"v2.{kid}.") and raw[1].startswith(f"v2.{kid}.")  # under the resident's key


async def test_three_photos_sent_together_are_acknowledged_once(line: Line) -> None:
    await line.send(wh.follow_event(USER, line.token()))
    before = len(line.api.messages_to(USER))
    set_id = uuid.uuid4().hex
    events = [media_event("image", line.token(), image_set={"id": set_id, "index": i, "total": 3}) for i in (1, 2, 3)]
    for e in events:
        line.api.add_content(e["message"]["id"], letter_jpeg(320, 240), "image/jpeg")
    await line.send(*events)
    said = [m["text"] for m in line.api.messages_to(USER)[before:]]
    assert said.count(catalog("ja", "media").text("received")) == 1 and len(said) == 2
    assert [r.status for r in await media_rows(line.ctx)] == ["stored"] * 3


async def test_line_video_audio_and_file_are_kept_and_external_content_is_not_fetched(line: Line) -> None:
    await line.send(wh.follow_event(USER, line.token()))
    video, audio, pdf = media_event("video", line.token()), media_event("audio", line.token()), \
        media_event("file", line.token(), file_name="家賃のお知らせ🏠.pdf", file_size=len(real_pdf()))
    line.api.add_content(video["message"]["id"], b"\x00\x00\x00\x18ftypmp42" + b"\x00" * 200, "video/mp4")
    line.api.add_content(audio["message"]["id"], b"\x00\x00\x00\x18ftypM4A " + b"\x00" * 200, "audio/m4a")
    line.api.add_content(pdf["message"]["id"], real_pdf(), "application/pdf")
    outside = media_event("image", line.token(), external=True)
    await line.send(video, audio, pdf, outside)
    rows = await media_rows(line.ctx)
    assert [(r.kind, r.status, r.content_type) for r in rows] == [
        ("video", "stored", "video/mp4"), ("audio", "stored", "audio/mp4"),
        ("file", "stored", "application/pdf"), ("image", "unavailable", core.OCTET)]
    assert rows[2].filename == "家賃のお知らせ🏠.pdf"
    fetched = [c.path for c in line.api.calls_to("getMessageContent")]
    assert len(fetched) == 3 and outside["message"]["id"] not in "".join(fetched)  # no SSRF
    assert not line.api.violations
    assert catalog("ja", "media").text("not_fetched") in [m["text"] for m in line.api.messages_to(USER)]


async def test_an_oversized_line_file_is_not_kept_and_the_resident_is_told(line: Line) -> None:
    await line.send(wh.follow_event(USER, line.token()))
    big = media_event("image", line.token())
    line.api.add_content(big["message"]["id"], JPEG_SOI + b"\x00" * (3 * 1024 * 1024), "image/jpeg")
    await line.send(big)
    (row,) = await media_rows(line.ctx)
    assert row.status == "too_large" and row.data is None
    assert catalog("ja", "media").text("too_large", limit=2) in [m["text"] for m in line.api.messages_to(USER)]
    async with line.ctx.sessions() as s:
        msg = await s.scalar(select(Message).where(Message.kind == "media"))
        assert msg is not None and msg.media_type == "image"


# ── Telegram: getFile and the file download through the stand-in ─────────────────────────


@pytest.fixture
async def tg(telegram_api, stack) -> AsyncIterator[Tg]:  # noqa: F811
    from bots.common.retry import RetryPolicy
    from bots.telegram import telegram_router

    settings = with_channels(stack, telegram_bot_token=BOT_TOKEN, telegram_webhook_secret=WEBHOOK_SECRET,
                             telegram_api_base_url=telegram_api.base_url)
    async with running_channels(settings, "/webhooks/telegram", telegram_router) as running:
        running.ctx.extras["telegram"].sender.policy = RetryPolicy(base_delay=0.01, max_delay=0.05)
        resident = Tg(running.ctx, running.client, telegram_api)
        resident.running = running  # type: ignore[attr-defined]
        yield resident


def photo_sizes(api: Any, stem: str, data: bytes) -> list[dict[str, Any]]:
    """As Telegram sends a photo: several sizes, the largest last; only the largest is served."""
    api.add_file(f"{stem}-big", data, f"photos/{stem}.jpg")
    return [{"file_id": f"{stem}-s", "file_unique_id": f"{stem}s", "width": 90, "height": 67, "file_size": 1200},
            {"file_id": f"{stem}-big", "file_unique_id": f"{stem}b", "width": 640, "height": 480, "file_size": len(data)}]


async def test_a_telegram_album_is_stored_whole_and_answered_once(tg: Tg) -> None:
    await tg.send(message_update(TG_USER, "/start"))  # (the language comes from Telegram's language_code)
    question = tg.last()["text"]
    before = len(tg.api.sent_to(TG_USER))
    for i in range(3):
        update = message_update(TG_USER, None, photo=photo_sizes(tg.api, f"p{i}", letter_jpeg(640, 480)),
                                media_group_id="13579246801357924", **({"caption": "督促状です"} if i == 0 else {}))
        await tg.send(update)
    said = [m["text"] for m in tg.api.sent_to(TG_USER)[before:]]
    assert said == [catalog("ja", "media").text("received"), question]
    rows = await media_rows(tg.ctx)
    assert [(r.kind, r.status) for r in rows] == [("image", "stored")] * 3
    assert all(not gps_of(r.data) for r in rows)
    assert [c.params["file_id"] for c in tg.api.calls_to("getFile")] == ["p0-big", "p1-big", "p2-big"]
    async with tg.ctx.sessions() as s:
        captions = (await s.scalars(select(Message.text).where(Message.kind == "media").order_by(Message.id))).all()
    assert captions == ["督促状です", None, None]
    assert not tg.api.violations


async def test_a_telegram_document_beyond_the_cap_is_not_downloaded(tg: Tg) -> None:
    await tg.send(message_update(TG_USER, "/start"))
    tg.api.add_file("bigdoc", b"%PDF-1.4\n" + b"0" * 1024, "documents/file_1.pdf")
    doc = {"file_id": "bigdoc", "file_unique_id": "bd", "file_name": "給与明細.pdf", "mime_type": "application/pdf",
           "file_size": 25 * 1024 * 1024}  # what Telegram says: beyond its own 20 MB getFile limit
    await tg.send(message_update(TG_USER, None, document=doc))
    (row,) = await media_rows(tg.ctx)
    assert row.status == "too_large" and row.filename == "給与明細.pdf" and row.data is None
    assert not tg.api.calls_to("getFile")
    assert catalog("ja", "media").text("too_large", limit=10) in [m["text"] for m in tg.api.sent_to(TG_USER)]


# ── email: attachments, inline images, signatures, forwarded mail ─────────────────────────
def scanned_letter_mail() -> bytes:
    """As a phone's mail app sends it: text and HTML alternatives, the HTML's inline image in
    multipart/related, a photographed letter attached, and the whole signed with S/MIME."""
    from email.message import EmailMessage
    from email.mime.application import MIMEApplication
    from email.mime.multipart import MIMEMultipart
    from email.policy import default

    body = EmailMessage()
    body.set_content("市役所から督促状が届きました。写真を送ります。家賃も払えていません。")
    body.add_alternative('<p>市役所から督促状が届きました。<img src="cid:stamp@x"></p>', subtype="html")
    body.get_payload()[1].add_related(small_png(), maintype="image", subtype="png", cid="<stamp@x>")
    body.add_attachment(letter_jpeg(), maintype="image", subtype="jpeg", filename="督促状📄.jpg")
    del body["MIME-Version"]
    signed = MIMEMultipart("signed", protocol="application/pkcs7-signature", micalg="sha-256", policy=default)
    signed["From"], signed["To"] = "Hanako Yamada <hanako@example.ne.jp>", "soudan@example.lg.jp"
    signed["Subject"], signed["Message-ID"] = "督促状が届きました", f"<scan-{uuid.uuid4().hex}@example.ne.jp>"
    signed.attach(body)
    signed.attach(MIMEApplication(b"0\x82\x05\x00 pkcs7 signature bytes", "pkcs7-signature", name="smime.p7s"))
    return signed.as_bytes()


def test_a_mail_gives_its_text_its_attachment_and_its_inline_image_not_its_signature() -> None:
    from bots.email.intake import mail_media
    from bots.email.parse import parse_mail

    mail = parse_mail(scanned_letter_mail())
    assert "督促状が届きました" in mail.text and "家賃も払えていません" in mail.text
    items = mail_media(mail)
    assert [(i.declared_type, i.filename) for i in items] == [("image/png", None), ("image/jpeg", "督促状📄.jpg")]
    assert items[1].data.startswith(JPEG_SOI) and gps_of(items[1].data)  # as sent, until the store cleans it
    assert not any(a.content_type == "application/pkcs7-signature" for a in mail.attachments)


def test_a_forwarded_mail_is_kept_whole_as_a_file() -> None:
    from email.message import EmailMessage

    from bots.email.intake import mail_media
    from bots.email.parse import parse_mail

    original = EmailMessage()
    original["From"], original["Subject"] = "kanri@fudosan.example.jp", "家賃のお支払いについて"
    original.set_content("3か月分の家賃が未納です。")
    outer = EmailMessage()
    outer["From"], outer["To"], outer["Message-ID"] = "taro@example.jp", "soudan@example.lg.jp", "<fwd-1@example.jp>"
    outer["Subject"] = "Fwd: 家賃のお支払いについて"
    outer.set_content("大家さんからのメールを転送します。")
    outer.add_attachment(original)
    mail = parse_mail(outer.as_bytes())
    (item,) = mail_media(mail)
    assert item.filename == "forwarded.eml" and item.kind == "file"
    assert b"kanri@fudosan.example.jp" in item.data
    checked = core.check(item.data)
    assert checked.content_type == core.OCTET  # served only as a download


async def test_an_emailed_letter_reaches_the_counsellor_sealed_and_the_resident_is_told(
    tmp_path, dovecot, smtp_sink,
) -> None:
    from casecore.media import ChannelMedia
    from tests.conftest import make_settings
    from tests.test_email_channel import email_app

    async with email_app(make_settings(tmp_path), dovecot, smtp_sink) as running:
        dovecot.append(scanned_letter_mail())
        (answer,) = await smtp_sink.wait_for(1)
        assert catalog("ja", "media").text("received") in answer.text
        async with running.ctx.sessions() as s:
            rows = (await s.scalars(select(ChannelMedia).order_by(ChannelMedia.id))).all()
            conv = await s.scalar(select(Conversation))
        # (the inline PNG has no transparency: re-encoded as a JPEG like the photo)
        assert [(r.kind, r.status, r.content_type) for r in rows] == [("image", "stored", "image/jpeg")] * 2
        assert rows[1].filename == "督促状📄.jpg" and not gps_of(rows[1].data)
        assert rows[0].conversation_id == conv.id
        raw = await raw_database(running.ctx)
        assert JPEG_SOI + b"\xe0" not in raw and JPEG_SOI + b"\xe1" not in raw and b"JFIF" not in raw
        assert "督促状📄".encode() not in raw


# ── the console: audited views, a counsellor's PDF back ───────────────────────────────────
async def _claimed_line_photo(line: Line, sato: Any) -> tuple[int, dict[str, Any]]:
    """A LINE resident sends a photographed letter, asks for a person; sato claims."""
    await line.send(wh.follow_event(USER, line.token()))
    event = media_event("image", line.token())
    line.api.add_content(event["message"]["id"], letter_jpeg(), "image/jpeg")
    await line.send(event)
    await line.tap("human")
    async with line.ctx.sessions() as s:
        conv = await s.scalar(select(Conversation).where(Conversation.channel == "line"))
    assert (await sato.post(f"/api/conversations/{conv.id}/claim")).status_code == 200
    transcript = (await sato.get(f"/api/conversations/{conv.id}")).json()["transcript"]
    (entry,) = [m for m in transcript if m["media"]]
    return conv.id, entry


async def audits(ctx: Any, action: str) -> list[AuditEvent]:
    async with ctx.sessions() as s:
        return list((await s.scalars(select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.id))).all())


@pytest.fixture
async def line_app(line_api, stack) -> AsyncIterator[tuple[Line, Running]]:  # noqa: F811
    settings = with_channels(stack, line_channel_secret=CHANNEL_SECRET, line_channel_access_token=ACCESS_TOKEN,
                             line_api_base_url=line_api.base_url, public_base_url="https://soudan.example.lg.jp")
    async with running_channels(settings, "/webhooks/line", line_router) as running:
        yield Line(running.ctx, running.client, line_api), running


async def test_every_view_of_a_photo_is_audited_and_served_so_no_page_can_run_it(line_app) -> None:
    line, running = line_app
    async with counsellor_client(running, "sato") as sato, counsellor_client(running, "suzuki") as suzuki:
        cid, entry = await _claimed_line_photo(line, sato)
        (m,) = entry["media"]
        assert m["kind"] == "image" and m["status"] == "stored" and m["has_thumb"] and "data" not in m
        full = await sato.get(f"/api/conversations/{cid}/media/{m['id']}")
        thumb = await sato.get(f"/api/conversations/{cid}/media/{m['id']}/thumb")
        for r in (full, thumb):
            assert r.status_code == 200 and r.headers["content-type"] == "image/jpeg"
            assert r.headers["cache-control"].startswith("no-store")
            assert r.headers["x-content-type-options"] == "nosniff"
            assert "default-src 'none'" in r.headers["content-security-policy"]
            assert "sandbox" in r.headers["content-security-policy"]
        assert full.content.startswith(JPEG_SOI) and not gps_of(full.content)
        assert len(thumb.content) < len(full.content)
        # need-to-know: a colleague who neither holds it nor is assigned the case sees nothing
        assert (await suzuki.get(f"/api/conversations/{cid}/media/{m['id']}")).status_code == 404
        assert (await sato.get(f"/api/conversations/{cid}/media/{m['id'] + 999}")).status_code == 404
    views = await audits(running.ctx, "read_media")
    assert [(a.actor_id is not None, a.detail["media_id"], a.detail["thumb"]) for a in views] == [
        (True, m["id"], False), (True, m["id"], True)]


async def test_a_counsellor_sends_a_pdf_and_line_gets_a_one_use_link(line_app) -> None:
    line, running = line_app
    async with counsellor_client(running, "sato") as sato:
        cid, _ = await _claimed_line_photo(line, sato)
        pushed = len(line.api.messages_to(USER))
        r = await sato.post(f"/api/conversations/{cid}/documents", content=real_pdf(),
                            headers={"Content-Type": "application/pdf", "X-Filename": "%E7%94%B3%E8%AB%8B%E6%9B%B8.pdf"})
        assert r.status_code == 201, r.text
        from tests.standins.stack import settle
        await settle(running.ctx, line.adapter)
        (said,) = [m["text"] for m in line.api.messages_to(USER)[pushed:]]
        assert said.startswith(catalog("ja", "media").text("document_link", hours=72, url="")[:20])
        link = said.rsplit("\n", 1)[-1]
        assert link.startswith("https://soudan.example.lg.jp/documents/")
        path = link.removeprefix("https://soudan.example.lg.jp")
        # Opening the link (or LINE fetching it for a preview) spends nothing: a page in the
        # resident's language whose button is the one download
        for _ in range(2):
            page = await running.client.get(path)
            assert page.status_code == 200 and "text/html" in page.headers["content-type"]
            assert catalog("ja", "media").text("document_download") in page.text
            assert f'<form method="post" action="{path}">' in page.text and "%PDF" not in page.text
            assert "form-action 'self'" in page.headers["content-security-policy"]
        first = await running.client.post(path, headers={"Origin": "https://soudan.example.lg.jp"})
        assert first.status_code == 200 and first.content.startswith(b"%PDF-")
        assert first.headers["content-disposition"].startswith("attachment;")
        assert "申請書".encode() not in first.headers["content-disposition"].encode("latin-1", "replace")
        assert (await running.client.post(path)).status_code == 410  # one use
        assert (await running.client.get(path)).status_code == 410  # and the page says so
        assert (await running.client.get(path[:-3] + "xyz")).status_code == 404  # forged
        assert (await running.client.post(path[:-3] + "xyz")).status_code == 404
        # not a PDF (a PNG named .pdf), empty, too large: refused, nothing sent
        png = await sato.post(f"/api/conversations/{cid}/documents", content=small_png(),
                              headers={"Content-Type": "application/pdf", "X-Filename": "form.pdf"})
        empty = await sato.post(f"/api/conversations/{cid}/documents", content=b"",
                                headers={"Content-Type": "application/pdf"})
        big = await sato.post(f"/api/conversations/{cid}/documents", content=b"%PDF-1.4\n" + b"0" * (11 * 1024 * 1024),
                              headers={"Content-Type": "application/pdf"})
        assert (png.status_code, empty.status_code, big.status_code) == (415, 422, 413)
        transcript = (await sato.get(f"/api/conversations/{cid}")).json()["transcript"]
        doc = [m for m in transcript if m["kind"] == "document"]
        assert len(doc) == 1 and doc[0]["media"][0]["direction"] == "out"
        assert doc[0]["media"][0]["filename"] == "申請書.pdf"
    assert [a.detail["media_id"] for a in await audits(running.ctx, "document_downloaded")] == [doc[0]["media"][0]["id"]]


async def test_a_cross_site_document_post_is_refused(line_app) -> None:
    line, running = line_app
    async with counsellor_client(running, "sato") as sato:
        cid, _ = await _claimed_line_photo(line, sato)
        r = await sato.post(f"/api/conversations/{cid}/documents", content=real_pdf(),
                            headers={"Content-Type": "application/pdf", "Origin": "https://evil.example",
                                     "Sec-Fetch-Site": "cross-site"})
        assert r.status_code == 403
    assert not await audits(running.ctx, "document_sent")


async def test_telegram_gets_the_pdf_as_a_document(tg: Tg) -> None:
    await tg.send(message_update(TG_USER, "/start"))
    await tg.send(callback_update(tg.api, TG_USER, "c:human"))
    async with tg.ctx.sessions() as s:
        conv = await s.scalar(select(Conversation))
    assert conv is not None and conv.status == "waiting"
    async with counsellor_client(tg.running, "sato") as sato:  # type: ignore[attr-defined]
        assert (await sato.post(f"/api/conversations/{conv.id}/claim")).status_code == 200
        r = await sato.post(f"/api/conversations/{conv.id}/documents", content=real_pdf(),
                            headers={"Content-Type": "application/pdf", "X-Filename": "form.pdf"})
        assert r.status_code == 201
        await tg.settle()
    (doc,) = tg.api.documents
    assert doc["chat_id"] == TG_USER and doc["filename"] == "form.pdf" and doc["data"].startswith(b"%PDF-")
    assert doc["caption"] == catalog("ja", "media").text("document_sent")
    assert not tg.api.violations


# ── at rest: sealed, erased with the resident, listed in a disclosure ─────────────────────
async def test_the_photo_is_sealed_at_rest_erased_with_the_resident_and_listed_in_a_disclosure(line: Line) -> None:
    from casecore import disclosure, keys
    from casecore import erasure as core_erasure
    from tests.test_crypto_shredding import _backup, _raw_now, _tokens

    await line.send(wh.follow_event(USER, line.token()))
    event = media_event("file", line.token(), file_name="督促状_山田花子.pdf", file_size=len(real_pdf()))
    line.api.add_content(event["message"]["id"], real_pdf(), "application/pdf")
    photo = media_event("image", line.token())
    line.api.add_content(photo["message"]["id"], letter_jpeg(), "image/jpeg")
    await line.send(event, photo)
    rows = await media_rows(line.ctx)
    assert [r.status for r in rows] == ["stored", "stored"]
    stored_jpeg = rows[1].data
    raw = await raw_database(line.ctx)
    for plain in (b"%PDF-", b"Housing benefit application", stored_jpeg[:64], JPEG_SOI + b"\xe0", b"JFIF",
                  "督促状_山田花子".encode()):
        assert plain not in raw, plain
    async with line.ctx.sessions() as s:
        cp = await s.scalar(select(ContactPoint))
        record = await disclosure.resident_record(s, cp.id)
    listed = [f for conv in record["conversations"] for f in conv["media"]]
    assert [(f["kind"], f["filename"], f["content_type"]) for f in listed] == [
        ("file", "督促状_山田花子.pdf", "application/pdf"), ("image", None, "image/jpeg")]

    async with line.ctx.engine.connect() as conn:  # the media's own tokens, as stored
        media_tokens = [v for row in (await conn.execute(text(
            "SELECT data, thumbnail FROM channel_media"))).all() for v in row if v]
    assert len(media_tokens) == 3  # the PDF, the photo, its thumbnail
    before = await _backup(line)
    async with line.ctx.sessions() as s, s.begin():
        done = await core_erasure.erase_scope(s, await core_erasure.scope_of(s, [cp.id]))
    assert done.rows["channel_media"] == 2 and cp.data_key_id in done.key_ids
    from handoff.actions.erasure import destroy_keys_now

    await destroy_keys_now(done.key_ids, line.ctx.engine)  # as the erasure action does after its commit
    assert await media_rows(line.ctx) == []
    after = await _raw_now(line)
    assert cp.data_key_id.encode() not in after
    # the old backup still holds the tokens, and none of them opens any more
    sealed = [t for t in _tokens(before) if t.split(".")[1] == cp.data_key_id]
    assert set(media_tokens) <= set(sealed)  # the backup holds them…
    for token in sealed:  # …and after the erasure none of them opens
        with pytest.raises(keys.KeyDestroyed):
            crypto.cipher().decrypt_bytes(token)


def test_bytes_tokens_round_trip_under_a_resident_key(tmp_path) -> None:
    from casecore import keys

    ring = keys.KeyRing(tmp_path / "keys.db", [TEST_SECRET])
    keys.configure(ring)
    try:
        kid = ring.create("minato-tokyo")
        data = letter_jpeg(64, 48)
        token = crypto.cipher().encrypt_bytes(data, kid)
        assert token.startswith(f"v2.{kid}.") and crypto.cipher().decrypt_bytes(token) == data
        assert crypto.cipher().decrypt_bytes(crypto.cipher().encrypt_bytes(b"")) == b""
        ring.destroy([kid])
        with pytest.raises(keys.KeyDestroyed):
            crypto.cipher().decrypt_bytes(token)
    finally:
        keys.configure(None)


async def test_a_web_page_named_jpg_an_empty_file_and_a_full_conversation_are_not_kept(line: Line) -> None:
    from handoff.actions.media import MediaLimits

    await line.send(wh.follow_event(USER, line.token()))
    html = media_event("file", line.token(), file_name="写真.jpg", file_size=60)
    line.api.add_content(html["message"]["id"], b"<!DOCTYPE html><html><script>fetch('/api')</script></html>", "image/jpeg")
    empty = media_event("file", line.token(), file_name="空.pdf", file_size=1)
    line.api.add_content(empty["message"]["id"], b"", "application/pdf")
    truncated = media_event("image", line.token())
    line.api.add_content(truncated["message"]["id"], letter_jpeg()[:700], "image/jpeg")
    await line.send(html, empty, truncated)
    one = core.check(letter_jpeg(1600, 1200))
    kept = len(one.data) + len(one.thumbnail or b"")
    line.ctx.router.media_limits = MediaLimits(2 * 1024 * 1024, kept + kept // 2)  # room for one photo
    first, second = media_event("image", line.token()), media_event("image", line.token())
    line.api.add_content(first["message"]["id"], letter_jpeg(1600, 1200), "image/jpeg")
    line.api.add_content(second["message"]["id"], letter_jpeg(1600, 1200), "image/jpeg")
    await line.send(first, second)
    rows = await media_rows(line.ctx)
    assert [r.status for r in rows] == ["refused", "empty", "refused", "stored", "case_full"]
    assert all(r.data is None for r in rows if r.status != "stored")
    assert rows[0].filename == "写真.jpg" and rows[0].sha256  # the counsellor sees what came
    said = [m["text"] for m in line.api.messages_to(USER)]
    words = catalog("ja", "media")
    for key in ("refused", "empty", "case_full"):
        assert words.text(key) in said, key
    assert await audits(line.ctx, "media_refused")


async def test_a_photo_while_a_counsellor_holds_the_chat_reaches_them_and_the_bot_stays_silent(line_app) -> None:
    line, running = line_app
    async with counsellor_client(running, "sato") as sato:
        cid, _ = await _claimed_line_photo(line, sato)
        before = len(line.api.messages_to(USER))
        photo, big = media_event("image", line.token()), media_event("image", line.token())
        line.api.add_content(photo["message"]["id"], letter_jpeg(320, 240), "image/jpeg")
        line.api.add_content(big["message"]["id"], JPEG_SOI + b"\x00" * (11 * 1024 * 1024), "image/jpeg")
        await line.send(photo)
        assert len(line.api.messages_to(USER)) == before  # the counsellor answers, not the bot
        await line.send(big)
        (told,) = [m["text"] for m in line.api.messages_to(USER)[before:]]
        assert told == catalog("ja", "media").text("too_large", limit=10)
        transcript = (await sato.get(f"/api/conversations/{cid}")).json()["transcript"]
        statuses = [x["status"] for m in transcript for x in m["media"]]
        assert statuses == ["stored", "stored", "too_large"]


async def test_email_gets_the_pdf_as_an_attachment_in_the_residents_thread(tmp_path, dovecot, smtp_sink) -> None:
    from email.parser import BytesParser
    from email.policy import default

    from tests.conftest import make_settings
    from tests.test_email_channel import DOCOMO, email_app, fixture, reply_to

    async with email_app(make_settings(tmp_path), dovecot, smtp_sink) as running:
        dovecot.deliver(fixture("docomo_iso2022jp.eml"))
        (form,) = await smtp_sink.wait_for(1)
        dovecot.deliver(reply_to(form, DOCOMO, "同意します。\nQ2: 1\nQ5: 40代"))
        await smtp_sink.wait_for(2)
        async with running.ctx.sessions() as s:
            conv = (await s.scalars(select(Conversation).where(Conversation.channel == "email"))).one()
        async with counsellor_client(running, "sato") as sato:
            assert (await sato.post(f"/api/conversations/{conv.id}/claim")).status_code == 200
            r = await sato.post(f"/api/conversations/{conv.id}/documents", content=real_pdf(),
                                headers={"Content-Type": "application/pdf", "X-Filename": "%E7%94%B3%E8%AB%8B%E6%9B%B8.pdf"})
            assert r.status_code == 201, r.text
            mails = (await smtp_sink.wait_for(4))[2:]  # "a counsellor has joined" and the document
        parsed = [BytesParser(policy=default).parsebytes(m.message.as_bytes()) for m in mails]
        pdfs = [(m, p) for m, mail in zip(mails, parsed, strict=True) for p in mail.iter_attachments()
                if p.get_content_type() == "application/pdf"]
        assert len(pdfs) == 1, [m.text[:80] for m in mails]
        sent, pdf = pdfs[0]
        assert pdf.get_filename() == "申請書.pdf" and pdf.get_content().startswith(b"%PDF-")
        assert catalog("ja", "media").text("document_sent") in sent.text
        assert sent.rcpt_tos == [DOCOMO]
