"""The operations guide cannot drift from the code: its settings table is the generator's
output, every MADOGUCHI_ variable the docs and docker-compose.yml name is a real setting, and
the compose file's proxy wiring holds together (read, not run: no Docker engine in CI)."""

from __future__ import annotations

import re
from pathlib import Path

import yaml
from typer.testing import CliRunner

from madoguchi import settings_table
from madoguchi.settings import Settings

ROOT = Path(__file__).resolve().parent.parent
GUIDE = ROOT / "docs" / "operations.md"
SETTINGS = {settings_table.env_name(name) for name in Settings.model_fields}
# MADOGUCHI_ variables that are not Settings: read by scripts, the CLI or the tests.
NOT_SETTINGS = {"MADOGUCHI_NEW_PASSWORD", "MADOGUCHI_DEMO_PASSWORD", "MADOGUCHI_REQUIRE_ALL",
                "MADOGUCHI_VENV", "MADOGUCHI_TEST_PG", "MADOGUCHI_TEST_REDIS", "MADOGUCHI_CHROMIUM",
                "MADOGUCHI_DOMAIN",  # the proxy's host name, read by Caddy and compose
                "MADOGUCHI_EXPORT_PASSWORD"}  # the end-of-contract archive's password, read by the CLI


def test_every_setting_has_a_description() -> None:
    assert [n for n, f in Settings.model_fields.items() if not (f.description or "").strip()] == []


def test_the_guides_table_is_the_generated_one() -> None:
    table = settings_table.section_of(GUIDE.read_text(encoding="utf-8"))
    assert table is not None, "docs/operations.md lost its settings-table markers"
    assert table == settings_table.render(), "run `madoguchi settings-table --write`"
    for name in SETTINGS:
        assert f"| `{name}` |" in table


def test_the_table_documents_what_issue_18_found_undocumented() -> None:
    table = settings_table.render()
    for name in ("PUBLIC_BASE_URL", "SESSION_HOURS", "LOG_LEVEL", "LOG_JSON", "TRANSLATION_ENABLED"):
        row = next(line for line in table.splitlines() if f"`MADOGUCHI_{name}`" in line)
        assert len(row.rsplit("|", 2)[-2].strip()) > 20, row  # a real description


def test_write_replaces_only_the_table(tmp_path: Path) -> None:
    guide = tmp_path / "ops.md"
    guide.write_text(f"# before\n\n{settings_table.START}\n| stale |\n{settings_table.END}\n\nafter\n", encoding="utf-8")
    assert settings_table.write(guide) is True
    text = guide.read_text(encoding="utf-8")
    assert text.startswith("# before\n") and text.endswith("\nafter\n") and "| stale |" not in text
    assert settings_table.section_of(text) == settings_table.render()
    assert settings_table.write(guide) is False


def test_the_command_prints_the_table() -> None:
    from madoguchi.cli import app

    result = CliRunner().invoke(app, ["settings-table"])
    assert result.exit_code == 0, result.output
    assert result.output == settings_table.render()


def test_every_madoguchi_variable_named_in_the_docs_is_a_setting() -> None:
    for doc in (GUIDE, ROOT / "README.md", ROOT / "docker-compose.yml"):
        named = set(re.findall(r"\bMADOGUCHI_[A-Z0-9_]*[A-Z0-9]\b", doc.read_text(encoding="utf-8")))
        unknown = sorted(n for n in named - SETTINGS - NOT_SETTINGS
                         # the README abbreviates groups: MADOGUCHI_IMAP_HOST, `_PORT`, ...
                         if not any(s.startswith(n + "_") for s in SETTINGS))
        assert unknown == [], f"{doc.name} names variables Settings does not have: {unknown}"


def test_compose_app_env_proxy_and_caddyfile_agree() -> None:
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text(encoding="utf-8"))
    app = compose["services"]["app"]
    env = app["environment"]
    assert {k for k in env if k.startswith("MADOGUCHI_")} <= SETTINGS
    # secure cookies and an https base URL behind the proxy
    assert str(env["MADOGUCHI_COOKIE_SECURE"]).lower() == "true"
    assert env["MADOGUCHI_PUBLIC_BASE_URL"].startswith("https://")
    # forwarded headers trusted from the proxy's fixed address only
    caddy = compose["services"]["caddy"]
    proxy_ip = caddy["networks"]["front"]["ipv4_address"]
    assert env["FORWARDED_ALLOW_IPS"] == proxy_ip
    assert "front" in app["networks"]
    # the stores are not reachable from the proxy
    assert compose["networks"]["back"]["internal"] is True
    assert "back" not in caddy["networks"]
    for store in ("postgres", "redis"):
        assert compose["services"][store]["networks"] == ["back"]
    # the app is published on loopback only; residents come through Caddy
    assert all(str(p).startswith("127.0.0.1:") for p in app.get("ports", []))
    mount = next(v for v in caddy["volumes"] if v.endswith(":/etc/caddy/Caddyfile:ro"))
    caddyfile = (ROOT / mount.split(":", 1)[0]).read_text(encoding="utf-8")
    assert "/api/webchat/sessions/*/ws" in caddyfile and "/api/console/ws" in caddyfile
    assert "reverse_proxy app:8000" in caddyfile and "{$MADOGUCHI_DOMAIN}" in caddyfile
    config = "\n".join(line for line in caddyfile.splitlines() if not line.lstrip().startswith("#"))
    assert "trusted_proxies" not in config  # so Caddy replaces what clients send as X-Forwarded-*


def test_serve_passes_forwarded_allow_ips_to_uvicorn(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    import uvicorn

    from madoguchi.cli import app

    seen: dict[str, object] = {}
    monkeypatch.setattr(uvicorn, "run", lambda *a, **kw: seen.update(kw))
    monkeypatch.setenv("FORWARDED_ALLOW_IPS", "172.30.0.2")
    monkeypatch.setenv("MADOGUCHI_LOG_JSON", "false")
    result = CliRunner().invoke(app, ["serve", "--port", "8123"])
    assert result.exit_code == 0, result.output
    assert seen["forwarded_allow_ips"] == "172.30.0.2" and seen["proxy_headers"] is True
    result = CliRunner().invoke(app, ["serve", "--forwarded-allow-ips", "10.0.0.5"])
    assert seen["forwarded_allow_ips"] == "10.0.0.5"
