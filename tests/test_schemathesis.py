"""Issue 17: a bounded schemathesis run over /openapi.json against the real app (uvicorn on a
free loopback port) finds no 5xx, once without and once with a lead's login cookie."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.browser import LiveServer, serve_settings
from tests.conftest import make_settings
from tests.helpers import login_body, make_counsellor
from tests.requirements import require

try:
    import schemathesis
except ImportError:  # in the dev extras; scripts/test (and so CI) installs them
    schemathesis = None

# Per operation and pass: bounded, so the suite's cost grows slowly as routes are added (no
# timing assertion here: a loaded machine is not a failure; speed is measured under bench/).
MAX_EXAMPLES = 12


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    require("schemathesis", schemathesis is not None, "pip install -e '.[dev]'")
    settings = make_settings(tmp_path_factory.mktemp("schemathesis"), translation_enabled=False)
    with serve_settings(settings) as server:
        server.call(make_counsellor(server.ctx, "lead", "lead"))
        yield server


def _run(live: LiveServer, cookies: dict[str, str] | None, skip: set[str]) -> tuple[list[str], int]:
    import requests
    from hypothesis import HealthCheck, Phase, given
    from hypothesis import settings as hsettings

    schema = schemathesis.openapi.from_url(live.url + "/openapi.json")
    failures: list[str] = []
    calls = 0
    session = requests.Session()
    def checker(op: Any, label: str) -> Any:
        @hsettings(max_examples=MAX_EXAMPLES, deadline=None, database=None, derandomize=True,
                   suppress_health_check=list(HealthCheck), phases=[Phase.explicit, Phase.generate])
        @given(case=op.as_strategy())
        def check(case: Any) -> None:
            nonlocal calls
            calls += 1
            response = case.call(base_url=live.url, session=session, cookies=cookies, timeout=15)
            if response.status_code >= 500:
                failures.append(f"{label} -> {response.status_code}: {response.text[:200]}")
            elif response.status_code >= 400:  # every refusal is JSON in the one shape
                ctype = response.headers.get("content-type") or [""]
                ctype = ctype[0] if isinstance(ctype, list) else ctype
                if not ctype.startswith("application/json") or "detail" not in response.json():
                    failures.append(f"{label} -> {response.status_code} not in the error shape: {response.text[:200]}")

        return check

    for result in schema.get_all_operations():
        op = result.ok()
        label = f"{op.method.upper()} {op.path}"
        if label not in skip:
            checker(op, label)()
    return failures, calls


def test_no_server_errors_without_a_login(live: LiveServer) -> None:
    failures, calls = _run(live, None, skip=set())
    assert calls > 100, calls  # it really ran
    assert not failures, "\n".join(failures)


def test_no_server_errors_with_a_lead_logged_in(live: LiveServer) -> None:
    import requests

    r = requests.post(f"{live.url}/api/auth/login", json=login_body("lead"), timeout=10)
    assert r.status_code == 200, r.text
    cookies = {"madoguchi_session": r.cookies["madoguchi_session"]}
    # a web chat session and a case to aim at: ids 1, 2 … exist, so generated ids hit real rows
    for _ in range(2):
        requests.post(f"{live.url}/api/webchat/sessions", json={"language": "ja"}, timeout=10)
    failures, calls = _run(live, cookies, skip={"POST /api/auth/logout", "POST /api/auth/login"})
    assert calls > 100, calls
    assert not failures, "\n".join(failures)
    me = requests.get(f"{live.url}/api/auth/me", cookies=cookies, timeout=10)
    assert me.status_code == 200, "the login was not kept through the run"
