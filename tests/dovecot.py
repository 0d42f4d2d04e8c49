"""A throw-away Dovecot IMAP server on loopback for the email tests.

Everything lives in one temporary directory: the configuration, a passwd-file with one user,
the maildir, the logs and the runtime sockets. The server listens on a free port of 127.0.0.1
without TLS. It runs as root when the tests do (Dovecot then drops to its own system users and
the mail user below) or as the current user otherwise.
"""

from __future__ import annotations

import contextlib
import imaplib
import os
import pwd
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tests.requirements import require
from tests.tls import Certificate, self_signed

DOVECOT = shutil.which("dovecot") or ("/usr/sbin/dovecot" if Path("/usr/sbin/dovecot").exists() else None)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _mail_user() -> tuple[str, int, int]:
    """(process user name, mail uid, mail gid). Dovecot refuses uid 0 for mail access."""
    if os.geteuid() != 0:
        me = pwd.getpwuid(os.geteuid())
        return me.pw_name, me.pw_uid, me.pw_gid
    for name in ("dovecot", "nobody"):
        with contextlib.suppress(KeyError):
            entry = pwd.getpwnam(name)
            return "root", entry.pw_uid, entry.pw_gid
    raise RuntimeError("no unprivileged user for Dovecot's mail processes")


@dataclass
class Dovecot:
    root: Path
    user: str = "soudan"
    password: str = field(default_factory=lambda: uuid.uuid4().hex)
    host: str = "127.0.0.1"
    port: int = field(default_factory=free_port)
    proc: subprocess.Popen[bytes] | None = None
    tls: bool = False  # IMAPS only (port 993 style), with a throw-away certificate
    certificate: Certificate | None = None

    @property
    def maildir(self) -> Path:
        return self.root / "mail" / self.user

    @property
    def conf(self) -> Path:
        return self.root / "dovecot.conf"

    def write_config(self) -> None:
        run_as, uid, gid = _mail_user()
        for sub in ("run", "state", "mail"):
            (self.root / sub).mkdir(parents=True, exist_ok=True)
        self.maildir.mkdir(parents=True, exist_ok=True)
        if os.geteuid() == 0:
            for p in (self.root / "mail", self.maildir):
                os.chown(p, uid, gid)
        internal = "dovecot" if run_as == "root" else run_as
        login = "dovenull" if run_as == "root" else run_as
        if self.tls:
            self.certificate = self_signed(self.root)
            ssl_lines = (
                f"ssl = required\nssl_cert = <{self.certificate.cert_path}\nssl_key = <{self.certificate.key_path}\n"
            )
            listeners = f"inet_listener imap {{\n    port = 0\n  }}\n  inet_listener imaps {{\n    address = {self.host}\n    port = {self.port}\n  }}"
        else:
            ssl_lines = "ssl = no\n"
            listeners = f"inet_listener imap {{\n    address = {self.host}\n    port = {self.port}\n  }}\n  inet_listener imaps {{\n    port = 0\n  }}"
        (self.root / "passwd").write_text(
            f"{self.user}:{{PLAIN}}{self.password}:{uid}:{gid}::{self.maildir}::\n"
        )
        self.conf.write_text(
            f"""\
base_dir = {self.root}/run
state_dir = {self.root}/state
log_path = {self.root}/dovecot.log
protocols = imap
listen = {self.host}
{ssl_lines}disable_plaintext_auth = no
auth_mechanisms = plain login
default_internal_user = {internal}
default_login_user = {login}
first_valid_uid = 1
mail_location = maildir:{self.maildir}
mail_privileged_group =
passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {self.root}/passwd
}}
userdb {{
  driver = passwd-file
  args = username_format=%u {self.root}/passwd
}}
service imap-login {{
  {listeners}
}}
service submission-login {{
  inet_listener submission {{
    port = 0
  }}
}}
protocol imap {{
  imap_idle_notify_interval = 1 secs
}}
"""
        )

    def start(self, timeout: float = 15.0) -> None:
        if not self.conf.exists():
            self.write_config()
        assert DOVECOT is not None
        self.proc = subprocess.Popen(
            [DOVECOT, "-F", "-c", str(self.conf)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            start_new_session=True,  # its own process group, so stop() ends its children too
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                err = self.proc.stderr.read().decode(errors="replace") if self.proc.stderr else ""
                raise RuntimeError(f"dovecot exited: {err}\n{self.log()}")
            try:
                with self._client(timeout=2) as c:
                    c.login(self.user, self.password)
                    c.logout()
                return
            except OSError:
                time.sleep(0.1)
            except imaplib.IMAP4.error:
                time.sleep(0.1)
        raise RuntimeError(f"dovecot did not come up on {self.port}\n{self.log()}")

    def _client(self, timeout: float = 10) -> imaplib.IMAP4:
        if self.certificate is not None:
            return imaplib.IMAP4_SSL(self.host, self.port, ssl_context=self.certificate.client_context(), timeout=timeout)
        return imaplib.IMAP4(self.host, self.port, timeout=timeout)

    def stop(self) -> None:
        """Stop like `systemctl stop` does: the master and every session process it started
        (open IMAP connections drop, as in a real restart)."""
        if self.proc is None:
            return
        pgid = self.proc.pid  # start_new_session: the group id is the master's pid
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(pgid, signal.SIGTERM)
        if self.proc.stderr:
            self.proc.stderr.close()
        self.proc = None
        # the master's children exit a moment after it; wait until the port is free
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            with socket.socket() as s:
                if s.connect_ex((self.host, self.port)) != 0:
                    return
            time.sleep(0.1)

    def restart(self) -> None:
        self.stop()
        self.start()

    def log(self) -> str:
        path = self.root / "dovecot.log"
        return path.read_text(errors="replace")[-4000:] if path.exists() else ""

    # -- putting mail in the mailbox ------------------------------------------------------

    def deliver(self, raw: bytes) -> Path:
        """Drop a message straight into the maildir's new/ (as a local delivery agent would)."""
        new = self.maildir / "new"
        tmp = self.maildir / "tmp"
        for d in (new, tmp, self.maildir / "cur"):
            d.mkdir(parents=True, exist_ok=True)
            if os.geteuid() == 0:
                _, uid, gid = _mail_user()
                os.chown(d, uid, gid)
        name = f"{time.time_ns()}.{uuid.uuid4().hex}.madoguchi-test"
        tmp_path = tmp / name
        tmp_path.write_bytes(raw)
        if os.geteuid() == 0:
            _, uid, gid = _mail_user()
            os.chown(tmp_path, uid, gid)
        final = new / name
        tmp_path.rename(final)
        return final

    def append(self, raw: bytes, mailbox: str = "INBOX") -> None:
        """Put a message in the mailbox over IMAP APPEND."""
        with self._client() as c:
            c.login(self.user, self.password)
            typ, data = c.append(mailbox, None, None, raw)
            assert typ == "OK", data
            c.logout()

    def search(self, criteria: str, mailbox: str = "INBOX") -> list[bytes]:
        with self._client() as c:
            c.login(self.user, self.password)
            c.select(mailbox, readonly=True)
            typ, data = c.uid("SEARCH", criteria)
            c.logout()
        assert typ == "OK", data
        return data[0].split() if data and data[0] else []


def dovecot_available() -> bool:
    return DOVECOT is not None


def _running(tls: bool) -> Iterator[Dovecot]:
    require("dovecot", dovecot_available(), "apt-get install -y dovecot-imapd")
    # Not under pytest's 0700 tmp tree: Dovecot's unprivileged processes must reach the maildir
    root = Path(tempfile.mkdtemp(prefix="madoguchi-dovecot-"))
    root.chmod(0o755)
    server = Dovecot(root=root, tls=tls)
    server.start()
    try:
        yield server
    finally:
        server.stop()
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture(name="dovecot")
def dovecot_fixture() -> Iterator[Dovecot]:
    yield from _running(tls=False)


@pytest.fixture(name="dovecot_tls")
def dovecot_tls_fixture() -> Iterator[Dovecot]:
    yield from _running(tls=True)
