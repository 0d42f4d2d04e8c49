"""`madoguchi email check` and `email poll` against the real servers."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import SecretStr

from madoguchi.cli_email import check_settings, poll_once
from tests.conftest import make_settings
from tests.dovecot import Dovecot, dovecot_fixture, free_port  # noqa: F401  (fixture "dovecot")
from tests.smtp_sink import SmtpSink, smtp_sink_fixture  # noqa: F401  (fixture "smtp_sink")

pytestmark = pytest.mark.dovecot


def settings_for(tmp_path: Path, dovecot: Dovecot, sink: SmtpSink, password: str | None = None):  # type: ignore[no-untyped-def]
    return make_settings(
        tmp_path, imap_host=dovecot.host, imap_port=dovecot.port, imap_user=dovecot.user,
        imap_password=SecretStr(password or dovecot.password), imap_ssl=False,
        smtp_host=sink.host, smtp_port=sink.port, smtp_starttls=False, smtp_from="soudan@example.lg.jp",
    )


async def test_check_reports_each_server(tmp_path: Path, dovecot: Dovecot, smtp_sink: SmtpSink) -> None:
    rows = await check_settings(settings_for(tmp_path, dovecot, smtp_sink))
    assert [(part, ok) for part, ok, _ in rows] == [("imap", True), ("smtp", True)]
    assert "IDLE yes" in rows[0][2] and "keywords yes" in rows[0][2]
    bad = await check_settings(settings_for(tmp_path, dovecot, smtp_sink, password="wrong password"))
    assert bad[0][1] is False and "wrong password" not in bad[0][2]
    assert not smtp_sink.received  # a check sends nothing


async def test_check_fails_on_a_closed_port(tmp_path: Path, dovecot: Dovecot, smtp_sink: SmtpSink) -> None:
    s = settings_for(tmp_path, dovecot, smtp_sink).model_copy(update={"smtp_port": free_port()})
    rows = dict((part, ok) for part, ok, _ in await check_settings(s))
    assert rows == {"imap": True, "smtp": False}


async def test_poll_once_answers_and_stops(tmp_path: Path, dovecot: Dovecot, smtp_sink: SmtpSink) -> None:
    dovecot.append((Path(__file__).parent / "fixtures" / "mail" / "eucjp.eml").read_bytes())
    assert await poll_once(settings_for(tmp_path, dovecot, smtp_sink)) == 1
    (answer,) = await smtp_sink.wait_for(1)
    assert answer.rcpt_tos == ["nguyen@example.jp"]
    assert await poll_once(settings_for(tmp_path, dovecot, smtp_sink)) == 0
