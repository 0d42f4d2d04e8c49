"""Keep only what the resident newly wrote: quoted history, signatures and footers go.

Covers top-posting (new text above "On … wrote:" / 「…のメッセージ:」 / Outlook's header block)
and bottom-posting or inline replies (new text between "> " lines). The bot's own mail
carries REPLY_MARKER, so even a client that quotes without "> " is cut in the right place.
"""

from __future__ import annotations

import re

# A line in every bot mail; everything from it down is our own text coming back.
REPLY_MARKER = "##- ご返信はこの行より上にお書きください / Please reply above this line -##"

_QUOTE = re.compile(r"^\s*(>|＞|&gt;)")
_HISTORY = [
    re.compile(p, re.IGNORECASE)
    for p in (
        r"^\s*#+-.*-#+\s*$",  # our reply marker (any language)
        r"^\s*-{2,}\s*(original message|元のメッセージ|オリジナル メッセージ|転送メッセージ|forwarded message|転送済みメッセージ)\s*-{2,}\s*$",
        r"^\s*-{5,}\s*(original message|元のメッセージ)",
        r"^\s*_{10,}\s*$",  # Outlook's rule above the quoted header block
        r"^\s*(on|am|le|el)\s.{0,200}\s(wrote|schrieb|a écrit|escribió)\s*[:：]\s*$",
        r"^.{0,200}(さんは書きました|は書きました|wrote)\s*[:：]\s*$",
        r"^.{0,200}(のメッセージ|のメール|からのメール)\s*[:：]\s*$",
        r"^\s*\d{4}\s*[年/.-]\s*\d{1,2}\s*[月/.-]\s*\d{1,2}.{0,120}[<＜].{1,200}[>＞]\s*[:：]\s*$",
        r"^\s*\d{4}/\d{1,2}/\d{1,2}.{0,40}\d{1,2}:\d{2}.{0,160}[:：]\s*$",
    )
]
# "On Mon, 1 Jan 2026 at 10:00, Name <" wrapped onto two lines by the client
_WRAPPED_ON = re.compile(r"^\s*(on|am)\s.{0,200}$", re.IGNORECASE)
_WRAPPED_WROTE = re.compile(r"^.{0,200}(wrote|schrieb)\s*[:：]\s*$", re.IGNORECASE)
# No attribution or header line is longer: longer lines are never tried against the patterns
# (an unanchored pattern over a 200,000-character line took seconds).
_MAX_MARKER_LINE = 400
_HEADER_BLOCK_START = re.compile(r"^\s*\**(from|差出人|送信者|fra|von|de)\s*\**\s*[:：]", re.IGNORECASE)
_HEADER_BLOCK_NEXT = re.compile(
    r"^\s*\**(sent|date|to|subject|cc|送信日時|日時|宛先|件名|日付|gesendet|envoyé)\s*\**\s*[:：]",
    re.IGNORECASE,
)
_SIGNATURE = re.compile(r"^(--|-- |―{2,}|－－)\s*$")
_RULE = re.compile(r"^\s*[-=_*~━─＿＝～・]{10,}\s*$")
_FOOTERS = [
    re.compile(p, re.IGNORECASE)
    for p in (
        r"^\s*sent from my .{1,40}$",
        r"^\s*sent from .{1,30} for (ios|android|windows).*$",
        r"^\s*get outlook for (ios|android).*$",
        r"^\s*.{1,40}から送信(しました)?\s*$",  # iPhoneから送信, ドコモメールから送信, Galaxyから送信
        r"^\s*(docomo|ドコモ|au|softbank|ソフトバンク|y!mobile|ワイモバイル|楽天モバイル|povo|ahamo).{0,20}(メール|mail|から送信).*$",
        r"^\s*(ezweb|i-mode|iモード|s!メール|\+メッセージ).{0,30}$",
        r"^\s*(au\s?one\s?net|au one net).*$",
    )
]


def _is_history_start(lines: list[str], i: int) -> bool:
    line = lines[i]
    if len(line) > _MAX_MARKER_LINE:
        return False
    if any(p.search(line) for p in _HISTORY):
        return True
    if _WRAPPED_ON.match(line) and i + 1 < len(lines) and _WRAPPED_WROTE.match(lines[i + 1]):
        return True
    if _HEADER_BLOCK_START.match(line):
        following = [ln for ln in lines[i + 1 : i + 5] if ln.strip()]
        return sum(1 for ln in following if _HEADER_BLOCK_NEXT.match(ln)) >= 2
    return False


def _drop_signature(lines: list[str]) -> list[str]:
    for i in range(len(lines) - 1, -1, -1):
        if len(lines[i]) < 40 and _SIGNATURE.match(lines[i]):
            return lines[:i]
    # a rule followed by a short block at the very end is a signature too
    for i in range(len(lines) - 1, max(-1, len(lines) - 12), -1):
        if _RULE.match(lines[i]) and 0 < len([ln for ln in lines[i + 1 :] if ln.strip()]) <= 8:
            return lines[:i]
    return lines


def _drop_footers(lines: list[str]) -> list[str]:
    while lines and (not lines[-1].strip() or (
        len(lines[-1]) <= _MAX_MARKER_LINE and any(p.match(lines[-1]) for p in _FOOTERS)
    )):
        lines = lines[:-1]
    return lines


def strip_quoted(text: str) -> str:
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    cut = next((i for i in range(len(lines)) if _is_history_start(lines, i)), None)
    if cut is not None:
        before = [ln for ln in lines[:cut] if not _QUOTE.match(ln)]
        if any(ln.strip() for ln in before):
            lines = lines[:cut]
        else:
            # bottom-posting: the history comes first, the new text after the quotes
            lines = lines[cut + 1 :]
            if _WRAPPED_WROTE.match(lines[0] if lines else ""):
                lines = lines[1:]
    lines = [ln for ln in lines if not _QUOTE.match(ln)]
    lines = _drop_footers(_drop_signature(_drop_footers(lines)))
    out = "\n".join(ln.rstrip() for ln in lines)
    out = re.sub(r"\n{3,}", "\n\n", out).strip()
    # '' when the mail held only quoted history (the caller still has the whole body)
    return out
