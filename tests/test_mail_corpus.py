"""A corpus of real mails from public mail-parser test suites (tests/data/mail_corpus/, with
their licences): every one parses without mojibake and is classified right."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from bots.email.loops import classify
from bots.email.parse import parse_mail

CORPUS = Path(__file__).parent / "data" / "mail_corpus"
ENTRIES = yaml.safe_load((CORPUS / "corpus.yaml").read_text(encoding="utf-8"))["mails"]
# what decoding with the wrong charset leaves: replacement characters, the private-use area,
# UTF-8 read as Latin-1 (Ã, â€) or as CP932 (縺, 繧), lone surrogates, escaped surrogates
MOJIBAKE = re.compile(r"[\ufffd\ue000-\uf8ff\ud800-\udfff]|Ã.|â€|縺|繧|\\udc")


def test_every_folder_carries_its_licence() -> None:
    folders = {e["file"].split("/", 1)[0] for e in ENTRIES}
    assert len(folders) == 3
    for folder in folders:
        assert (CORPUS / folder / "LICENSE").stat().st_size > 500
    assert len(list(CORPUS.glob("*/*.eml"))) == len(ENTRIES)  # every mail is checked


@pytest.mark.parametrize("entry", ENTRIES, ids=lambda e: e["file"].split("/", 1)[1])
def test_corpus_mail(entry: dict[str, object]) -> None:
    mail = parse_mail((CORPUS / str(entry["file"])).read_bytes())
    for value in (mail.subject, mail.text, mail.sender):
        assert not MOJIBAKE.search(value), value
    verdict = classify(mail, ["soudan@example.lg.jp"])
    expected = entry["automatic"]
    if expected is False:
        assert not verdict.automatic, verdict.reason
    else:
        assert verdict.automatic and str(verdict.reason).split(":", 1)[0] == expected
    if "sender" in entry:
        assert mail.sender == entry["sender"]
    if "subject" in entry:
        assert str(entry["subject"]) in mail.subject
    if "text" in entry:
        assert str(entry["text"]) in mail.text
    if "attachments" in entry:
        assert set(entry["attachments"]) <= set(mail.attachment_kinds)  # type: ignore[arg-type]
