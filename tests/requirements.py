"""Skip a test whose external piece is missing — or fail it when MADOGUCHI_REQUIRE_ALL=1 (CI)."""

from __future__ import annotations

import os

import pytest

REQUIRE_ALL = os.environ.get("MADOGUCHI_REQUIRE_ALL") == "1"


def require(name: str, available: bool, why: str = "") -> None:
    if available:
        return
    msg = f"{name} is required but not available{': ' + why if why else ''}"
    if REQUIRE_ALL:
        pytest.fail(msg + " (MADOGUCHI_REQUIRE_ALL=1)", pytrace=False)
    pytest.skip(msg)
