"""Accounts and roster (issue 11): the admin API and `madoguchi accounts` / `madoguchi audit
export`, every change audited, unknown profiles refused, the roster's history exported."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from casecore.db import transaction
from casecore.models import AuditEvent
from tests.conftest import TEST_SECRET, Running
from tests.handoff_helpers import counsellor_client
from tests.helpers import COUNSELLOR_PASSWORD, login, login_body


async def test_admin_manages_accounts_and_every_change_is_audited(running_sqlite: Running) -> None:
    running = running_sqlite
    async with counsellor_client(running, "kanri", "admin") as admin, counsellor_client(running, "sato") as sato:
        assert (await sato.get("/api/accounts")).status_code == 403  # admins only
        assert (await sato.post("/api/accounts", json={"login": "x1"})).status_code == 403

        r = await admin.post("/api/accounts", json={"login": "nakamura", "display_name": "中村 葵", "role": "counsellor",
                                                    "team": "north", "profiles": ["minato-osaka"]})
        assert r.status_code == 201, r.text
        account, password = r.json()["account"], r.json()["password"]
        assert account["mfa"] is False and account["profiles"] == ["minato-osaka"] and len(password) >= 10
        r = await admin.post("/api/accounts", json={"login": "ghost", "profiles": ["atlantis-city"]})
        assert r.status_code == 422 and "atlantis-city" in r.text  # unknown profile names refused
        r = await admin.patch(f"/api/accounts/{account['id']}", json={"profiles": ["nowhere"]})
        assert r.status_code == 422

        # the new account logs in with its password and must enrol MFA first
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=running.app), base_url="http://t") as new:
            r = await new.post("/api/auth/login", json={"login": "nakamura", "password": password})
            assert r.json()["stage"] == "mfa"

        r = await admin.patch(f"/api/accounts/{account['id']}", json={"role": "lead", "team": "", "profiles": ["minato-tokyo"]})
        assert r.json()["account"] | {} == {**account, "role": "lead", "team": None, "profiles": ["minato-tokyo"]}
        listed = {a["login"]: a for a in (await admin.get("/api/accounts")).json()["accounts"]}
        assert listed["nakamura"]["role"] == "lead" and listed["sato"]["mfa"] is True

        sato_id = listed["sato"]["id"]
        assert (await admin.post(f"/api/accounts/{sato_id}/disable")).json()["account"]["active"] is False
        assert (await sato.get("/api/queue")).status_code == 401  # the session ended at once
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=running.app), base_url="http://t") as c:
            assert (await c.post("/api/auth/login", json=login_body("sato"))).status_code == 401
            assert (await admin.post(f"/api/accounts/{sato_id}/enable")).status_code == 200
            await login(c, "sato")
            new_pw = (await admin.post(f"/api/accounts/{sato_id}/reset-password")).json()["password"]
            assert (await c.get("/api/queue")).status_code == 401  # a reset ends the sessions too
            assert (await c.post("/api/auth/login", json=login_body("sato"))).status_code == 401  # old password
            assert (await c.post("/api/auth/login", json=login_body("sato", new_pw))).status_code == 200
            assert (await admin.post(f"/api/accounts/{sato_id}/reset-mfa")).json()["account"]["mfa"] is False
            r = await c.post("/api/auth/login", json={"login": "sato", "password": new_pw})
            assert r.json()["stage"] == "mfa"  # enrols a new authenticator
        me = (await admin.get("/api/auth/me")).json()
        assert (await admin.post(f"/api/accounts/{me['id']}/disable")).status_code == 422  # not oneself

        roster = list(csv.DictReader(io.StringIO((await admin.get("/api/accounts/roster.csv")).text)))
        nakamura = [r for r in roster if r["login"] == "nakamura"]
        assert [(r["change"], r["role"], r["profiles"], r["by"]) for r in nakamura] == [
            ("created", "counsellor", "minato-osaka", "kanri"), ("changed", "lead", "minato-tokyo", "kanri")]
        assert [r["change"] for r in roster if r["login"] == "sato"][-2:] == ["disabled", "enabled"]
    async with transaction(running.ctx.sessions) as s:
        actions = [a for a in (await s.scalars(select(AuditEvent.action).where(AuditEvent.target_type == "counsellor").order_by(AuditEvent.id))).all()
                   if a.startswith("account_")]
    assert actions == ["account_created", "account_changed", "account_disabled", "account_enabled",
                       "account_password_reset", "account_mfa_reset"]


@pytest.fixture
def cli_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("MADOGUCHI_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("MADOGUCHI_SECRET_KEY", TEST_SECRET)
    monkeypatch.delenv("MADOGUCHI_DATABASE_URL", raising=False)
    monkeypatch.delenv("MADOGUCHI_REDIS_URL", raising=False)
    return tmp_path


def test_accounts_and_audit_export_from_the_command_line(cli_env: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from madoguchi.cli_accounts import accounts_app
    from madoguchi.cli_audit import audit_app

    runner = CliRunner()
    monkeypatch.setenv("MADOGUCHI_NEW_PASSWORD", COUNSELLOR_PASSWORD)
    r = runner.invoke(accounts_app, ["create", "kato", "--name", "加藤", "--team", "east", "--profile", "minato-tokyo"])
    assert r.exit_code == 0, r.output
    assert "kato" in r.output and "mfa=no" in r.output
    r = runner.invoke(accounts_app, ["create", "bad", "--profile", "atlantis"])
    assert r.exit_code == 2 and "unknown profile" in r.output
    monkeypatch.delenv("MADOGUCHI_NEW_PASSWORD")
    r = runner.invoke(accounts_app, ["set", "kato", "--role", "lead", "--profile", "minato-tokyo", "--profile", "minato-osaka"])
    assert r.exit_code == 0 and "minato-osaka,minato-tokyo" in r.output
    assert runner.invoke(accounts_app, ["disable", "kato"]).exit_code == 0
    listed = runner.invoke(accounts_app, ["list"]).output
    assert "DISABLED" in listed and "lead" in listed
    r = runner.invoke(accounts_app, ["reset-password", "kato"])
    assert r.exit_code == 0 and "shown once" in r.output
    assert runner.invoke(accounts_app, ["disable", "nobody"]).exit_code == 2
    out = cli_env / "audit.csv"
    r = runner.invoke(audit_app, ["export", "--from", "2020-01-01", "--to", "2099-12-31", "--staff", "kato", "--out", str(out)])
    assert r.exit_code == 0, r.output
    r = runner.invoke(audit_app, ["export", "--from", "2020-01-01"])
    rows = list(csv.DictReader(io.StringIO(r.output)))
    assert [x["action"] for x in rows] == ["account_created", "account_changed", "account_disabled", "account_password_reset",
                                          "export_audit"]  # the first export is itself audited
    assert all(x["actor_type"] == "system" for x in rows)
    roster = runner.invoke(accounts_app, ["roster"]).output
    assert roster.splitlines()[0] == "at,login,change,role,team,profiles,active,by"
    assert runner.invoke(audit_app, ["export", "--from", "yesterday"]).exit_code == 2


def test_free_text_in_a_csv_export_never_runs_as_a_formula() -> None:
    from casecore import audit

    row = {k: None for k in audit.EXPORT_COLUMNS} | {"detail": {}, "reason": "=HYPERLINK(\"http://x\")", "action": "break_glass"}
    line = audit.to_csv([row]).splitlines()[1]
    assert "'=HYPERLINK" in line and audit.cell("相談員不在") == "相談員不在" and audit.cell(None) == ""
