"""The LINE rich menu: 相談する / 言語 / 緊急連絡先 / 同意の取り消し, one per channel.

Labels and the words a tap sends come from the `channel` catalog (rich_menu.*), in the
profile's language: 相談する asks for a counsellor and 言語 changes the language (postbacks
the dialog reads as its commands), 緊急連絡先 dials the profile's first emergency line, and
同意の取り消し sends the catalog's consent-withdrawal words as a message, which the dialog's
withdrawal command recognises. The image is drawn here (2500×843, four cells, the labels in
Noto Sans CJK) unless the operator supplies a designed one.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bots.common.text import postback_data
from i18n.catalog import catalog

WIDTH, HEIGHT = 2500, 843
ITEMS = ("consult", "language", "emergency", "withdraw")
_COLOURS = ("#2f6f4f", "#3b5b8c", "#b03a2e", "#6b5b4b")
_FONTS = (
    "/usr/share/fonts/opentype/noto/NotoSansCJK-Bold.ttc",
    "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/truetype/noto/NotoSansCJK-Bold.ttc",
)
# scripts Noto Sans CJK does not cover (the Dockerfile's fonts-noto packages hold them)
_SCRIPT_FONTS = {
    "th": "/usr/share/fonts/truetype/noto/NotoSansThai-Bold.ttf",
    "ne": "/usr/share/fonts/truetype/noto/NotoSansDevanagari-Bold.ttf",
    "my": "/usr/share/fonts/truetype/noto/NotoSansMyanmar-Bold.ttf",
}


@dataclass(frozen=True)
class MenuItem:
    key: str
    label: str
    action: dict[str, Any]


def items(language: str, emergency_tel: str | None) -> list[MenuItem]:
    cat = catalog(language, "channel")
    out = []
    for key in ITEMS:
        label = cat.text(f"rich_menu.{key}")
        if key == "consult":
            action = {"type": "postback", "label": label[:20], "data": postback_data("human"), "displayText": label}
        elif key == "language":
            action = {"type": "postback", "label": label[:20], "data": postback_data("lang"), "displayText": label}
        elif key == "emergency" and emergency_tel:
            action = {"type": "uri", "label": label[:20], "uri": emergency_tel}
        elif key == "emergency":
            continue  # no emergency line in the profile: no cell that dials nothing
        else:
            action = {"type": "message", "label": label[:20], "text": cat.text("rich_menu.withdraw_text")}
        out.append(MenuItem(key, label, action))
    return out


def menu(language: str, emergency_tel: str | None) -> dict[str, Any]:
    """The createRichMenu body: equal cells across the full width."""
    cells = items(language, emergency_tel)
    width = WIDTH // len(cells)
    areas = [
        {"bounds": {"x": i * width, "y": 0, "width": width if i < len(cells) - 1 else WIDTH - i * width,
                    "height": HEIGHT}, "action": item.action}
        for i, item in enumerate(cells)
    ]
    bar = catalog(language, "channel").text("rich_menu.bar")
    return {"size": {"width": WIDTH, "height": HEIGHT}, "selected": True, "name": f"madoguchi {language}"[:300],
            "chatBarText": bar[:14], "areas": areas}


def image(language: str, emergency_tel: str | None) -> bytes:
    """A PNG: one coloured cell per item with its label (under LINE's 1 MB limit)."""
    from PIL import Image, ImageDraw

    cells = items(language, emergency_tel)
    width = WIDTH // len(cells)
    candidates = (_SCRIPT_FONTS.get(language, ""), *_FONTS)
    font_path = next((p for p in candidates if p and Path(p).is_file()), None)
    img = Image.new("RGB", (WIDTH, HEIGHT), "white")
    draw = ImageDraw.Draw(img)
    for i, item in enumerate(cells):
        x0 = i * width
        draw.rectangle((x0 + 8, 8, x0 + width - 8, HEIGHT - 8), fill=_COLOURS[ITEMS.index(item.key)])
        text, font = _fit(draw, item.label, font_path, width - 90)
        draw.multiline_text((x0 + width / 2, HEIGHT / 2), text, font=font, fill="white", anchor="mm",
                            align="center", spacing=24)
    out = io.BytesIO()
    img.save(out, format="PNG", optimize=True)
    return out.getvalue()


def _fit(draw: Any, label: str, font_path: str | None, room: int) -> tuple[str, Any]:
    """The label on one line, or on two split at a space, in the largest size that fits."""
    from PIL import ImageFont

    lines = [label]
    if " " in label:
        words = label.split()
        cut = min(range(1, len(words)), key=lambda n: abs(len(" ".join(words[:n])) - len(" ".join(words[n:]))))
        lines.append(" ".join(words[:cut]) + "\n" + " ".join(words[cut:]))
    for size in range(110, 36, -6):
        font = ImageFont.truetype(font_path, size) if font_path else ImageFont.load_default(size)
        for text in lines:
            left, _, right, _ = draw.multiline_textbbox((0, 0), text, font=font)
            if right - left <= room:
                return text, font
    return lines[-1], font


async def upload_image(data_base_url: str, access_token: str, menu_id: str, data: bytes, content_type: str) -> None:
    """POST the image to the data API. (The SDK's blob client always calls api-data.line.me
    whatever its configured host, so it could not be pointed at a proxy or a stand-in.)"""
    import httpx

    url = f"{data_base_url.rstrip('/')}/v2/bot/richmenu/{menu_id}/content"
    async with httpx.AsyncClient(timeout=30, trust_env=False) as client:
        r = await client.post(url, content=data, headers={
            "Authorization": f"Bearer {access_token}", "Content-Type": content_type})
    r.raise_for_status()


async def install(api: Any, upload: Any, language: str, emergency_tel: str | None,
                  image_bytes: bytes | None = None, content_type: str = "image/png") -> str:
    """Create the menu, upload its image, make it every user's default; remove the menus this
    command made before (by name), so running it again replaces rather than piles up.
    `upload(menu_id, bytes, content_type)` sends the image (see upload_image)."""
    from linebot.v3.messaging import RichMenuRequest

    body = menu(language, emergency_tel)
    old = [m.rich_menu_id for m in (await api.get_rich_menu_list()).richmenus if m.name.startswith("madoguchi ")]
    created = await api.create_rich_menu(RichMenuRequest.from_dict(body))
    menu_id = created.rich_menu_id
    await upload(menu_id, image_bytes or image(language, emergency_tel), content_type)
    await api.set_default_rich_menu(menu_id)
    for stale in old:
        await api.delete_rich_menu(stale)
    return str(menu_id)
