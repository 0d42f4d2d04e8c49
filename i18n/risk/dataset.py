"""The labelled evaluation set (i18n/risk/data/{train,test}/<language>.yaml; see its README).

A file groups messages by level and kind; `suicide+no_shelter` carries two kinds; `none` holds
the hard negatives. Loaded into records with text, language, kinds and level.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import yaml

DATA_DIR = Path(__file__).parent / "data"
SPLITS = ("train", "test")


@dataclass(frozen=True)
class Message:
    text: str
    language: str
    kinds: tuple[str, ...]
    level: str | None  # "emergency", "look" or None (a hard negative)


def load(split: str, data_dir: Path = DATA_DIR) -> list[Message]:
    out: list[Message] = []
    for path in sorted((data_dir / split).glob("*.yaml")):
        with path.open(encoding="utf-8") as fh:
            doc = yaml.safe_load(fh) or {}
        lang = doc["language"]
        for level in ("emergency", "look"):
            for key, texts in (doc.get(level) or {}).items():
                kinds = tuple(key.split("+"))
                out.extend(Message(str(t), lang, kinds, level) for t in texts or [])
        out.extend(Message(str(t), lang, (), None) for t in doc.get("none") or [])
    return out
