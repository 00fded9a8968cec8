"""The LINE rich menu: four tiles that send the menu words, its image, and installing it.

The labels come from the caller (the catalog); nothing here is a user-facing text.
"""

from __future__ import annotations

import io
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from linebot.v3.messaging import (
    AsyncApiClient,
    AsyncMessagingApi,
    AsyncMessagingApiBlob,
    Configuration,
    MessageAction,
    RichMenuArea,
    RichMenuBounds,
    RichMenuRequest,
    RichMenuSize,
)
from PIL import Image, ImageDraw, ImageFont, PngImagePlugin

from bot.channels.line_messages import shorten

log = logging.getLogger(__name__)

WIDTH, HEIGHT = 2500, 843
MENU_NAME = "renraku-main"
MAX_CHAT_BAR_TEXT = 14
MAX_AREA_LABEL = 20
# Written into the PNG so a shipped image is only reused while the labels still match.
LABELS_KEY = "renraku-labels"
SHIPPED_IMAGE = "richmenu.png"
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
TILE_COLOURS = ("#2F6F62", "#3D7F9E", "#7A6A9E", "#B0724A")
TEXT_COLOUR = "#FFFFFF"
BACKGROUND = "#F4F1EA"
GAP, RADIUS = 12, 48
LABEL_SIZE, MIN_LABEL_SIZE = 112, 40
# Fonts with Japanese glyphs on common systems, best first.
CJK_FONTS = (
    "/usr/share/fonts/opentype/noto/NotoSansCJK-Bold.ttc",
    "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/noto-cjk/NotoSansCJK-Bold.ttc",
    "/usr/share/fonts/truetype/fonts-japanese-gothic.ttf",
    "/System/Library/Fonts/Hiragino Sans GB.ttc",
    "C:/Windows/Fonts/meiryob.ttc",
    "C:/Windows/Fonts/meiryo.ttc",
)


@dataclass(frozen=True, slots=True)
class MenuTile:
    """One tappable tile: what it shows and the words it sends as the user's message."""

    label: str
    text: str


def rich_menu_request(tiles: Sequence[MenuTile], chat_bar_text: str) -> RichMenuRequest:
    """Tiles side by side across the compact 2500×843 menu."""
    width = WIDTH // len(tiles)
    areas = [
        RichMenuArea(
            bounds=RichMenuBounds(
                x=index * width,
                y=0,
                width=width if index < len(tiles) - 1 else WIDTH - index * width,
                height=HEIGHT,
            ),
            action=MessageAction(label=shorten(tile.label, MAX_AREA_LABEL), text=tile.text),
        )
        for index, tile in enumerate(tiles)
    ]
    return RichMenuRequest(
        size=RichMenuSize(width=WIDTH, height=HEIGHT),
        selected=True,
        name=MENU_NAME,
        chatBarText=shorten(chat_bar_text, MAX_CHAT_BAR_TEXT),
        areas=areas,
    )


# --- the image ------------------------------------------------------------------------------


def find_cjk_font() -> Path | None:
    for candidate in CJK_FONTS:
        path = Path(candidate)
        if path.is_file():
            return path
    return None


def _fitting_font(
    draw: ImageDraw.ImageDraw, label: str, font_path: Path, room: float
) -> ImageFont.FreeTypeFont:
    size = LABEL_SIZE
    while True:
        font = ImageFont.truetype(str(font_path), size)
        if size <= MIN_LABEL_SIZE or draw.textlength(label, font=font) <= room:
            return font
        size -= 8


def render_image(labels: Sequence[str], font_path: Path | None) -> bytes:
    """A PNG of coloured tiles; labels are drawn only when a font with their glyphs is given."""
    image = Image.new("RGB", (WIDTH, HEIGHT), BACKGROUND)
    draw = ImageDraw.Draw(image)
    width = WIDTH // len(labels)
    for index, label in enumerate(labels):
        left = index * width + GAP
        right = (index + 1) * width - GAP if index < len(labels) - 1 else WIDTH - GAP
        colour = TILE_COLOURS[index % len(TILE_COLOURS)]
        draw.rounded_rectangle((left, GAP, right, HEIGHT - GAP), radius=RADIUS, fill=colour)
        if font_path is not None:
            font = _fitting_font(draw, label, font_path, right - left - 2 * RADIUS)
            centre = ((left + right) / 2, HEIGHT / 2)
            draw.text(centre, label, font=font, fill=TEXT_COLOUR, anchor="mm")
    info = PngImagePlugin.PngInfo()
    if font_path is not None:
        info.add_text(LABELS_KEY, "\t".join(labels))
    out = io.BytesIO()
    image.save(out, format="PNG", optimize=True, pnginfo=info)
    return out.getvalue()


def labels_of(png: bytes) -> tuple[str, ...] | None:
    """The labels a PNG made by ``render_image`` was drawn with."""
    with Image.open(io.BytesIO(png)) as image:
        text = getattr(image, "text", {}).get(LABELS_KEY)
    return tuple(text.split("\t")) if isinstance(text, str) else None


def shipped_image() -> bytes | None:
    resource = resources.files("bot") / "assets" / SHIPPED_IMAGE
    return resource.read_bytes() if resource.is_file() else None


def menu_image(labels: Sequence[str]) -> bytes:
    """The shipped image while its labels match, else one drawn now (plain tiles if no font)."""
    shipped = shipped_image()
    if shipped is not None and labels_of(shipped) == tuple(labels):
        return shipped
    font = find_cjk_font()
    if font is None:
        log.warning("no font with Japanese glyphs found: the rich menu tiles will have no labels")
    return render_image(labels, font)


# --- installing -----------------------------------------------------------------------------


async def install_rich_menu(
    *,
    api_base_url: str,
    data_api_base_url: str,
    access_token: str,
    request: RichMenuRequest,
    image: bytes,
) -> str:
    """Create the menu, upload its image, make it every user's default, drop our older ones."""
    api_config = Configuration(host=api_base_url.rstrip("/"), access_token=access_token)
    data_config = Configuration(host=data_api_base_url.rstrip("/"), access_token=access_token)
    async with AsyncApiClient(api_config) as client, AsyncApiClient(data_config) as data_client:
        api = AsyncMessagingApi(client)
        blob = AsyncMessagingApiBlob(data_client)
        previous = await api.get_rich_menu_list()
        created = await api.create_rich_menu(request)
        menu_id: str = created.rich_menu_id
        content_type = "image/png" if image.startswith(PNG_MAGIC) else "image/jpeg"
        await blob.set_rich_menu_image(menu_id, body=image, _headers={"Content-Type": content_type})
        await api.set_default_rich_menu(menu_id)
        for old in previous.richmenus or []:
            if old.name == request.name and old.rich_menu_id != menu_id:
                await api.delete_rich_menu(old.rich_menu_id)
    log.info("line rich menu installed and set as default")
    return menu_id
