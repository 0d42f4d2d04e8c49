"""The web chat's upload button (issue 16, item 1): a resident sends a photo and a PDF from
the composer in Chromium (a real button, keyboard operable, progress announced); each is
stored for the counsellor, and the resident sees their own upload as a thumbnail or a file
chip. A file over the cap is refused by the page before sending, and by the server (413)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from casecore.db import transaction
from casecore.models import Message
from tests import browser as _browser
from tests.browser import LiveServer, artifact
from tests.test_channel_media import letter_jpeg, real_pdf
from tests.webchat_pages import open_chat, wait_idle

try:
    from playwright.sync_api import expect
except ImportError:  # the `browser` fixture fails under MADOGUCHI_REQUIRE_ALL=1
    expect = None  # type: ignore[assignment]

pytestmark = pytest.mark.browser
browser, live_server, mobile_page = _browser.browser, _browser.live_server, _browser.mobile_page


async def media_rows(live: LiveServer, conversation_id: int) -> list[Message]:
    async with transaction(live.ctx.sessions) as s:
        return list((await s.scalars(select(Message).where(
            Message.conversation_id == conversation_id, Message.direction == "in", Message.kind == "media"))).all())


def test_a_resident_uploads_a_photo_and_a_pdf(live_server: LiveServer, mobile_page: Any, tmp_path: Path) -> None:
    page = mobile_page
    photo, pdf = tmp_path / "letter.jpg", tmp_path / "rent-notice.pdf"
    photo.write_bytes(letter_jpeg())
    pdf.write_bytes(real_pdf())
    open_chat(page, live_server, "ja")
    attach = page.get_by_role("button", name="写真・書類を送る")
    expect(attach).to_be_visible()
    with page.expect_file_chooser() as chooser:
        attach.click()
    chooser.value.set_files(str(photo))
    expect(page.locator("#log .msg-upload img")).to_have_count(1)
    expect(page.locator("#upload-status")).to_have_text("ファイルを送りました")
    # the keyboard works too: focus the button, press Enter
    attach.focus()
    with page.expect_file_chooser() as chooser:
        page.keyboard.press("Enter")
    chooser.value.set_files(str(pdf))
    expect(page.locator("#log .msg-upload .file-name")).to_have_count(2)
    expect(page.locator("#log .msg-upload").last).to_contain_text("rent-notice.pdf")
    wait_idle(page)
    page.screenshot(path=artifact("webchat-upload-mobile.png"))
    session = page.evaluate("JSON.parse(sessionStorage.getItem('madoguchi.webchat.v1'))")
    rows = live_server.call(media_rows(live_server, int(session["id"])))
    assert len(rows) == 2 and {r.media_type for r in rows} == {"image", "file"}
    # too large: the page says so without sending; the server refuses it too
    big = tmp_path / "huge.pdf"
    big.write_bytes(b"%PDF-1.4\n" + b"0" * (11 * 1024 * 1024))
    with page.expect_file_chooser() as chooser:
        attach.click()
    chooser.value.set_files(str(big))
    expect(page.locator("#error")).to_contain_text("ファイルが大きすぎます")
    r = httpx.post(f"{live_server.url}/api/webchat/sessions/{session['id']}/uploads",
                   headers={"Authorization": f"Bearer {session['token']}"},
                   files={"file": ("huge.pdf", big.read_bytes(), "application/pdf")})
    assert r.status_code == 413
    assert len(live_server.call(media_rows(live_server, int(session["id"])))) == 2
    assert [e for e in page.errors if "413" not in e] == []
