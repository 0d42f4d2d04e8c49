"""Settings from environment variables prefixed MADOGUCHI_ (see README, Configuration)."""

from __future__ import annotations

from functools import cached_property
from pathlib import Path

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

from casecore.db import normalize_url, sqlite_url_for


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="MADOGUCHI_", env_file=None, extra="ignore")

    data_dir: Path = Path("./data")
    database_url: str | None = None  # SQLite under data_dir when unset
    redis_url: str | None = None  # in-process queue, cache and pub/sub when unset
    secret_key: SecretStr | None = None  # generated into data_dir when unset (dev only)
    old_secret_keys: list[SecretStr] = Field(default_factory=list)  # readable, for rotation
    profile: str = "minato-tokyo"  # default municipality profile id
    profiles_dir: Path | None = None  # extra profile YAML files
    public_base_url: str = "http://127.0.0.1:8000"
    cookie_secure: bool = False  # set true behind TLS in production
    session_hours: int = 10
    log_level: str = "INFO"
    log_json: bool = True

    purge_unconsented_after_days: int = 7
    resume_after_minutes: int = 30  # a returning resident is asked whether to continue
    max_message_chars: int = 4_000  # longer messages are cut, and the resident told

    # LINE (a profile may carry its own credentials)
    line_channel_secret: SecretStr | None = None
    line_channel_access_token: SecretStr | None = None
    line_api_base_url: str = "https://api.line.me"
    line_data_api_base_url: str = "https://api-data.line.me"

    # Telegram
    telegram_bot_token: SecretStr | None = None
    telegram_webhook_secret: SecretStr | None = None
    telegram_api_base_url: str = "https://api.telegram.org"

    # Email: IMAP inbound, SMTP outbound
    imap_host: str | None = None
    imap_port: int = 993
    imap_user: str | None = None
    imap_password: SecretStr | None = None
    imap_ssl: bool = True
    imap_mailbox: str = "INBOX"
    imap_poll_seconds: float = 30.0
    smtp_host: str | None = None
    smtp_port: int = 587
    smtp_user: str | None = None
    smtp_password: SecretStr | None = None
    smtp_starttls: bool = True
    smtp_from: str | None = None  # the centre's address, e.g. soudan@example.lg.jp
    lmtp_port: int | None = None  # direct delivery to the service (aiosmtpd), off when unset

    # Translation (argostranslate); models are installed under data_dir/argos
    translation_enabled: bool = True
    translation_timeout_seconds: float = 8.0
    translation_models_dir: Path | None = None
    # Which models to load at start: "all" installed, "none" (each loads on first use), or the
    # residents' languages to and from Japanese, comma-separated ("en,vi,zh-Hans"). Every model
    # costs memory, so a centre with many installed pairs names the ones it mostly needs.
    translation_warm: str = "all"

    # -- hardening (issue 17) ---------------------------------------------------------------
    webchat_idle_hours: float = 24.0  # a web chat token stops working after this long unused
    webchat_ws_auth_seconds: float = 5.0  # the socket's first frame must authenticate within this
    quick_exit_url: str = "https://www.google.com/"  # the neutral page the quick-exit button opens
    ops_access: str = "loopback"  # /metrics, /docs, /redoc, /openapi.json: off | loopback | token | open
    ops_token: SecretStr | None = None  # bearer token when ops_access is "token"
    log_identities: bool = False  # when true, logs carry IPs and session ids as keyed hashes
    rate_limits_enabled: bool = True
    # "N/seconds"; "off" disables one rule. Per-IP rules skip loopback clients: behind a local
    # proxy every resident would share one address (run uvicorn with --proxy-headers).
    limit_sessions_per_ip: str = "30/3600"
    limit_sessions_per_device: str = "30/3600"
    limit_messages_per_session: str = "30/60"
    limit_messages_per_ip: str = "120/60"
    limit_logins_per_ip: str = "20/900"
    limit_logins_per_account: str = "10/900"
    block_hours: float = 24.0 * 30  # a lead's block covers the browser (device cookie) this long
    block_network_hours: float = 24.0  # and the network (IP) this long: shorter, IPs are shared
    max_body_json: int = 64 * 1024  # bytes, JSON APIs
    max_body_webhook: int = 1024 * 1024  # bytes, channel webhooks
    max_body_login: int = 4 * 1024  # bytes, the login form
    # -- end hardening (issue 17) -----------------------------------------------------------

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
