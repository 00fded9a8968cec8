"""Telegram as a channel: python-telegram-bot updates in, ``Reply`` objects out.

Polling when no webhook URL is configured; otherwise Telegram posts updates to
``/webhook/telegram`` on the app's own web server. Every user lives in a private chat, where
the chat id is the user's id, so an address is always the id of the person who acted.
"""

from __future__ import annotations

import hmac
import logging
import time
import warnings
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Mapping, Sequence
from datetime import timedelta
from typing import Any

from aiohttp import web
from telegram import (
    BotCommand,
    BotCommandScopeDefault,
    CallbackQuery,
    InputFile,
    LinkPreviewOptions,
    Message,
    Update,
    User,
)
from telegram.constants import ChatMemberStatus, ChatType, ParseMode
from telegram.error import (
    BadRequest,
    ChatMigrated,
    Forbidden,
    InvalidToken,
    NetworkError,
    RetryAfter,
    TelegramError,
)
from telegram.ext import (
    AIORateLimiter,
    Application,
    BaseUpdateProcessor,
    CallbackQueryHandler,
    ChatMemberHandler,
    ContextTypes,
    MessageHandler,
    filters,
)
from telegram.warnings import PTBDeprecationWarning

from bot.channels import utf16
from bot.channels.telegram_render import MAX_CAPTION, render, without_callback_buttons
from bot.chat_order import ChatOrder
from bot.config import Settings
from bot.logs import LoggerGuard
from bot.web import Metrics, WebServer
from domain.protocol import (
    Address,
    Incoming,
    Kind,
    PermanentFailure,
    RecipientGone,
    Reply,
    RetryLater,
    one_part_per_reply,
)

log = logging.getLogger(__name__)

CHANNEL = "telegram"
WEBHOOK_PATH = "/webhook/telegram"
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"  # noqa: S105 - a header name
ALLOWED_UPDATES = ("message", "callback_query", "my_chat_member")

# Loggers of the libraries that see request URLs, and so the token inside them.
_URL_LOGGER_ROOTS = ("httpx", "httpcore", "telegram")

Handle = Callable[[Incoming], Awaitable[list[Reply]]]
CommandMenu = Sequence[tuple[str, str]]
AnyApplication = Application[Any, Any, Any, Any, Any, Any]


class TelegramStartError(RuntimeError):
    """The channel could not connect to the Bot API; the message never carries the token."""


class _PerChatOrder(BaseUpdateProcessor):
    """Updates of different users run side by side; one user's updates run in order."""

    def __init__(self, max_concurrent_updates: int) -> None:
        super().__init__(max_concurrent_updates)
        self._order: ChatOrder[int] = ChatOrder()

    async def do_process_update(self, update: object, coroutine: Awaitable[Any]) -> None:
        user = update.effective_user if isinstance(update, Update) else None
        if user is None:
            await coroutine
            return
        await self._order.run(user.id, coroutine)

    async def initialize(self) -> None:
        """Nothing to set up."""

    async def shutdown(self) -> None:
        """Nothing to release."""


def _seconds(exc: RetryAfter) -> float:
    with warnings.catch_warnings():
        # Until PTB 23 the attribute is an int unless opted in; both mean seconds.
        warnings.simplefilter("ignore", PTBDeprecationWarning)
        value = exc.retry_after
    return value.total_seconds() if isinstance(value, timedelta) else float(value)


def _file_url(base_url: str) -> str:
    """``https://api.telegram.org/bot`` serves files from ``https://api.telegram.org/file/bot``."""
    root, slash, last = base_url.rstrip("/").rpartition("/")
    return f"{root}/file/{last}" if slash else base_url


class TelegramChannel:
    """Connects one Telegram bot to the engine: a service to start and stop, and a pusher."""

    def __init__(
        self,
        handle: Handle,
        settings: Settings,
        *,
        command_menus: Mapping[str, CommandMenu] | None = None,
        default_locale: str = "ja",
        web: WebServer | None = None,
        metrics: Metrics | None = None,
        poll_timeout: float = 10.0,
        max_retries: int = 3,
        max_concurrent_updates: int = 32,
    ) -> None:
        if settings.telegram_bot_token is None:
            raise ValueError("TelegramChannel needs TELEGRAM_BOT_TOKEN")
        self._handle = handle
        self._token = settings.telegram_bot_token.get_secret_value()
        self._base_url = settings.telegram_base_url
        self._webhook_url = settings.telegram_webhook_url
        secret = settings.telegram_webhook_secret
        self._webhook_secret = secret.get_secret_value().encode() if secret is not None else None
        if self._webhook_url is not None:
            if web is None or self._webhook_secret is None:
                raise ValueError("webhook mode needs the web server and TELEGRAM_WEBHOOK_SECRET")
            web.add_post(WEBHOOK_PATH, self._on_webhook)
        self._command_menus = dict(command_menus or {})
        self._default_locale = default_locale
        self._metrics = metrics
        self._poll_timeout = poll_timeout
        self._max_retries = max_retries
        self._max_concurrent_updates = max_concurrent_updates
        self._application: AnyApplication | None = None
        self._stopping = False
        self._log_guard = LoggerGuard(_URL_LOGGER_ROOTS, [self._token])
        # Replies already delivered per push, so a retried push does not repeat them.
        self._push_progress: OrderedDict[str, int] = OrderedDict()

    def __repr__(self) -> str:
        mode = "webhook" if self._webhook_url is not None else "polling"
        return f"TelegramChannel(mode={mode}, running={self.running})"

    @property
    def running(self) -> bool:
        return self._application is not None and self._application.running

    # --- life ------------------------------------------------------------------------------

    async def start(self) -> None:
        """Connect, register the command menu, then poll or register the webhook."""
        self._log_guard.install()
        application = self._build()
        # Set before connecting: polling may hand over the first update before start returns.
        self._application = application
        try:
            await self._connect(application)
        except BaseException:
            self._application = None
            await self._close(application)
            self._log_guard.remove()
            raise

    async def _connect(self, application: AnyApplication) -> None:
        # Errors are re-raised without their cause: PTB names the token in some of them.
        try:
            await application.initialize()
        except InvalidToken:
            raise TelegramStartError("Telegram rejected TELEGRAM_BOT_TOKEN") from None
        except TelegramError as exc:
            raise TelegramStartError(f"cannot reach the Bot API: {self._scrub(exc)}") from None
        await self._register_commands(application)
        await application.start()
        if self._webhook_url is not None:
            try:
                await application.bot.set_webhook(
                    self._webhook_url,
                    secret_token=(self._webhook_secret or b"").decode(),
                    allowed_updates=list(ALLOWED_UPDATES),
                )
            except TelegramError as exc:
                raise TelegramStartError(f"setWebhook failed: {self._scrub(exc)}") from None
            log.info("telegram webhook registered")
            return
        if application.updater is None:  # pragma: no cover - the builder adds one for polling
            raise TelegramStartError("polling needs an updater")
        try:
            await application.updater.start_polling(
                timeout=timedelta(seconds=self._poll_timeout),
                allowed_updates=list(ALLOWED_UPDATES),
                error_callback=self._on_polling_error,
            )
        except TelegramError as exc:
            raise TelegramStartError(f"polling failed: {self._scrub(exc)}") from None
        log.info("telegram polling started")

    async def stop(self) -> None:
        application = self._application
        # Updates already taken are finished while closing; new webhook posts wait outside.
        self._stopping = True
        try:
            if application is not None:
                await self._close(application)
        finally:
            self._application = None
            self._stopping = False
            self._log_guard.remove()

    @staticmethod
    async def _close(application: AnyApplication) -> None:
        # In webhook mode the webhook stays registered: another replica, or this one after a
        # restart, takes the next delivery.
        if application.updater is not None and application.updater.running:
            await application.updater.stop()
        if application.running:
            await application.stop()
        await application.shutdown()

    def _build(self) -> AnyApplication:
        builder = (
            Application.builder()
            .token(self._token)
            .base_url(self._base_url)
            .base_file_url(_file_url(self._base_url))
            .rate_limiter(AIORateLimiter(max_retries=self._max_retries))
            .concurrent_updates(_PerChatOrder(self._max_concurrent_updates))
        )
        if self._webhook_url is not None:
            builder = builder.updater(None)
        application = builder.build()
        private = filters.ChatType.PRIVATE
        application.add_handler(
            MessageHandler(
                private & filters.UpdateType.MESSAGE & ~filters.StatusUpdate.ALL, self._on_message
            )
        )
        application.add_handler(CallbackQueryHandler(self._on_callback))
        application.add_handler(
            ChatMemberHandler(self._on_my_chat_member, ChatMemberHandler.MY_CHAT_MEMBER)
        )
        application.add_error_handler(self._on_error)
        return application

    async def _register_commands(self, application: AnyApplication) -> None:
        bot = application.bot
        menus: list[tuple[str | None, CommandMenu]] = [
            (locale, menu) for locale, menu in self._command_menus.items()
        ]
        if self._default_locale in self._command_menus:
            menus.append((None, self._command_menus[self._default_locale]))
        for language, menu in menus:
            try:
                await bot.set_my_commands(
                    [BotCommand(name, description) for name, description in menu],
                    scope=BotCommandScopeDefault(),
                    language_code=language,
                )
            except TelegramError as exc:
                # The menu is a convenience; typed commands work without it.
                log.warning("setMyCommands failed: language=%s %s", language, self._scrub(exc))

    def _app(self) -> AnyApplication:
        if self._application is None:
            raise RuntimeError("the Telegram channel is not started")
        return self._application

    def _scrub(self, exc: BaseException) -> str:
        """The exception as one line fit for a log or an error: type and message, no token."""
        return self._log_guard.scrub(f"{type(exc).__name__}: {exc}")

    # --- updates in ------------------------------------------------------------------------

    def _event_id(self, update: Update) -> str:
        # Update ids are per bot; the bot id keeps two bots sharing a database apart.
        return f"{self._app().bot.id}:{update.update_id}"

    async def _on_message(self, update: Update, _context: ContextTypes.DEFAULT_TYPE) -> None:
        try:
            message, user = update.effective_message, update.effective_user
            if message is None or user is None:
                return
            incoming = Incoming.text_message(
                self._address(user),
                message.text or message.caption or "",
                language_code=user.language_code,
                event_id=self._event_id(update),
            )
            await self._converse(user.id, incoming)
        finally:
            self._count()

    async def _on_callback(self, update: Update, _context: ContextTypes.DEFAULT_TYPE) -> None:
        query = update.callback_query
        try:
            if query is None:
                return
            # Answered first and always: the spinner on the user's button stops either way.
            await self._answer(query)
            message = query.message
            if message is None or message.chat.type != ChatType.PRIVATE:
                return
            # The presser, never anything the callback data names, decides whose data it is.
            presser = query.from_user
            data = query.data if isinstance(query.data, str) else ""
            incoming = Incoming.button(
                self._address(presser),
                data,
                language_code=presser.language_code,
                event_id=self._event_id(update),
            )
            await self._converse(presser.id, incoming)
            if isinstance(message, Message) and message.chat.id == presser.id:
                await self._retire_buttons(message)
        finally:
            self._count()

    async def _on_my_chat_member(self, update: Update, _context: ContextTypes.DEFAULT_TYPE) -> None:
        change = update.my_chat_member
        try:
            if change is None or change.chat.type != ChatType.PRIVATE:
                return
            if change.new_chat_member.status == ChatMemberStatus.BANNED:
                # The user blocked the bot: the same as an unfollow on LINE.
                user = change.from_user
                await self._timed(
                    Incoming(
                        address=self._address(user),
                        kind=Kind.UNFOLLOW,
                        event_id=self._event_id(update),
                    )
                )
        finally:
            self._count()

    async def _on_error(self, update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
        error = context.error
        log.error(
            "telegram update failed: %s",
            self._scrub(error) if error is not None else "unknown error",
        )

    def _on_polling_error(self, exc: TelegramError) -> None:
        log.warning("telegram polling error, retrying: %s", self._scrub(exc))

    @staticmethod
    def _address(user: User) -> Address:
        return Address(CHANNEL, str(user.id))

    async def _answer(self, query: CallbackQuery) -> None:
        try:
            await query.answer()
        except TelegramError as exc:
            # A query older than Telegram keeps can no longer be answered; the press still counts.
            log.info("answerCallbackQuery failed: %s", self._scrub(exc))

    async def _retire_buttons(self, message: Message) -> None:
        if message.reply_markup is None:
            return
        remaining = without_callback_buttons(message.reply_markup)
        if remaining == message.reply_markup:
            return
        try:
            await self._app().bot.edit_message_reply_markup(
                chat_id=message.chat.id, message_id=message.message_id, reply_markup=remaining
            )
        except TelegramError as exc:
            log.info("editMessageReplyMarkup failed: %s", self._scrub(exc))

    def _count(self) -> None:
        if self._metrics is not None:
            self._metrics.updates.labels(CHANNEL).inc()

    async def _timed(self, incoming: Incoming) -> list[Reply]:
        started = time.perf_counter()
        try:
            return await self._handle(incoming)
        finally:
            if self._metrics is not None:
                self._metrics.handle_seconds.labels(CHANNEL).observe(time.perf_counter() - started)

    async def _converse(self, chat_id: int, incoming: Incoming) -> None:
        """Hand the event to the engine and send its answers back."""
        replies = await self._timed(incoming)
        try:
            for reply in replies:
                await self._send(chat_id, reply)
        except Forbidden:
            log.info("telegram user blocked the bot; marking inactive")
            await self._timed(Incoming(address=incoming.address, kind=Kind.UNFOLLOW))
        except TelegramError as exc:
            log.warning("telegram reply not delivered: %s", self._scrub(exc))

    # --- webhook ---------------------------------------------------------------------------

    async def _on_webhook(self, request: web.Request) -> web.Response:
        given = request.headers.get(SECRET_HEADER)
        expected = self._webhook_secret or b""
        if given is None or not hmac.compare_digest(given.encode(), expected):
            if self._metrics is not None:
                self._metrics.webhook_rejected.labels(CHANNEL).inc()
            log.warning(
                "telegram webhook refused: secret %s", "missing" if given is None else "wrong"
            )
            return web.Response(status=401 if given is None else 403)
        application = self._application
        if application is None or self._stopping or not application.running:
            # Telegram delivers again later, to this replica once it is up or to another.
            return web.Response(status=503)
        try:
            payload = await request.json()
            update = Update.de_json(payload, application.bot)
        except Exception:
            log.warning("telegram webhook body is not an update")
            return web.Response(status=400)
        # Handled before the 200: if this process dies first, Telegram delivers the update
        # again, and the engine's event ids make a second delivery a no-op.
        await application.process_update(update)
        return web.Response(status=200)

    # --- replies out -----------------------------------------------------------------------

    async def _send(self, chat_id: int, reply: Reply) -> None:
        bot = self._app().bot
        messages = render(reply)
        document = reply.document
        if (
            document is not None
            and len(messages) == 1
            and utf16.length(messages[0].html) <= MAX_CAPTION
        ):
            await bot.send_document(
                chat_id,
                InputFile(document.content, filename=document.filename),
                caption=messages[0].html,
                parse_mode=ParseMode.HTML,
                reply_markup=messages[0].keyboard,
            )
            return
        for outgoing in messages:
            await bot.send_message(
                chat_id,
                outgoing.html,
                parse_mode=ParseMode.HTML,
                reply_markup=outgoing.keyboard,
                link_preview_options=LinkPreviewOptions(is_disabled=True),
            )
        if document is not None:
            await bot.send_document(
                chat_id, InputFile(document.content, filename=document.filename)
            )

    def parts(self, replies: list[Reply]) -> list[list[Reply]]:
        # Telegram has no retry key: one reply per part, so a takeover repeats at most the
        # one that was in flight.
        return one_part_per_reply(replies)

    async def push(self, external_id: str, replies: list[Reply], *, idempotency_key: str) -> None:
        """Send a reminder; raises RecipientGone, RetryLater or PermanentFailure."""
        if not external_id.lstrip("-").isdigit():
            raise PermanentFailure("not a Telegram chat id")
        if not self.running:
            raise RetryLater("the Telegram channel is not running")
        chat_id = int(external_id)
        done = self._push_progress.get(idempotency_key, 0)
        try:
            for index, reply in enumerate(replies):
                if index < done:
                    continue
                await self._send(chat_id, reply)
                self._remember_progress(idempotency_key, index + 1)
        except Forbidden as exc:
            raise RecipientGone(self._scrub(exc)) from None
        except RetryAfter as exc:
            raise RetryLater(self._scrub(exc), _seconds(exc)) from None
        except (BadRequest, ChatMigrated) as exc:
            raise PermanentFailure(self._scrub(exc)) from None
        except (NetworkError, InvalidToken) as exc:
            # NetworkError covers timeouts and 5xx; a revoked token is the operator's to fix.
            raise RetryLater(self._scrub(exc)) from None
        except TelegramError as exc:
            raise PermanentFailure(self._scrub(exc)) from None
        self._push_progress.pop(idempotency_key, None)

    def _remember_progress(self, key: str, sent: int) -> None:
        self._push_progress[key] = sent
        self._push_progress.move_to_end(key)
        while len(self._push_progress) > 1024:
            self._push_progress.popitem(last=False)
