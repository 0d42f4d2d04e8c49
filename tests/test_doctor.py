"""`madoguchi doctor`: each check on real settings objects and throw-away data dirs (SQLite
files, PostgreSQL and Redis on loopback, model directories), plus the CLI fixes of issue 18."""

from __future__ import annotations

import asyncio
import zipfile
from pathlib import Path

import pytest
import structlog
from typer.testing import CliRunner

from casecore.migrate import upgrade
from madoguchi import doctor
from madoguchi.doctor import Finding
from madoguchi.settings import Settings
from tests.conftest import TEST_SECRET

FIXTURES = Path(__file__).parent / "fixtures" / "argos"
LINE_SECRET = "0123456789abcdef0123456789abcdef"
TELEGRAM_TOKEN = "123456789:AAEhBOweik6ad9r_QXMENQjcrGbqCr4K-ua"  # the shape, not a real bot


def mk(tmp_path: Path, **values: object) -> Settings:
    """Settings for a throw-away data dir (conftest's make_settings, but secret_key may be None)."""
    base: dict[str, object] = {"data_dir": tmp_path / "data", "secret_key": TEST_SECRET,
                               "log_json": False, "log_level": "WARNING"}
    return Settings(**{**base, **values})  # type: ignore[arg-type]


def statuses(findings: list[Finding], check: str) -> list[str]:
    return [f.status for f in findings if f.check == check]


def only(findings: list[Finding], check: str) -> Finding:
    mine = [f for f in findings if f.check == check]
    assert len(mine) == 1, mine
    return mine[0]


# ── database and Redis ───────────────────────────────────────────────────────


def test_database_missing_then_current_then_behind(tmp_path: Path) -> None:
    settings = mk(tmp_path)
    f = only(asyncio.run(doctor.check_database(settings)), "database")
    assert f.status == "warn" and "db upgrade" in f.fix
    assert not (tmp_path / "data" / "madoguchi.db").exists()  # the check created nothing

    upgrade(settings.resolved_database_url)
    f = only(asyncio.run(doctor.check_database(settings)), "database")
    assert f.status == "ok" and "migrations current" in f.message

    other = mk(tmp_path / "old")
    upgrade(other.resolved_database_url, "0001")
    f = only(asyncio.run(doctor.check_database(other)), "database")
    assert f.status == "fail" and "0001" in f.message and "db upgrade" in f.fix


def test_counsellors_limited_to_an_unknown_profile_are_reported(tmp_path: Path) -> None:
    from casecore.db import make_engine, make_sessionmaker, transaction
    from casecore.models import Counsellor

    settings = mk(tmp_path)
    upgrade(settings.resolved_database_url)

    async def add() -> None:
        engine = make_engine(settings.resolved_database_url)
        async with transaction(make_sessionmaker(engine)) as s:
            s.add(Counsellor(login="kato", password_hash="x", role="counsellor", display_name="", profiles=["minato-tokyo"]))
            s.add(Counsellor(login="ito", password_hash="x", role="counsellor", display_name="", profiles=["old-town"]))
        await engine.dispose()

    asyncio.run(add())
    found = asyncio.run(doctor.check_database(settings))
    assert statuses(found, "database") == ["ok"]
    f = only(found, "profiles")
    assert f.status == "warn" and "'ito'" in f.message and "old-town" in f.message and "kato" not in f.message


def test_database_unreachable_fails_without_showing_the_password(tmp_path: Path) -> None:
    settings = mk(tmp_path, database_url="postgresql://madoguchi:hunter2-secret@127.0.0.1:1/madoguchi")
    f = only(asyncio.run(doctor.check_database(settings)), "database")
    assert f.status == "fail" and "cannot reach" in f.message
    assert "hunter2-secret" not in f.message + f.fix


@pytest.mark.postgres
def test_database_on_postgresql_is_current(tmp_path: Path, pg_database: str) -> None:
    f = only(asyncio.run(doctor.check_database(mk(tmp_path, database_url=pg_database))), "database")
    assert f.status == "ok", f


@pytest.mark.redis
def test_redis_reachable_unconfigured_and_down(tmp_path: Path, redis_url: str) -> None:
    assert statuses(asyncio.run(doctor.check_redis(mk(tmp_path))), "redis") == ["ok"]
    assert statuses(asyncio.run(doctor.check_redis(mk(tmp_path, redis_url=redis_url))), "redis") == ["ok"]
    f = only(asyncio.run(doctor.check_redis(mk(tmp_path, redis_url="redis://127.0.0.1:1/0"))), "redis")
    assert f.status == "fail" and "MADOGUCHI_REDIS_URL" in f.fix


# ── secret key and cookies ───────────────────────────────────────────────────


def test_dev_key_beside_the_data_is_fine_for_development_only(tmp_path: Path) -> None:
    dev = mk(tmp_path, secret_key=None)
    dev.resolved_secret_key()  # writes data/secret.key as the embedded default does
    assert statuses(doctor.check_secret_key(dev), "secret_key") == ["ok"]

    for prodlike in (
        mk(tmp_path, secret_key=None, database_url="postgresql://postgres@127.0.0.1:5432/x"),
        mk(tmp_path, secret_key=None, cookie_secure=True),
    ):
        f = only(doctor.check_secret_key(prodlike), "secret_key")
        assert f.status == "warn" and "secret.key" in f.message and "MADOGUCHI_SECRET_KEY" in f.fix
        key = (tmp_path / "data" / "secret.key").read_text().strip()
        assert key not in f.message + f.fix

    # a configured key with the old dev file still lying in the data dir
    f = only(doctor.check_secret_key(mk(tmp_path)), "secret_key")
    assert f.status == "warn" and "unused development key" in f.message
    assert TEST_SECRET not in f.message + f.fix


def test_configured_secret_key_ok_and_short_key_fails(tmp_path: Path) -> None:
    assert statuses(doctor.check_secret_key(mk(tmp_path)), "secret_key") == ["ok"]
    f = only(doctor.check_secret_key(mk(tmp_path, secret_key="short")), "secret_key")
    assert f.status == "fail" and "32" in f.message and "short" not in f.message.replace("shorter", "")


def test_cookies_must_be_secure_behind_https(tmp_path: Path) -> None:
    https = "https://soudan.example.lg.jp"
    f = only(doctor.check_cookies(mk(tmp_path, public_base_url=https)), "cookies")
    assert f.status == "fail" and "MADOGUCHI_COOKIE_SECURE=true" in f.fix
    assert statuses(doctor.check_cookies(mk(tmp_path, public_base_url=https, cookie_secure=True)), "cookies") == ["ok"]
    f = only(doctor.check_cookies(mk(tmp_path, public_base_url="http://soudan.example.lg.jp", cookie_secure=True)), "cookies")
    assert f.status == "warn"
    f = only(doctor.check_cookies(mk(tmp_path, database_url="postgresql://x@h/db")), "cookies")
    assert f.status == "warn" and "default" in f.message
    assert statuses(doctor.check_cookies(mk(tmp_path)), "cookies") == ["ok"]


# ── channels ─────────────────────────────────────────────────────────────────


def test_line_credentials_in_form(tmp_path: Path) -> None:
    assert statuses(doctor.check_line(mk(tmp_path)), "line") == ["ok"]
    good = mk(tmp_path, line_channel_secret=LINE_SECRET, line_channel_access_token="token-value")
    assert statuses(doctor.check_line(good), "line") == ["ok"]
    bad = mk(tmp_path, line_channel_secret="not-hex-" + "z" * 24, line_channel_access_token="t")
    f = only(doctor.check_line(bad), "line")
    assert f.status == "fail" and "32 hexadecimal" in f.message and "z" * 24 not in f.message
    no_token = mk(tmp_path, line_channel_secret=LINE_SECRET)
    f = only(doctor.check_line(no_token), "line")
    assert f.status == "fail" and "access token is missing" in f.message and LINE_SECRET not in f.message


def _profiles_with(tmp_path: Path, channels_yaml: str, settings_extra: dict | None = None):  # type: ignore[no-untyped-def]
    """A profiles dir holding a copy of the Osaka profile with its own channel credentials."""
    from dialogs.profile import PROFILE_DIR

    extra = tmp_path / "profiles"
    extra.mkdir(exist_ok=True)
    text = (PROFILE_DIR / "minato-osaka.yaml").read_text(encoding="utf-8").replace("id: minato-osaka", "id: test-city")
    (extra / "test-city.yaml").write_text(text + "\nchannels:\n" + channels_yaml, encoding="utf-8")
    settings = mk(tmp_path, profiles_dir=extra, **(settings_extra or {}))
    registry, found = doctor.load_profiles(settings)
    assert registry is not None, found
    return settings, registry


def test_a_profiles_own_channel_credentials_are_checked(tmp_path: Path) -> None:
    settings, registry = _profiles_with(
        tmp_path,
        f"  line: {{channel_secret: '{LINE_SECRET[:-1]}', channel_access_token: tok}}\n"
        f"  telegram: {{bot_token: '{TELEGRAM_TOKEN}', webhook_secret: hook_1}}\n",
    )
    f = only(doctor.check_line(settings, registry), "line")
    assert f.status == "fail" and "profile test-city" in f.message
    f = only(doctor.check_telegram(settings, registry), "telegram")
    assert f.status == "ok" and "profile test-city" in f.message


def test_telegram_token_shape_and_webhook_secret(tmp_path: Path) -> None:
    assert statuses(doctor.check_telegram(mk(tmp_path)), "telegram") == ["ok"]
    ok = mk(tmp_path, telegram_bot_token=TELEGRAM_TOKEN, telegram_webhook_secret="s3cret_value")
    assert statuses(doctor.check_telegram(ok), "telegram") == ["ok"]
    short = mk(tmp_path, telegram_bot_token="123456789:tooshort", telegram_webhook_secret="s")
    f = only(doctor.check_telegram(short), "telegram")
    assert f.status == "fail" and "tooshort" not in f.message
    nosecret = mk(tmp_path, telegram_bot_token=TELEGRAM_TOKEN)
    assert statuses(doctor.check_telegram(nosecret), "telegram") == ["warn"]
    badsecret = mk(tmp_path, telegram_bot_token=TELEGRAM_TOKEN, telegram_webhook_secret="has space")
    assert statuses(doctor.check_telegram(badsecret), "telegram") == ["fail"]


def test_mail_host_and_port_pairs(tmp_path: Path) -> None:
    assert statuses(doctor.check_email(mk(tmp_path)), "email") == ["ok"]
    complete = mk(tmp_path, imap_host="imap.example.lg.jp", imap_user="soudan", imap_password="pw",
                             smtp_host="smtp.example.lg.jp", smtp_from="soudan@example.lg.jp")
    assert statuses(doctor.check_email(complete), "email") == ["ok"]
    lmtp = mk(tmp_path, lmtp_port=2424, smtp_host="smtp.example.lg.jp", smtp_from="soudan@example.lg.jp")
    assert statuses(doctor.check_email(lmtp), "email") == ["ok"]
    f = only(doctor.check_email(mk(tmp_path, imap_host="imap.example.lg.jp", imap_user="u", imap_password="p")), "email")
    assert f.status == "fail" and "SMTP_HOST" in f.message
    f = only(doctor.check_email(mk(tmp_path, smtp_host="smtp.example.lg.jp", smtp_port=0,
                                              smtp_from="a@example.lg.jp", imap_host="imap.example.lg.jp")), "email")
    assert f.status == "fail" and "SMTP port" in f.message and "IMAP_USER" in f.message


# ── translation ──────────────────────────────────────────────────────────────


def _unpack(model: str, models_dir: Path) -> None:
    """An installed package as `translate install` leaves it (without loading the model)."""
    with zipfile.ZipFile(FIXTURES / model) as zf:
        zf.extractall(models_dir)


def test_translation_pairs_missing_for_the_profiles_languages(tmp_path: Path) -> None:
    settings = mk(tmp_path)
    f = only([x for x in doctor.check_translation(settings) if "runtime" not in x.message], "translation")
    assert f.status == "warn"
    assert "vi→en" in f.message and "ja→en" in f.message and "zh-Hant" in f.message
    assert "madoguchi translate install" in f.fix and "translate-zt_en-*.argosmodel" in f.fix

    models = tmp_path / "data" / "argos"
    for m in ("ja_en-micro.argosmodel", "en_ja-micro.argosmodel", "vi_en-micro.argosmodel", "en_vi-micro.argosmodel"):
        _unpack(m, models)
    f = only([x for x in doctor.check_translation(settings) if "runtime" not in x.message], "translation")
    assert f.status == "warn"
    assert "ja→en" not in f.message and "vi→en" not in f.message  # installed, and en pivots vi
    assert "ko→en" in f.message
    missing = f.message.split("no translation for ", 1)[1].split(" (", 1)[0].split(", ")
    assert "vi" not in missing and "en" not in missing and "ko" in missing


def test_translation_off(tmp_path: Path) -> None:
    assert statuses(doctor.check_translation(mk(tmp_path, translation_enabled=False)), "translation") == ["ok"]
    prod = mk(tmp_path, translation_enabled=False, cookie_secure=True)
    assert statuses(doctor.check_translation(prod), "translation") == ["warn"]


# ── profiles ─────────────────────────────────────────────────────────────────


def test_tokyo_placeholders_marked_confirm_are_reported(tmp_path: Path) -> None:
    found = doctor.check_profile_placeholders(mk(tmp_path))
    tokyo = [f for f in found if "minato-tokyo.yaml" in f.message]
    assert tokyo and all(f.status == "warn" for f in tokyo)
    assert any(":8: phone '03-3578-2111'" in f.message and "confirm" in f.message for f in tokyo)
    # the lodging contact gives the same switchboard number: flagged too
    assert any("same number as the placeholder" in f.message for f in tokyo)
    assert not [f for f in found if "minato-osaka.yaml" in f.message]


def test_placeholders_in_an_own_profiles_dir(tmp_path: Path) -> None:
    own = tmp_path / "own.yaml"
    own.write_text('# Values marked "confirm" are placeholders.\nid: own\nphone: "0000"  # confirm with the centre\n'
                   'address: {ja: 仮}\n', encoding="utf-8")
    found = doctor.check_profile_placeholders(mk(tmp_path), files=[own])
    assert [f.message for f in found] == ["own.yaml:3: phone '0000' is marked \"confirm\""]
    clean = tmp_path / "clean.yaml"
    clean.write_text("id: clean\nphone: '06-0000-0000'\n", encoding="utf-8")
    assert statuses(doctor.check_profile_placeholders(mk(tmp_path), files=[clean]), "profile_placeholders") == ["ok"]


def test_unknown_profile_name_fails_listing_the_known_ones(tmp_path: Path) -> None:
    registry, found = doctor.load_profiles(mk(tmp_path, profile="nowhere"))
    assert registry is None
    f = only(found, "profiles")
    assert f.status == "fail" and "nowhere" in f.message and "minato-tokyo" in f.message
    registry, found = doctor.load_profiles(mk(tmp_path))
    assert registry is not None and statuses(found, "profiles") == ["ok"]


# ── the commands ─────────────────────────────────────────────────────────────


def _env(tmp_path: Path, **extra: str) -> dict[str, str]:
    env = {"MADOGUCHI_DATA_DIR": str(tmp_path / "data"), "MADOGUCHI_SECRET_KEY": TEST_SECRET}
    env.update(extra)
    return env


def test_doctor_command_exit_code(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from madoguchi.cli import app

    for k, v in _env(tmp_path).items():
        monkeypatch.setenv(k, v)
    upgrade(mk(tmp_path).resolved_database_url)
    result = CliRunner().invoke(app, ["doctor"])
    assert result.exit_code == 0, result.output
    assert "[ok  ] database: reachable, migrations current" in result.output
    assert "[warn] profile_placeholders" in result.output

    monkeypatch.setenv("MADOGUCHI_PUBLIC_BASE_URL", "https://soudan.example.lg.jp")
    monkeypatch.setenv("MADOGUCHI_LINE_CHANNEL_SECRET", "xyz")
    result = CliRunner().invoke(app, ["doctor"])
    assert result.exit_code == 1
    assert "[fail] cookies" in result.output and "[fail] line" in result.output
    assert "2 failed" in result.output
    assert TEST_SECRET not in result.output


def test_serve_logs_one_line_per_problem_and_no_secret(tmp_path: Path) -> None:
    from madoguchi.cli import _log_config_problems

    settings = mk(tmp_path, public_base_url="https://soudan.example.lg.jp",
                             line_channel_secret="not-a-secret-xyz", line_channel_access_token="tok-123")
    with structlog.testing.capture_logs() as logs:
        _log_config_problems(settings)
    problems = [e for e in logs if e["event"] == "config_problem"]
    expected = doctor.startup_findings(settings)
    assert len(problems) == len(expected) >= 3
    assert {(e["check"], e["status"]) for e in problems} >= {("cookies", "fail"), ("line", "fail"), ("profile_placeholders", "warn")}
    assert {e["log_level"] for e in problems if e["status"] == "fail"} == {"error"}
    flat = repr(logs)
    for secret in ("not-a-secret-xyz", "tok-123", TEST_SECRET):
        assert secret not in flat


def test_user_create_refuses_an_unknown_profile(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from madoguchi.cli import app

    for k, v in _env(tmp_path, MADOGUCHI_NEW_PASSWORD="a-long-enough-password-2026").items():
        monkeypatch.setenv(k, v)
    result = CliRunner().invoke(app, ["user", "create", "sato", "--profile", "nowhere"])
    assert result.exit_code != 0
    assert "unknown profile 'nowhere'" in result.output and "minato-osaka, minato-tokyo" in result.output
    assert not (tmp_path / "data" / "madoguchi.db").exists()  # refused before touching the database
    result = CliRunner().invoke(app, ["user", "create", "sato", "--profile", "minato-osaka"])
    assert result.exit_code == 0, result.output
    assert "created counsellor sato" in result.output


def test_translate_list_without_models_says_where_they_come_from(tmp_path: Path) -> None:
    from madoguchi.cli_translate import app as translate_app

    result = CliRunner().invoke(translate_app, ["list", "--models-dir", str(tmp_path / "none")])
    assert result.exit_code == 0, result.output
    out = result.output
    assert "no translation models installed" in out
    assert "argospm-index" in out and "madoguchi translate install FILE.argosmodel" in out
    assert "ja -> en" in out and "vi -> en, en -> vi" in out and "zh-Hant -> en, en -> zh-Hant" in out
