"""No network at translation time: translation and detection run in a child process whose
sockets refuse to connect or resolve, and which records every network attempt (the patched
functions, plus an audit hook for anything reaching the C socket layer another way). Both must work and nothing may have tried the network."""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

from tests.requirements import require

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = ROOT / "tests" / "fixtures" / "argos"
MICRO = [FIXTURES / "ja_en-micro.argosmodel", FIXTURES / "en_ja-micro.argosmodel"]

CHILD = textwrap.dedent(
    """
    import json, socket, sys

    attempts = []

    def audit(event, args):
        if event in ("socket.connect", "socket.getaddrinfo", "socket.gethostbyname",
                     "urllib.Request", "http.client.connect"):
            attempts.append(event)

    sys.addaudithook(audit)

    def refusing(name):
        def refuse(*args, **kwargs):
            attempts.append(name)
            raise OSError("network disabled for this process")
        return refuse

    for name in ("connect", "connect_ex"):
        setattr(socket.socket, name, refusing(name))
    for name in ("getaddrinfo", "gethostbyname", "create_connection"):
        setattr(socket, name, refusing(name))

    import asyncio
    from pathlib import Path

    from i18n.detect import detect
    from i18n.translation import build_translator, install_package

    models = Path(sys.argv[1])
    for pkg in sys.argv[2:]:
        install_package(Path(pkg), models)

    async def main():
        t = build_translator(models, timeout=30)
        await t.warm()
        ja_en = await t.translate("ご相談ありがとうございます。明日お電話します。", "ja", "en")
        en_ja = await t.translate("I would like to apply for public assistance.", "en", "ja")
        await t.aclose()
        return ja_en, en_ja

    ja_en, en_ja = asyncio.run(main())
    detections = {text: detect(text).language for text in [
        "Tôi bị mất việc và không trả được tiền nhà tháng này.",
        "Perdi meu emprego e não consigo pagar o aluguel este mês.",
        "家賃が払えなくて困っています。",
        "ကျွန်တော် အလုပ်ပြုတ်သွားပြီး ဒီလ အိမ်ငှားခ မပေးနိုင်ပါ။",
    ]}
    try:
        socket.create_connection(("pypi.org", 443), timeout=1)
        blocked = False
    except OSError:
        blocked = True
    print(json.dumps({
        "ja_en": [ja_en.status, ja_en.text],
        "en_ja": [en_ja.status, en_ja.text],
        "detections": list(detections.values()),
        "attempts": attempts,
        "blocked": blocked,
    }, ensure_ascii=False))
    """
)


def test_translation_and_detection_work_with_networking_disabled(tmp_path: Path) -> None:
    have = all(importlib.util.find_spec(m) for m in ("ctranslate2", "sentencepiece", "lingua"))
    require("ctranslate2 + sentencepiece + lingua", have)
    require("micro models", all(p.is_file() for p in MICRO), "run make_micro_models.py")
    env = {
        **os.environ,
        "HOME": str(tmp_path / "home"),  # nothing may lean on a cache in the real home
        "PYTHONPATH": str(ROOT),
        "HF_HUB_OFFLINE": "1",
    }
    proc = subprocess.run(
        [sys.executable, "-c", CHILD, str(tmp_path / "argos"), *map(str, MICRO)],
        capture_output=True,
        text=True,
        timeout=240,
        env=env,
        cwd=tmp_path,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    assert out["blocked"] is True  # the guard itself works
    assert out["attempts"] == ["create_connection"]  # only the guard's own probe above
    assert out["ja_en"] == ["translated", "Thank you for contacting us. I will call you tomorrow."]
    assert out["en_ja"] == ["translated", "生活保護の申請をしたいです。"]
    assert out["detections"] == ["vi", "pt-BR", "ja", "my"]
