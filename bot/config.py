"""Typed settings read from the environment and an optional ``.env``; built once, at start."""

from __future__ import annotations

from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, SecretStr, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    """Everything Renraku can be told from outside. The names are a public contract."""

    model_config = SettingsConfigDict(
        env_file=".env", env_file_encoding="utf-8", extra="ignore", case_sensitive=False
    )

    database_url: str = "sqlite+aiosqlite:///data/renraku.db"
    telegram_bot_token: SecretStr | None = None
    telegram_base_url: str = "https://api.telegram.org/bot"
    telegram_webhook_url: str | None = None
    telegram_webhook_secret: SecretStr | None = None
    # Pushes (reminders) per second, per replica; replies are never paced. Telegram allows a
    # bot about 30 messages a second in bulk.
    telegram_push_rate: float = Field(default=25.0, gt=0)
    line_channel_secret: SecretStr | None = None
    line_channel_access_token: SecretStr | None = None
    line_api_base_url: str = "https://api.line.me"
    # Push requests per second, per replica; LINE allows a channel 2,000 a second.
    line_push_rate: float = Field(default=100.0, gt=0)
    # LINE's monthly push quota runs low below 10 % left or fewer than this many pushes;
    # then only follow-ups go out (halfway nudges and other optional kinds are held).
    line_quota_reserve: int = Field(default=50, ge=0)
    public_base_url: str | None = None
    host: str = "127.0.0.1"
    port: int = Field(default=8080, ge=0, le=65535)
    default_timezone: str = "Asia/Tokyo"
    log_level: str = "INFO"

    @field_validator(
        "telegram_bot_token",
        "telegram_webhook_url",
        "telegram_webhook_secret",
        "line_channel_secret",
        "line_channel_access_token",
        "public_base_url",
        mode="before",
    )
    @classmethod
    def _blank_is_unset(cls, value: object) -> object:
        return None if isinstance(value, str) and not value.strip() else value

    @field_validator("database_url")
    @classmethod
    def _known_driver(cls, value: str) -> str:
        if not value.startswith(("sqlite+aiosqlite://", "postgresql+asyncpg://")):
            raise ValueError("must start with sqlite+aiosqlite:// or postgresql+asyncpg://")
        return value

    @field_validator("default_timezone")
    @classmethod
    def _real_timezone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError("is not an IANA time zone such as Asia/Tokyo") from exc
        return value

    @field_validator("log_level")
    @classmethod
    def _known_level(cls, value: str) -> str:
        level = value.upper()
        if level not in {"DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"}:
            raise ValueError("must be DEBUG, INFO, WARNING, ERROR or CRITICAL")
        return level

    @field_validator("telegram_webhook_secret")
    @classmethod
    def _telegram_secret_charset(cls, value: SecretStr | None) -> SecretStr | None:
        # Telegram accepts 1-256 characters of A-Z, a-z, 0-9, _ and - for secret_token.
        if value is None:
            return value
        raw = value.get_secret_value()
        if not (1 <= len(raw) <= 256) or not all(
            c.isascii() and (c.isalnum() or c in "_-") for c in raw
        ):
            raise ValueError("must be 1-256 characters of A-Z, a-z, 0-9, _ or -")
        return value

    @model_validator(mode="after")
    def _telegram_webhook_has_secret(self) -> Settings:
        # Without the secret anyone who guesses the URL could post updates as any user.
        if self.telegram_webhook_url is not None and self.telegram_webhook_secret is None:
            raise ValueError("TELEGRAM_WEBHOOK_SECRET must be set when TELEGRAM_WEBHOOK_URL is")
        return self

    @property
    def telegram_enabled(self) -> bool:
        return self.telegram_bot_token is not None

    @property
    def line_enabled(self) -> bool:
        return self.line_channel_secret is not None and self.line_channel_access_token is not None

    def sqlite_path(self) -> Path | None:
        """The SQLite file this URL points at, or None for PostgreSQL and in-memory SQLite."""
        prefix = "sqlite+aiosqlite:///"
        if not self.database_url.startswith(prefix):
            return None
        rest = self.database_url[len(prefix) :].split("?", 1)[0]
        return None if rest in ("", ":memory:") else Path(rest)


class ConfigError(Exception):
    """A setting has a bad value; the message is one line a person can act on."""


def load_settings(**overrides: object) -> Settings:
    """Read and check the settings, turning pydantic's report into one clear line."""
    try:
        return Settings(**overrides)  # type: ignore[arg-type]
    except ValidationError as exc:
        first = exc.errors()[0]
        name = str(first["loc"][0]).upper() if first["loc"] else "settings"
        message = str(first["msg"]).removeprefix("Value error, ")
        raise ConfigError(f"{name}: {message}") from None
