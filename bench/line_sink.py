"""A LINE Messaging API stand-in for benchmarks, on raw asyncio sockets (cheap, so it does not
take the CPU the service needs): accepts replies, pushes, the loading animation and profile
look-ups, and remembers when each reply token arrived.

    python bench/line_sink.py --port 8123      # GET /tokens: {"tokens": {"<replyToken>": <unix time>, ...},
                                               #   "counts": {"reply": n, "push": n, ...}, "last_at": <unix time>}
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time

tokens: dict[str, float] = {}
counts = {"reply": 0, "push": 0, "loading": 0, "profile": 0}
last = {"at": 0.0}  # when the last reply or push arrived


def _answer(status: int, body: dict[str, object]) -> bytes:
    raw = json.dumps(body).encode()
    reason = {200: "OK", 202: "Accepted", 404: "Not Found"}[status]
    return (f"HTTP/1.1 {status} {reason}\r\nContent-Type: application/json\r\nContent-Length: {len(raw)}\r\n"
            f"Connection: keep-alive\r\n\r\n").encode() + raw


def _route(method: str, path: str, body: bytes) -> bytes:
    if path.startswith("/v2/bot/message/reply"):
        counts["reply"] += 1
        last["at"] = time.time()
        token = json.loads(body).get("replyToken")
        if token:
            tokens.setdefault(token, time.time())
        return _answer(200, {"sentMessages": [{"id": "1", "quoteToken": "q"}]})
    if path.startswith("/v2/bot/message/push"):
        counts["push"] += 1
        last["at"] = time.time()
        return _answer(200, {"sentMessages": [{"id": "1", "quoteToken": "q"}]})
    if path.endswith("/loading/start"):
        counts["loading"] += 1
        return _answer(202, {})
    if path.startswith("/v2/bot/profile/"):
        counts["profile"] += 1
        return _answer(200, {"userId": path.rsplit("/", 1)[-1], "displayName": "x", "language": "ja"})
    if method == "GET" and path == "/tokens":
        return _answer(200, {"tokens": tokens, "counts": counts, "last_at": last["at"]})
    if method == "POST" and path == "/reset":
        tokens.clear()
        return _answer(200, {})
    return _answer(404, {})


async def _serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while True:
            head = await reader.readuntil(b"\r\n\r\n")
            lines = head.decode("latin-1").split("\r\n")
            method, path, _ = lines[0].split(" ", 2)
            length = 0
            for line in lines[1:]:
                if line[:15].lower() == "content-length:":
                    length = int(line[15:])
            body = await reader.readexactly(length) if length else b""
            writer.write(_route(method, path, body))
    except (asyncio.IncompleteReadError, ConnectionError):
        pass
    finally:
        writer.close()


async def main(port: int) -> None:
    server = await asyncio.start_server(_serve, "127.0.0.1", port)
    async with server:
        await server.serve_forever()


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    asyncio.run(main(parser.parse_args().port))
