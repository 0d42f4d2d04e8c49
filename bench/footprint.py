"""Cold start and idle memory of one `madoguchi serve` process (embedded SQLite, a fresh data
directory, no translation models installed), median of `--rounds` starts; then restarts on a
data directory already migrated.

    PYTHONPATH=$PWD python3 bench/footprint.py [--rounds 3]

Prints the seconds from exec to the first healthy /healthz, the idle resident set size (VmRSS)
two seconds later, and whether the channel SDKs were imported (LINE unconfigured here too).
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def one_start(extra_env: dict[str, str], data_dir: str | None = None, secret: str | None = None) -> tuple[float, float]:
    port = free_port()
    env = {**os.environ, "PYTHONPATH": str(ROOT), "MADOGUCHI_DATA_DIR": data_dir or tempfile.mkdtemp(prefix="madoguchi-fp-"),
           "MADOGUCHI_SECRET_KEY": secret or secrets.token_urlsafe(32), "MADOGUCHI_LOG_LEVEL": "WARNING", **extra_env}
    started = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-m", "madoguchi", "serve", "--port", str(port)], cwd=ROOT, env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        while True:
            if proc.poll() is not None:
                raise SystemExit(f"serve exited with {proc.returncode}")
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=1) as r:
                    if json.loads(r.read()).get("status") == "ok":
                        break
            except OSError:
                time.sleep(0.02)
        healthy = time.perf_counter() - started
        time.sleep(2.0)
        return healthy, rss_mb(proc.pid)
    finally:
        proc.terminate()
        proc.wait(timeout=15)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    print(f"cold start and idle RSS, {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f}")
    for label, env in (("translation off", {"MADOGUCHI_TRANSLATION_ENABLED": "false"}),
                       ("default settings (no models installed)", {})):
        runs = [one_start(env) for _ in range(args.rounds)]
        print(f"{label:<40} healthy after {statistics.median(r[0] for r in runs):5.2f} s (median of {args.rounds}), "
              f"idle RSS {statistics.median(r[1] for r in runs):6.1f} MB")
    # A restart (what an update or a reboot does): the data directory is migrated already.
    data, secret = tempfile.mkdtemp(prefix="madoguchi-fp-"), secrets.token_urlsafe(32)
    one_start({}, data, secret)
    runs = [one_start({}, data, secret) for _ in range(args.rounds)]
    print(f"{'restart, data directory already migrated':<40} healthy after "
          f"{statistics.median(r[0] for r in runs):5.2f} s (median of {args.rounds}), "
          f"idle RSS {statistics.median(r[1] for r in runs):6.1f} MB")


if __name__ == "__main__":
    main()
