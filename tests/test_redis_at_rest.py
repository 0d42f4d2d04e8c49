"""Issue 17: nothing readable in Redis. A real redis-server started by the test with its
append-only file on (as docker-compose runs it); after a LINE intake with a distinctive text
and user id, neither appears in the AOF files nor in any key or value."""

from __future__ import annotations

import contextlib
import shutil
import socket
import subprocess
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
import redis as redis_sync

from bots.line import line_router
from casecore.db import transaction
from casecore.models import Message
from tests.conftest import make_settings
from tests.requirements import require
from tests.standins import line_webhook as wh
from tests.standins.line_fixtures import ACCESS_TOKEN, CHANNEL_SECRET, line_api, line_server  # noqa: F401
from tests.standins.stack import running_channels, settle, with_channels

MARK = f"ZEBRA{uuid.uuid4().hex[:8]}"
TEXT = f"家賃が払えません {MARK} 港区の住まいを失いそうです"
USER = "U" + uuid.uuid4().hex


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def aof_redis(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    binary = shutil.which("redis-server")
    require("redis-server", binary is not None, "apt-get install -y redis-server")
    port, data = _free_port(), tmp_path / "redis"
    data.mkdir()
    proc = subprocess.Popen(
        [binary, "--port", str(port), "--bind", "127.0.0.1", "--appendonly", "yes", "--appendfsync", "always",
         "--dir", str(data), "--save", "", "--protected-mode", "yes"],
        stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT,
    )
    url = f"redis://127.0.0.1:{port}/0"
    client = redis_sync.Redis.from_url(url)
    try:
        deadline = time.monotonic() + 10
        while True:
            with contextlib.suppress(redis_sync.ConnectionError):
                if client.ping():
                    break
            assert time.monotonic() < deadline, "redis-server did not start"
            time.sleep(0.05)
        yield url, data
    finally:
        client.close()
        proc.terminate()
        proc.wait(10)


@pytest.fixture
async def line_on_aof(aof_redis, line_api, tmp_path: Path) -> AsyncIterator[tuple[object, object, Path, str]]:  # noqa: F811
    url, data = aof_redis
    settings = with_channels(make_settings(tmp_path, redis_url=url), line_channel_secret=CHANNEL_SECRET,
                             line_channel_access_token=ACCESS_TOKEN, line_api_base_url=line_api.base_url)
    async with running_channels(settings, "/webhooks/line", line_router) as running:
        yield running, line_api, data, url


def _everything_in(url: str) -> bytes:
    """Every key and every value of every type, as bytes."""
    r = redis_sync.Redis.from_url(url)
    out: list[bytes] = []
    try:
        for key in r.scan_iter(count=1000):
            out.append(key)
            kind = r.type(key).decode()
            if kind == "string":
                out.append(r.get(key) or b"")
            elif kind == "stream":
                out.extend(repr(e).encode() for e in r.xrange(key))
            elif kind == "hash":
                out.extend(repr(r.hgetall(key)).encode() for _ in [0])
            elif kind == "list":
                out.extend(r.lrange(key, 0, -1))
            elif kind == "set":
                out.extend(r.smembers(key))
            elif kind == "zset":
                out.extend(m for m, _ in r.zrange(key, 0, -1, withscores=True))
    finally:
        r.close()
    return b"\n".join(out)


async def test_a_line_intake_leaves_no_text_or_user_id_in_redis_or_its_aof(line_on_aof) -> None:
    running, api, data, url = line_on_aof
    adapter = running.ctx.extras["line"]

    async def post(event: dict) -> None:
        raw = wh.body(event)
        r = await running.client.post("/webhooks/line", content=raw,
                                      headers={"Content-Type": "application/json", "X-Line-Signature": wh.sign(CHANNEL_SECRET, raw)})
        assert r.status_code == 200, r.text
        await settle(running.ctx, adapter)

    await post(wh.follow_event(USER, api.issue_reply_token(USER, access_token=ACCESS_TOKEN)))
    await post(wh.postback_event(USER, "c:agree", api.issue_reply_token(USER, access_token=ACCESS_TOKEN)))
    await post(wh.text_event(USER, TEXT, api.issue_reply_token(USER, access_token=ACCESS_TOKEN)))
    # the intake really went through the Redis queue and reached the database
    async with transaction(running.ctx.sessions) as s:
        from sqlalchemy import select

        texts = (await s.scalars(select(Message.text).where(Message.direction == "in"))).all()
    assert TEXT in texts
    assert api.messages_to(USER), "the bot answered"

    def aof_bytes() -> tuple[bytes, list[Path]]:
        files = [p for p in data.rglob("*") if p.is_file()]
        return b"".join(p.read_bytes() for p in files), files

    aof, files = aof_bytes()  # the incremental AOF: every command as written (appendfsync always)
    assert b"XADD" in aof.upper(), "the queue did not go through Redis"
    assert b"madoguchi:inbox" in aof
    keys_and_values = _everything_in(url)
    for needle in (MARK, USER, USER[1:], TEXT):
        encoded = needle.encode()
        assert encoded not in aof, f"{needle!r} is readable in the AOF"
        assert encoded not in keys_and_values, f"{needle!r} is readable in a Redis key or value"
        for p in files:
            assert encoded not in p.read_bytes(), f"{needle!r} in {p.name}"
