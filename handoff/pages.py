"""Pages that get their words from the server: the catalog texts go into the HTML as a JSON
data block (`<script type="application/json">`), which the browser never executes, so the
pages keep their strict Content-Security-Policy (no inline script) and need no extra request
before their first paint."""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

from i18n.catalog import available_languages, catalog


def namespace_table(namespace: str, language: str) -> dict[str, str]:
    """Every key of the Japanese file, each resolved along the language's fallback chain;
    placeholders (`{n}`) are left for the page to fill."""
    cat = catalog(language, namespace)
    return {key: cat.lookup(key)[0] for key in catalog("ja", namespace).texts}


@cache
def all_languages(namespace: str) -> dict[str, dict[str, str]]:
    return {lang: namespace_table(namespace, lang) for lang in available_languages()}


def grouped(table: dict[str, str]) -> dict[str, dict[str, str]]:
    """`group.code` keys as {group: {code: text}} (the console's label tables)."""
    out: dict[str, dict[str, str]] = {}
    for key, value in table.items():
        group, _, code = key.partition(".")
        out.setdefault(group, {})[code] = value
    return out


def json_block(data: Any) -> str:
    """JSON safe inside <script>: no `</script>`, `<!--` or U+2028 can end or bend it."""
    text = json.dumps(data, ensure_ascii=False, separators=(",", ":"))
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026") \
        .replace("\u2028", "\\u2028").replace("\u2029", "\\u2029")


def with_data_block(html: Path, block_id: str, data: Any) -> str:
    """The page's HTML with its empty data block `#block_id` filled with `data`."""
    empty = f'<script type="application/json" id="{block_id}"></script>'
    source = html.read_text(encoding="utf-8")
    if empty not in source:
        raise ValueError(f"{html.name} has no empty data block #{block_id}")
    return source.replace(empty, f'<script type="application/json" id="{block_id}">{json_block(data)}</script>')
