"""Logging set-up that keeps secrets and personal data out of every record."""

from __future__ import annotations

import logging
import re
import traceback
from collections.abc import Iterable

# A Telegram bot token looks like 123456789:AA...; it sits inside request URLs.
TELEGRAM_TOKEN = re.compile(r"\d{5,}:[A-Za-z0-9_-]{20,}")
REDACTED = "[redacted]"


class RedactingFilter(logging.Filter):
    """Replace known secrets and anything shaped like a bot token in the final message."""

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        super().__init__()
        self._secrets = sorted({s for s in secrets if s and len(s) >= 6}, key=len, reverse=True)

    def scrub(self, text: str) -> str:
        for secret in self._secrets:
            text = text.replace(secret, REDACTED)
        return TELEGRAM_TOKEN.sub(REDACTED, text)

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        scrubbed = self.scrub(message)
        if scrubbed != message:
            record.msg, record.args = scrubbed, None
        if record.exc_info and record.exc_info[1] is not None:
            # Exceptions raised by HTTP clients repeat the URL, token included.
            record.exc_text = self.scrub(logging.Formatter().formatException(record.exc_info))
            record.exc_info = None
        return True


class LoggerGuard:
    """A redacting filter on some libraries' loggers and all their children, while installed.

    The root handler scrubs too, but other handlers (an error tracker, pytest's) would
    otherwise get those libraries' records raw; a filter on the logger itself runs where the
    record is made, before any handler sees it.
    """

    def __init__(self, roots: Iterable[str], secrets: Iterable[str]) -> None:
        self._roots = tuple(roots)
        self._filter = RedactingFilter(secrets)
        self._guarded: list[logging.Logger] = []

    def scrub(self, text: str) -> str:
        return self._filter.scrub(text)

    def install(self) -> None:
        names = [
            name
            for name in list(logging.root.manager.loggerDict)
            if any(name == root or name.startswith(root + ".") for root in self._roots)
        ]
        for name in {*names, *self._roots}:
            logger = logging.getLogger(name)
            logger.addFilter(self._filter)
            self._guarded.append(logger)

    def remove(self) -> None:
        while self._guarded:
            self._guarded.pop().removeFilter(self._filter)


def configure_logging(level: str, secrets: Iterable[str] = ()) -> None:
    handler = logging.StreamHandler()
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    handler.addFilter(RedactingFilter(secrets))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    # httpx logs every request URL at INFO, and a Telegram URL carries the token;
    # python-telegram-bot logs whole updates and call parameters (message text) at DEBUG,
    # and the database drivers log SQL parameters, which hold what users typed.
    noisy_loggers = (
        "httpx",
        "httpcore",
        "telegram",
        "apscheduler.executors",
        "aiohttp.access",
        "aiosqlite",
        "sqlalchemy.engine",
        "asyncpg",
    )
    for noisy in noisy_loggers:
        logging.getLogger(noisy).setLevel(logging.WARNING)


def where_it_failed(exc: BaseException) -> str:
    """The exception's type and the frames it passed, without its message.

    Messages can carry data (a database error quotes its SQL parameters, that is, what a
    user typed), so only the type and the code locations are fit for the log.
    """
    frames = traceback.extract_tb(exc.__traceback__)[-6:]
    path = " <- ".join(
        f"{frame.filename.rsplit('/', 2)[-1]}:{frame.lineno} {frame.name}"
        for frame in reversed(frames)
    )
    return f"{type(exc).__name__} at {path}" if path else type(exc).__name__
