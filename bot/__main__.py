"""Command line: ``renraku run | console | migrate | line-richmenu``."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import signal
import sys
from pathlib import Path

from bot import event_loop
from bot.bootstrap import Renraku, bootstrap
from bot.channels.console import ConsoleChannel
from bot.config import ConfigError, Settings, load_settings
from bot.logs import configure_logging
from messages.catalog import DEFAULT_LOCALE
from storage.migrate import upgrade

log = logging.getLogger("renraku")


def _secrets(settings: Settings) -> list[str]:
    values = [
        settings.telegram_bot_token,
        settings.telegram_webhook_secret,
        settings.line_channel_secret,
        settings.line_channel_access_token,
    ]
    return [v.get_secret_value() for v in values if v is not None]


async def _wait_for_signal() -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError):
            loop.add_signal_handler(sig, stop.set)
    await stop.wait()


async def _console(app: Renraku) -> None:
    console = ConsoleChannel(
        app.engine.handle, banner=app.catalog.text(DEFAULT_LOCALE, "console.banner")
    )
    app.pushers["console"] = console
    if app.dispatcher is not None:
        app.services.append(app.dispatcher)
    await app.start()
    try:
        await console.run()
    finally:
        await app.stop()


async def _run(settings: Settings, *, console_only: bool) -> int:
    if console_only or not (settings.telegram_enabled or settings.line_enabled):
        app = await bootstrap(settings, with_channels=False)
        await _console(app)
        return 0
    app = await bootstrap(settings)
    try:
        await app.start()
    except Exception as exc:
        # One line, through the redacting log filter: a platform's error may echo a token.
        log.error("could not start: %s: %s", type(exc).__name__, exc)
        await app.stop()
        return 1
    log.info(
        "renraku running: telegram=%s line=%s", settings.telegram_enabled, settings.line_enabled
    )
    try:
        await _wait_for_signal()
    finally:
        await app.stop()
    return 0


async def _migrate(settings: Settings) -> int:
    await upgrade(settings.database_url)
    log.info("database schema is up to date")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="renraku", description="Renraku follow-up companion")
    sub = parser.add_subparsers(dest="command")
    sub.add_parser("run", help="run every configured channel (the console when none is)")
    sub.add_parser("console", help="chat with Renraku in this terminal")
    sub.add_parser("migrate", help="bring the database schema up to date")
    richmenu = sub.add_parser("line-richmenu", help="set up the LINE rich menu for every user")
    richmenu.add_argument("--image", type=Path, help="a 2500x843 PNG or JPEG to use instead")
    richmenu.add_argument("--write-image", type=Path, metavar="PATH", help="only draw the image")
    richmenu.add_argument("--font", type=Path, help="a font with Japanese glyphs for --write-image")
    args = parser.parse_args(argv)
    command = args.command or "run"
    try:
        settings = load_settings()
    except ConfigError as exc:
        print(f"renraku: configuration error: {exc}", file=sys.stderr)
        return 2
    console_mode = command == "console" or (
        command == "run" and not (settings.telegram_enabled or settings.line_enabled)
    )
    # The console chat owns stdout; logs go to stderr and only warnings and worse.
    configure_logging("WARNING" if console_mode else settings.log_level, _secrets(settings))
    try:
        if command == "migrate":
            return asyncio.run(_migrate(settings))
        if command == "line-richmenu":
            # Imported here: line-bot-sdk and Pillow take over a second to import, and no
            # other command needs them.
            from bot import line_admin

            if args.write_image is not None:
                return line_admin.write_image(args.write_image, args.font)
            return line_admin.install(settings, args.image)
        return event_loop.run(_run(settings, console_only=command == "console"))
    except KeyboardInterrupt:
        return 0


if __name__ == "__main__":
    sys.exit(main())
