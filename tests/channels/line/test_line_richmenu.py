"""`renraku line-richmenu` against the fake API, and the menu image it uploads."""

from __future__ import annotations

import asyncio
import io
import os
import sys
from pathlib import Path

import pytest
from PIL import Image

from bot import line_admin
from bot.channels import line_richmenu
from bot.channels.line import data_api_base
from bot.channels.line_richmenu import HEIGHT, WIDTH, labels_of, menu_image, shipped_image
from messages.catalog import load_catalog
from tests.fakes.line_api import DEFAULT_SECRET, DEFAULT_TOKEN, FakeLineApi, png_size
from tests.support import sqlite_settings

RENRAKU = str(Path(sys.executable).with_name("renraku"))
MENU_LABELS = tuple(
    load_catalog().text("ja", f"menu.{k}") for k in ("new", "list", "settings", "help")
)


async def _renraku(tmp_path: Path, *args: str, **env: str) -> tuple[int, str, str]:
    environ = {k: v for k, v in os.environ.items() if not k.startswith(("TELEGRAM_", "LINE_"))}
    environ.update(DATABASE_URL=f"sqlite+aiosqlite:///{tmp_path / 'menu.db'}", **env)
    process = await asyncio.create_subprocess_exec(
        RENRAKU,
        *args,
        env=environ,
        cwd=tmp_path,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(process.communicate(), 60)
    assert process.returncode is not None
    return process.returncode, out.decode(), err.decode()


def _line_env(fake: FakeLineApi, token: str = DEFAULT_TOKEN) -> dict[str, str]:
    return {
        "LINE_CHANNEL_SECRET": DEFAULT_SECRET,
        "LINE_CHANNEL_ACCESS_TOKEN": token,
        "LINE_API_BASE_URL": fake.base_url,
    }


async def test_line_richmenu_creates_uploads_and_sets_the_default(
    tmp_path: Path, line_api: FakeLineApi
) -> None:
    code, out, err = await _renraku(tmp_path, "line-richmenu", **_line_env(line_api))
    assert code == 0, err
    (menu,) = line_api.rich_menus.values()
    assert line_api.default_rich_menu == menu.menu_id and menu.menu_id in out
    assert line_api.rejections == []
    areas = menu.body["areas"]
    assert [a["action"] for a in areas] == [
        {"type": "message", "label": label, "text": label} for label in MENU_LABELS
    ]
    assert sum(a["bounds"]["width"] for a in areas) == WIDTH
    assert menu.image is not None and png_size(menu.image) == (WIDTH, HEIGHT)
    assert len(menu.image) < 1024 * 1024
    assert DEFAULT_TOKEN not in out + err

    # Run again: the new menu replaces ours instead of piling up.
    code, _, err = await _renraku(tmp_path, "line-richmenu", **_line_env(line_api))
    assert code == 0, err
    (again,) = line_api.rich_menus.values()
    assert again.menu_id != menu.menu_id and line_api.default_rich_menu == again.menu_id


async def test_line_richmenu_reports_a_refusal(tmp_path: Path, line_api: FakeLineApi) -> None:
    code, _, err = await _renraku(tmp_path, "line-richmenu", **_line_env(line_api, "wrong-token"))
    assert code == 1 and "401" in err
    assert "wrong-token" not in err
    assert line_api.rich_menus == {}


def test_line_richmenu_needs_a_token(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert line_admin.install(sqlite_settings(tmp_path), None) == 2
    assert "LINE_CHANNEL_ACCESS_TOKEN" in capsys.readouterr().err


def test_write_image_draws_the_menu(tmp_path: Path) -> None:
    target = tmp_path / "menu.png"
    assert line_admin.write_image(target, None) == 0
    assert png_size(target.read_bytes()) == (WIDTH, HEIGHT)


def test_the_shipped_image_matches_the_catalog_labels() -> None:
    shipped = shipped_image()
    assert shipped is not None and len(shipped) < 1024 * 1024
    assert labels_of(shipped) == MENU_LABELS
    assert menu_image(MENU_LABELS) == shipped


def test_without_a_font_new_labels_get_plain_tiles(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(line_richmenu, "find_cjk_font", lambda: None)
    png = menu_image(("A", "B", "C", "D"))
    assert labels_of(png) is None
    with Image.open(io.BytesIO(png)) as image:
        assert image.size == (WIDTH, HEIGHT)


def test_image_uploads_go_to_the_data_host_in_production_only() -> None:
    assert data_api_base("https://api.line.me") == "https://api-data.line.me"
    assert data_api_base("https://api.line.me/") == "https://api-data.line.me"
    assert data_api_base("http://127.0.0.1:8090") == "http://127.0.0.1:8090"
