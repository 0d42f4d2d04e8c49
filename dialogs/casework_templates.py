"""Assessment sheet and support plan templates (YAML data in dialogs/casework/), and the check
that a counsellor's sheet fits its template: known items only, the value types the item
allows, bounded lengths. A municipality edits these files and raises `version`; saved sheets
keep the version they were written with."""

from __future__ import annotations

from datetime import date
from functools import cache
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, Field

TEMPLATE_DIR = Path(__file__).parent / "casework"
MAX_TEXT = 4_000
MAX_ROWS = 30


class TemplateError(ValueError):
    pass


class Item(BaseModel):
    id: str
    label: str
    type: Literal["text", "textarea", "choice", "multi", "date", "rows"]
    choices: list[str] = Field(default_factory=list)
    columns: list[str] = Field(default_factory=list)


class Section(BaseModel):
    id: str
    title: str
    items: list[Item]


class Template(BaseModel):
    id: str
    kind: Literal["assessment", "plan"]
    version: str
    title: str
    sections: list[Section]

    def items(self) -> dict[str, Item]:
        return {i.id: i for s in self.sections for i in s.items}

    def clean(self, content: dict[str, Any]) -> dict[str, Any]:
        """The sheet as stored: empty values dropped; TemplateError names the first bad item."""
        items = self.items()
        out: dict[str, Any] = {}
        for key, value in content.items():
            item = items.get(key)
            if item is None:
                raise TemplateError(f"unknown item {key!r}")
            cleaned = _value(item, value)
            if cleaned not in (None, "", [], {}):
                out[key] = cleaned
        return out


def _text(item: Item, value: Any) -> str:
    if not isinstance(value, str):
        raise TemplateError(f"{item.id}: text expected")
    value = value.replace("\x00", "").strip()
    if len(value) > MAX_TEXT:
        raise TemplateError(f"{item.id}: at most {MAX_TEXT} characters")
    return value


def _value(item: Item, value: Any) -> Any:
    if value is None:
        return None
    if item.type in ("text", "textarea"):
        return _text(item, value)
    if item.type == "choice":
        if value not in item.choices and value != "":
            raise TemplateError(f"{item.id}: not one of the choices")
        return value
    if item.type == "multi":
        if not isinstance(value, list) or any(v not in item.choices for v in value):
            raise TemplateError(f"{item.id}: choices expected")
        return list(dict.fromkeys(value))
    if item.type == "date":
        try:
            return date.fromisoformat(value).isoformat() if value else ""
        except (TypeError, ValueError):
            raise TemplateError(f"{item.id}: a date (YYYY-MM-DD) expected") from None
    return _rows(item, value)


def _rows(item: Item, value: Any) -> list[list[str]]:
    if not isinstance(value, list) or len(value) > MAX_ROWS:
        raise TemplateError(f"{item.id}: at most {MAX_ROWS} rows expected")
    rows = []
    for row in value:
        if not isinstance(row, list) or len(row) > len(item.columns):
            raise TemplateError(f"{item.id}: {len(item.columns)} columns per row")
        cells = [_text(item, c) for c in row]
        if any(cells):
            rows.append(cells + [""] * (len(item.columns) - len(cells)))
    return rows


@cache
def template(kind: str) -> Template:
    path = TEMPLATE_DIR / f"{kind}.yaml"
    with path.open(encoding="utf-8") as fh:
        return Template.model_validate(yaml.safe_load(fh))
