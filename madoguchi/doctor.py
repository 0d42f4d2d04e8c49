"""`madoguchi doctor`: check the configuration and say what to fix.

Each check is a small function taking the Settings (and, where needed, the loaded profiles)
and returning Findings with a status: ok, warn (works, but fix before going live) or fail
(broken or unsafe). Messages name settings and files, never secret values. `serve` logs the
warnings and failures of the offline checks at start (`startup_findings`).
"""

from __future__ import annotations

import asyncio
import importlib.util
import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from madoguchi.settings import Settings

Status = Literal["ok", "warn", "fail"]


@dataclass(frozen=True)
class Finding:
    check: str  # short name: database, redis, secret_key, cookies, line, ...
    status: Status
    message: str  # what is the matter (or what is fine)
    fix: str = ""  # what to do about it

    def line(self) -> str:
        text = f"[{self.status:<4}] {self.check}: {self.message}"
        return f"{text}\n       fix: {self.fix}" if self.fix else text


def _ok(check: str, message: str) -> Finding:
    return Finding(check, "ok", message)


def production_like(settings: Settings) -> bool:
    """PostgreSQL or secure cookies: someone means this to serve residents."""
    url = settings.database_url or ""
    return url.startswith(("postgres", "postgresql")) or settings.cookie_secure


# ── profiles ─────────────────────────────────────────────────────────────────


def load_profiles(settings: Settings) -> tuple[Any | None, list[Finding]]:
    """The profile registry, or None with a failure saying why."""
    from dialogs.profile import ProfileRegistry

    try:
        registry = ProfileRegistry.load(settings.profile, settings.profiles_dir)
    except ValueError as exc:  # unknown default profile, or a profile that does not validate
        return None, [Finding("profiles", "fail", str(exc).splitlines()[0],
                              "set MADOGUCHI_PROFILE to one of the profiles listed, or fix the profile file")]
    except Exception as exc:  # a YAML or validation error of any kind
        return None, [Finding("profiles", "fail", f"a profile file does not load: {type(exc).__name__}: {exc}",
                              "fix the YAML in dialogs/profiles/ or MADOGUCHI_PROFILES_DIR")]
    found = [_ok("profiles", f"default profile {settings.profile!r}; known: {', '.join(sorted(p.id for p in registry.all()))}")]
    if settings.profiles_dir is not None and not Path(settings.profiles_dir).is_dir():
        found.append(Finding("profiles", "warn", f"MADOGUCHI_PROFILES_DIR {settings.profiles_dir} is not a directory",
                             "point it at a directory of profile YAML files, or unset it"))
    return registry, found


def known_profile_ids(settings: Settings) -> list[str]:
    import yaml

    from dialogs.profile import PROFILE_DIR

    ids = []
    for directory in [PROFILE_DIR, *([settings.profiles_dir] if settings.profiles_dir else [])]:
        for path in sorted(Path(directory).glob("*.yaml")):
            try:
                data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
            except (OSError, yaml.YAMLError):
                continue
            if isinstance(data, dict) and isinstance(data.get("id"), str):
                ids.append(data["id"])
    return sorted(set(ids))


# A value line whose comment says "confirm" (e.g. `phone: "03-…"  # … (confirm: …)`): a
# placeholder someone must check with the centre. Comment-only lines explain the convention.
_CONFIRM = re.compile(r"^\s*(?:-\s*)?(?P<key>[\w-]+):\s*(?P<value>[^#]*?)\s*#.*\bconfirm\b", re.IGNORECASE)
_PHONE = re.compile(r"""phone:\s*["']?(?P<phone>[0-9+][0-9-]{2,})""")


def profile_files(settings: Settings) -> list[Path]:
    from dialogs.profile import PROFILE_DIR

    dirs = [PROFILE_DIR, *([Path(settings.profiles_dir)] if settings.profiles_dir else [])]
    return [p for d in dirs if d.is_dir() for p in sorted(d.glob("*.yaml"))]


def check_profile_placeholders(settings: Settings, files: Iterable[Path] | None = None) -> list[Finding]:
    """Values marked "confirm" in a profile, and every other use of the same phone number."""
    found: list[Finding] = []
    for path in files if files is not None else profile_files(settings):
        lines = path.read_text(encoding="utf-8").splitlines()
        marked: dict[str, int] = {}
        for n, line in enumerate(lines, 1):
            m = _CONFIRM.match(line)
            if m:
                value = m["value"].strip().strip("\"'")
                found.append(Finding("profile_placeholders", "warn",
                                     f"{path.name}:{n}: {m['key']} {value!r} is marked \"confirm\"",
                                     f"check it with the centre and replace it (and its comment) in {path}"))
                if m["key"] == "phone":
                    marked[value] = n
        for n, line in enumerate(lines, 1):
            p = _PHONE.search(line)
            if p and p["phone"] in marked and marked[p["phone"]] != n:
                found.append(Finding("profile_placeholders", "warn",
                                     f"{path.name}:{n}: phone {p['phone']!r} is the same number as the placeholder on line {marked[p['phone']]}",
                                     "confirm this number too: residents are told to call it"))
    return found or [_ok("profile_placeholders", "no profile value is marked \"confirm\"")]


# ── storage ──────────────────────────────────────────────────────────────────


def _db_label(settings: Settings) -> str:
    url = settings.database_url
    if not url:
        return f"SQLite in {settings.data_dir}"
    return re.sub(r"//[^@/]*@", "//…@", url)  # no password in messages


async def check_database(settings: Settings) -> list[Finding]:
    """Reachable, and at the Alembic head (the schema the code expects)."""
    from alembic.runtime.migration import MigrationContext
    from alembic.script import ScriptDirectory
    from sqlalchemy import text

    from casecore.db import make_engine
    from casecore.migrate import alembic_config

    if not settings.database_url and not (Path(settings.data_dir) / "madoguchi.db").exists():
        return [Finding("database", "warn", f"no database yet ({_db_label(settings)})",
                        "run `madoguchi db upgrade` (serve also creates it at start)")]
    url = settings.resolved_database_url
    heads = set(ScriptDirectory.from_config(alembic_config(url)).get_heads())
    engine = make_engine(url)
    try:
        async with engine.connect() as conn:
            await asyncio.wait_for(conn.execute(text("SELECT 1")), 10)
            current = set(await conn.run_sync(lambda c: MigrationContext.configure(c).get_current_heads()))
    except Exception as exc:  # drivers raise many kinds
        return [Finding("database", "fail", f"cannot reach the database ({_db_label(settings)}): {type(exc).__name__}",
                        "check MADOGUCHI_DATABASE_URL and that the server is running and accepts this user")]
    finally:
        await engine.dispose()
    if current == heads:
        return [_ok("database", f"reachable, migrations current ({_db_label(settings)}, {', '.join(sorted(heads))})"),
                *await check_counsellor_profiles(settings)]
    return [Finding("database", "fail",
                    f"migrations not current: database at {', '.join(sorted(current)) or 'no revision'}, code expects {', '.join(sorted(heads))}",
                    "run `madoguchi db upgrade` once, before the workers start")]


async def check_counsellor_profiles(settings: Settings) -> list[Finding]:
    """Counsellors limited to a profile that no longer exists see nothing of it."""
    from sqlalchemy import select

    from casecore.db import make_engine, make_sessionmaker
    from casecore.models import Counsellor

    known = set(known_profile_ids(settings))
    engine = make_engine(settings.resolved_database_url)
    try:
        async with make_sessionmaker(engine)() as s:
            rows = (await s.execute(select(Counsellor.login, Counsellor.profiles).where(Counsellor.active))).all()
    finally:
        await engine.dispose()
    found = [Finding("profiles", "warn", f"counsellor {login!r} is limited to unknown profile(s) {', '.join(sorted(set(ps) - known))}",
                     f"known profiles: {', '.join(sorted(known))}; fix the profile file or the account")
             for login, ps in rows if set(ps or []) - known]
    return found


async def check_redis(settings: Settings) -> list[Finding]:
    if not settings.redis_url:
        return [_ok("redis", "not configured: queue, locks and pub/sub in process (one process only)")]
    from redis.asyncio import Redis

    client = Redis.from_url(settings.redis_url, socket_connect_timeout=5, socket_timeout=5)
    label = re.sub(r"//[^@/]*@", "//…@", settings.redis_url)
    try:
        await client.ping()
    except Exception as exc:  # connection errors of many kinds
        return [Finding("redis", "fail", f"cannot reach Redis at {label}: {type(exc).__name__}",
                        "check MADOGUCHI_REDIS_URL and that Redis is running")]
    finally:
        await client.aclose()
    return [_ok("redis", f"reachable at {label}")]


# ── secrets and cookies ──────────────────────────────────────────────────────


def check_secret_key(settings: Settings) -> list[Finding]:
    key_file = Path(settings.data_dir) / "secret.key"
    if settings.secret_key is not None:
        found = []
        if len(settings.secret_key.get_secret_value()) < 32:
            found.append(Finding("secret_key", "fail", "MADOGUCHI_SECRET_KEY is shorter than 32 characters",
                                 "use `madoguchi secret` for a new one (rotate: the old one goes to MADOGUCHI_OLD_SECRET_KEYS)"))
        if key_file.exists():
            found.append(Finding("secret_key", "warn", f"an unused development key is still in {key_file}",
                                 "if data was ever written with it, add it to MADOGUCHI_OLD_SECRET_KEYS; then move it out of the data directory"))
        return found or [_ok("secret_key", "MADOGUCHI_SECRET_KEY is set (kept outside the data directory)")]
    if production_like(settings):
        return [Finding("secret_key", "warn",
                        f"the field-encryption key is the development key file {key_file}, beside the data: "
                        "one backup of the data directory holds both the data and its key",
                        "set MADOGUCHI_SECRET_KEY (from a secret store) to the value of that file, keep it apart from backups, then remove the file")]
    return [_ok("secret_key", f"development key in {key_file} (set MADOGUCHI_SECRET_KEY in production)")]


def check_keystore(settings: Settings) -> list[Finding]:
    """The residents' data keys must not travel with the database's backups (crypto-shredding)."""
    path = Path(settings.resolved_keystore_path()).resolve()
    beside_db = settings.database_url is None and path.parent == Path(settings.data_dir).resolve()
    if beside_db and production_like(settings):
        return [Finding("keystore", "warn", f"the key store {path} is beside the SQLite database",
                        "set MADOGUCHI_KEYSTORE_PATH to another volume and back it up apart from the "
                        "database, with a short retention (README: consent and data lifecycle)")]
    return [_ok("keystore", f"per-resident data keys in {path}; back it up apart from the database")]


def check_cookies(settings: Settings) -> list[Finding]:
    base = settings.public_base_url.strip().lower()
    if base.startswith("https://") and not settings.cookie_secure:
        return [Finding("cookies", "fail", f"MADOGUCHI_PUBLIC_BASE_URL is https ({settings.public_base_url}) but cookies are not Secure",
                        "set MADOGUCHI_COOKIE_SECURE=true")]
    if settings.cookie_secure and base.startswith("http://"):
        return [Finding("cookies", "warn", "cookies are Secure but MADOGUCHI_PUBLIC_BASE_URL is plain http: browsers will not send them",
                        "set MADOGUCHI_PUBLIC_BASE_URL to the https address residents and counsellors use")]
    if production_like(settings) and re.match(r"http://(127\.0\.0\.1|localhost)\b", base):
        return [Finding("cookies", "warn", f"MADOGUCHI_PUBLIC_BASE_URL is still the default {settings.public_base_url}",
                        "set it to the public https address (webhook URLs and links are built from it)")]
    return [_ok("cookies", f"public base URL {settings.public_base_url}, secure cookies {'on' if settings.cookie_secure else 'off'}")]


# ── channels ─────────────────────────────────────────────────────────────────

_LINE_SECRET = re.compile(r"[0-9a-f]{32}")
_TELEGRAM_TOKEN = re.compile(r"\d+:[A-Za-z0-9_-]{35}")


def _secret(value: Any) -> str | None:
    if value is None:
        return None
    raw = value.get_secret_value() if hasattr(value, "get_secret_value") else str(value)
    return raw.strip() or None


def _channel_sources(settings: Settings, profiles: Any, channel: str) -> list[tuple[str, dict[str, Any]]]:
    """(where, credentials) for the settings and each profile's `channels.<channel>`."""
    sources: list[tuple[str, dict[str, Any]]] = []
    for profile in profiles.all() if profiles is not None else []:
        creds = (profile.channels or {}).get(channel)
        if creds:
            sources.append((f"profile {profile.id}", dict(creds)))
    return sources


def check_line(settings: Settings, profiles: Any = None) -> list[Finding]:
    sources = []
    secret, token = _secret(settings.line_channel_secret), _secret(settings.line_channel_access_token)
    if secret or token:
        sources.append(("MADOGUCHI_LINE_*", {"channel_secret": secret, "channel_access_token": token}))
    sources += _channel_sources(settings, profiles, "line")
    if not sources:
        return [_ok("line", "not configured")]
    found = []
    for where, creds in sources:
        s, t = creds.get("channel_secret"), creds.get("channel_access_token")
        problems = []
        if not s:
            problems.append("the channel secret is missing")
        elif not _LINE_SECRET.fullmatch(s):
            problems.append("the channel secret is not 32 hexadecimal characters")
        if not t:
            problems.append("the channel access token is missing")
        if problems:
            found.append(Finding("line", "fail", f"{where}: {'; '.join(problems)}",
                                 "copy the Channel secret (Basic settings) and a long-lived Channel access token (Messaging API) from the LINE Developers console"))
        else:
            found.append(_ok("line", f"{where}: secret and access token look right"))
    return found


def check_telegram(settings: Settings, profiles: Any = None) -> list[Finding]:
    sources = []
    token = _secret(settings.telegram_bot_token)
    hook = _secret(settings.telegram_webhook_secret)
    if token or hook:
        sources.append(("MADOGUCHI_TELEGRAM_*", {"bot_token": token, "webhook_secret": hook}))
    sources += _channel_sources(settings, profiles, "telegram")
    if not sources:
        return [_ok("telegram", "not configured")]
    found = []
    for where, creds in sources:
        t, w = creds.get("bot_token"), creds.get("webhook_secret")
        if not t:
            found.append(Finding("telegram", "fail", f"{where}: a webhook secret without a bot token",
                                 "set the bot token from @BotFather"))
        elif not _TELEGRAM_TOKEN.fullmatch(t):
            found.append(Finding("telegram", "fail", f"{where}: the bot token is not of the form <digits>:<35 characters>",
                                 "copy the whole token from @BotFather"))
        elif not w:
            found.append(Finding("telegram", "warn", f"{where}: no webhook secret: anyone who finds the URL can post updates",
                                 "set a webhook secret (1-256 of A-Z a-z 0-9 _ -) and run `madoguchi telegram set-webhook`"))
        elif not re.fullmatch(r"[A-Za-z0-9_-]{1,256}", w):
            found.append(Finding("telegram", "fail", f"{where}: the webhook secret may hold only A-Z a-z 0-9 _ - (1-256 characters)",
                                 "choose another webhook secret"))
        else:
            found.append(_ok("telegram", f"{where}: bot token and webhook secret look right"))
    return found


def _port_ok(value: Any) -> bool:
    try:
        return 0 < int(value) < 65536
    except (TypeError, ValueError):
        return False


def check_email(settings: Settings, profiles: Any = None) -> list[Finding]:
    boxes: list[tuple[str, dict[str, Any]]] = []
    own = {k: getattr(settings, k) for k in ("smtp_host", "smtp_port", "smtp_from", "imap_host", "imap_port",
                                             "imap_user", "imap_password", "lmtp_port")}
    if own["smtp_host"] or own["imap_host"] or own["lmtp_port"] or own["smtp_from"]:
        boxes.append(("MADOGUCHI_SMTP_*/IMAP_*", own))
    boxes += _channel_sources(settings, profiles, "email")
    if not boxes:
        return [_ok("email", "not configured")]
    found = []
    for where, box in boxes:
        problems, warnings = _mailbox_problems(box)
        if problems:
            found.append(Finding("email", "fail", f"{where}: {'; '.join(problems)}",
                                 "see docs/operations.md, Mail; `madoguchi email check` then tries the servers"))
        else:
            found.append(Finding("email", "warn", f"{where}: {'; '.join(warnings)}", "") if warnings
                         else _ok("email", f"{where}: host and port pairs complete"))
    return found


def _mailbox_problems(box: dict[str, Any]) -> tuple[list[str], list[str]]:
    """What is wrong (and what is doubtful) with one mailbox's settings."""
    def has(name: str) -> bool:
        return bool(box.get(name) or box.get(f"{name}_env"))

    problems, warnings = [], []
    if not (has("imap_host") or has("lmtp_port")):
        problems.append("no way in: set IMAP_HOST (a mailbox to poll) or LMTP_PORT (direct delivery)")
    if not has("smtp_host"):
        problems.append("no way out: SMTP_HOST is missing, so no mail can be answered")
    elif not _port_ok(box.get("smtp_port", 587)):
        problems.append(f"SMTP port {box.get('smtp_port')!r} is not a port number")
    if has("smtp_host") and not has("smtp_from"):
        problems.append("SMTP_FROM (the centre's address) is missing")
    if has("imap_host"):
        if not _port_ok(box.get("imap_port", 993)):
            problems.append(f"IMAP port {box.get('imap_port')!r} is not a port number")
        if not (has("imap_user") and has("imap_password")):
            problems.append("IMAP_HOST is set without IMAP_USER and IMAP_PASSWORD")
    if box.get("lmtp_port") is not None and not _port_ok(box["lmtp_port"]):
        problems.append(f"LMTP port {box['lmtp_port']!r} is not a port number")
    if str(box.get("smtp_port", "")) == "25":
        warnings.append("SMTP port 25 usually means no authentication: use the relay's 587 (STARTTLS) or 465")
    return problems, warnings


# ── translation ──────────────────────────────────────────────────────────────


def resident_languages(profiles: Any = None) -> list[str]:
    """The languages residents may choose (the catalogs), as translation codes, without
    Japanese: every one of them needs X→ja and ja→X."""
    from i18n.catalog import available_languages

    langs = [code for code in available_languages() if code not in ("ja", "ja-easy")]
    return langs


def check_translation(settings: Settings, profiles: Any = None) -> list[Finding]:
    if not settings.translation_enabled:
        return [Finding("translation", "warn" if production_like(settings) else "ok",
                        "translation is off (MADOGUCHI_TRANSLATION_ENABLED=false): counsellors see residents' own words only")]
    from i18n.translation.codes import argos_codes
    from i18n.translation.packages import list_installed, models_dir_for

    models = models_dir_for(settings)
    installed = {p.pair for p in list_installed(models)}
    found: list[Finding] = []
    # find_spec, not import: the start-up check runs in every `serve`, and importing the runtime
    # there costs ~7 MB of resident memory in a process that may never translate (issue 19).
    if any(importlib.util.find_spec(m) is None for m in ("ctranslate2", "sentencepiece")):
        found.append(Finding("translation", "warn", "the translation runtime (ctranslate2, sentencepiece) is not installed",
                             "pip install -e \".[translate]\" (torch==2.13.0 first, see scripts/test)"))

    def route(src: str, tgt: str) -> bool:
        return (src, tgt) in installed or {(src, "en"), ("en", tgt)} <= installed

    missing: dict[str, list[tuple[str, str]]] = {}
    for lang in resident_languages(profiles):
        if route(lang, "ja") and route("ja", lang):
            continue
        # Argos publishes pairs to and from English: the pivot is what can be installed.
        wanted = [("ja", "en"), ("en", "ja")] + ([] if lang == "en" else [(lang, "en"), ("en", lang)])
        missing[lang] = [p for p in wanted if p not in installed]
    if not missing:
        found.append(_ok("translation", f"every resident language has a route to and from Japanese ({len(installed)} models in {models})"))
        return found
    pairs = sorted({p for need in missing.values() for p in need})
    files = " ".join(f"translate-{argos_codes(a)[0]}_{argos_codes(b)[0]}-*.argosmodel" for a, b in pairs)
    found.append(Finding(
        "translation", "warn",
        f"no translation for {', '.join(sorted(missing))} (models in {models}); missing pairs: "
        + ", ".join(f"{a}→{b}" for a, b in pairs),
        "download the .argosmodel files on a machine with internet (Argos index, see docs/operations.md), "
        f"copy them here and run `madoguchi translate install {files}`; without them messages are delivered untranslated and marked",
    ))
    return found


# ── running them ─────────────────────────────────────────────────────────────


def offline_checks(settings: Settings) -> list[Finding]:
    """Checks that touch no server: what `serve` logs at start."""
    profiles, found = load_profiles(settings)
    found += check_profile_placeholders(settings)
    found += check_secret_key(settings)
    found += check_keystore(settings)
    found += check_cookies(settings)
    found += check_line(settings, profiles)
    found += check_telegram(settings, profiles)
    found += check_email(settings, profiles)
    found += check_translation(settings, profiles)
    return found


async def run_checks(settings: Settings) -> list[Finding]:
    """Every check, the database and Redis included."""
    found = await check_database(settings)
    found += await check_redis(settings)
    return found + offline_checks(settings)


def startup_findings(settings: Settings) -> list[Finding]:
    """What `serve` logs at start: the problems of the offline checks."""
    return [f for f in offline_checks(settings) if f.status != "ok"]
