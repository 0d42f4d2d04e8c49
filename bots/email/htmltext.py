"""HTML mail to plain text with the stdlib parser: scripts, styles and markup dropped.

Quoted history in HTML replies (<blockquote>, Gmail's gmail_quote, Outlook's divRplyFwdMsg)
is kept but prefixed with "> " so the quote stripper removes it like any plain-text quote.
"""

from __future__ import annotations

import re
from html.parser import HTMLParser

_DROP = {"script", "style", "head", "title", "template", "noscript", "svg", "object", "iframe"}
_BLOCK = {
    "p", "div", "br", "li", "ul", "ol", "tr", "table", "h1", "h2", "h3", "h4", "h5", "h6",
    "blockquote", "pre", "hr", "section", "article", "header", "footer", "dd", "dt", "address",
}  # fmt: skip
_QUOTE_CLASSES = ("gmail_quote", "yahoo_quoted", "moz-cite-prefix", "divrplyfwdmsg")
_VOID = {"br", "hr", "img", "meta", "link", "input", "col", "area", "base", "wbr", "source"}


class _TextExtractor(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.lines: list[str] = [""]
        self.drop_depth = 0
        self.quote_depth = 0
        self.pre_depth = 0
        self.stack: list[tuple[str, bool]] = []  # (tag, opened a quote)

    def _newline(self) -> None:
        if self.lines[-1].strip() or (len(self.lines) > 1 and self.lines[-2].strip()):
            self.lines.append("")

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _DROP:
            self.drop_depth += 1
            if tag not in _VOID:
                self.stack.append((tag, False))
            return
        if tag in _BLOCK:
            self._newline()
        if tag in _VOID:
            if tag == "hr":
                self._newline()
            return
        classes = " ".join(v or "" for k, v in attrs if k in ("class", "id")).lower()
        quote = tag == "blockquote" or any(c in classes for c in _QUOTE_CLASSES)
        if quote:
            self.quote_depth += 1
        if tag == "pre":
            self.pre_depth += 1
        self.stack.append((tag, quote))

    def handle_endtag(self, tag: str) -> None:
        # pop to the matching tag; browsers forgive unclosed tags and so must we
        for i in range(len(self.stack) - 1, -1, -1):
            if self.stack[i][0] == tag:
                for t, quote in self.stack[i:]:
                    if t in _DROP:
                        self.drop_depth = max(0, self.drop_depth - 1)
                    if quote:
                        self.quote_depth = max(0, self.quote_depth - 1)
                    if t == "pre":
                        self.pre_depth = max(0, self.pre_depth - 1)
                del self.stack[i:]
                break
        if tag in _BLOCK:
            self._newline()

    def handle_data(self, data: str) -> None:
        if self.drop_depth:
            return
        chunks = data.split("\n") if self.pre_depth else [re.sub(r"[ \t\r\n\f\u200b]+", " ", data)]
        for n, chunk in enumerate(chunks):
            if n:
                self.lines.append("")
            if not chunk:
                continue
            if not self.lines[-1]:
                chunk = chunk.lstrip()
                if not chunk:
                    continue
                if self.quote_depth:
                    chunk = "> " * self.quote_depth + chunk
            self.lines[-1] += chunk


def html_to_text(html: str) -> str:
    parser = _TextExtractor()
    try:
        parser.feed(html)
        parser.close()
    except Exception:  # html.parser is lenient; keep whatever was read
        pass
    lines = [line.rstrip() for line in parser.lines]
    text = "\n".join(lines)
    return re.sub(r"\n{3,}", "\n\n", text).strip()
