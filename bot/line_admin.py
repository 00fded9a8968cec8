"""One-off set-up of the LINE account: ``renraku line-richmenu``.

The menu's labels are the catalog's ``[menu]`` words in Japanese; tapping a tile sends that
word as the user's message, and the engine already understands it as the command.
"""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path

import aiohttp
from linebot.v3.messaging.exceptions import ApiException

from bot.channels.line import data_api_base
from bot.channels.line_richmenu import (
    MenuTile,
    install_rich_menu,
    menu_image,
    render_image,
    rich_menu_request,
)
from bot.config import Settings
from messages.catalog import DEFAULT_LOCALE, Catalog, load_catalog

MENU_KEYS = ("new", "list", "settings", "help")
CHAT_BAR_KEY = "menu.chat_bar"


def menu_tiles(catalog: Catalog) -> list[MenuTile]:
    labels = [catalog.text(DEFAULT_LOCALE, f"menu.{key}") for key in MENU_KEYS]
    return [MenuTile(label=label, text=label) for label in labels]


def chat_bar_text(catalog: Catalog) -> str:
    return catalog.text(DEFAULT_LOCALE, CHAT_BAR_KEY)


def write_image(path: Path, font: Path | None) -> int:
    """Draw the menu image to ``path`` (how ``bot/assets/richmenu.png`` is made)."""
    labels = [tile.label for tile in menu_tiles(load_catalog())]
    path.write_bytes(render_image(labels, font) if font is not None else menu_image(labels))
    print(f"wrote {path}")
    return 0


def install(settings: Settings, image: Path | None) -> int:
    """Create the rich menu on the account and make it every user's default."""
    if settings.line_channel_access_token is None:
        print("renraku: LINE_CHANNEL_ACCESS_TOKEN is not set", file=sys.stderr)
        return 2
    catalog = load_catalog()
    tiles = menu_tiles(catalog)
    png = image.read_bytes() if image is not None else menu_image([t.label for t in tiles])
    try:
        menu_id = asyncio.run(
            install_rich_menu(
                api_base_url=settings.line_api_base_url,
                data_api_base_url=data_api_base(settings.line_api_base_url),
                access_token=settings.line_channel_access_token.get_secret_value(),
                request=rich_menu_request(tiles, chat_bar_text(catalog)),
                image=png,
            )
        )
    except ApiException as exc:
        print(f"renraku: LINE refused the rich menu: {exc.status} {_reason(exc)}", file=sys.stderr)
        return 1
    except (aiohttp.ClientError, TimeoutError) as exc:
        print(f"renraku: could not reach the LINE API: {type(exc).__name__}", file=sys.stderr)
        return 1
    print(f"rich menu {menu_id} is now the default for every user")
    return 0


def _reason(exc: ApiException) -> str:
    """LINE's own one-line explanation from the error body, if there is one."""
    try:
        body = json.loads(exc.body or "{}")
    except ValueError:
        return ""
    return str(body.get("message", "")) if isinstance(body, dict) else ""
