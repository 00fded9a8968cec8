"""Telegram as a channel: python-telegram-bot updates in, ``Reply`` objects out.

Polling when no webhook URL is configured; otherwise Telegram posts updates to
``/webhook/telegram`` on the app's own web server. Every user lives in a private chat, where
the chat id is the user's id, so an address is always the id of the person who acted.

Either way an update is written to the durable inbox before Telegram hears it arrived: in
polling mode before the next ``getUpdates`` offset confirms it (PTB's own Updater confirms a
batch as soon as it is queued, so it is not used), in webhook mode before the 200. It leaves
the inbox once handled; one left behind by a dead process, or by a handler that failed, is
handled again after a lease, and set aside after ``bot.inbox.MAX_ATTEMPTS`` tries. The rows
of handled updates are deleted together with the next batch's insert (or after
``FLUSH_DELAY`` when nothing more comes, and on stop): one inbox transaction per batch. A
row whose delete was lost to a crash is taken up again and skipped, as the engine recorded
its event id in the turn's own transaction.
"""

from __future__ import annotations

import asyncio
import hmac
import logging
import time
import warnings
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Mapping, Sequence
from datetime import timedelta
from functools import partial
from typing import Any, Protocol, TypeVar

from aiohttp import web
from aiolimiter import AsyncLimiter
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
    EndPointNotFound,
    Forbidden,
    InvalidToken,
    NetworkError,
    RetryAfter,
    TelegramError,
    TimedOut,
)
from telegram.ext import (
    Application,
    BaseUpdateProcessor,
    CallbackQueryHandler,
    ChatMemberHandler,
    ContextTypes,
    ExtBot,
    MessageHandler,
    filters,
)
from telegram.warnings import PTBDeprecationWarning, PTBUserWarning
from tenacity import (
    AsyncRetrying,
    RetryCallState,
    retry_if_exception_type,
    stop_after_attempt,
    wait_exponential,
)

from bot.channels import utf16
from bot.channels.telegram_http import AiohttpRequest
from bot.channels.telegram_render import (
    MAX_CAPTION,
    Outgoing,
    joined_replies,
    render,
    without_callback_buttons,
)
from bot.chat_order import ChatOrder
from bot.config import Settings
from bot.logs import LoggerGuard
from bot.web import Metrics, WebServer
from domain.protocol import (
    Address,
    Document,
    Inbox,
    Incoming,
    Kind,
    PermanentFailure,
    Received,
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
_NO_LINK_PREVIEW = LinkPreviewOptions(is_disabled=True)
# How long the rows of handled updates may wait for the next batch's insert to delete them.
FLUSH_DELAY = 0.5

# Loggers of the libraries that see request URLs, and so the token inside them.
_URL_LOGGER_ROOTS = ("aiohttp", "httpx", "httpcore", "telegram")

Handle = Callable[[Incoming], Awaitable[list[Reply]]]
T = TypeVar("T")
CommandMenu = Sequence[tuple[str, str]]
AnyApplication = Application[Any, Any, Any, Any, Any, Any]
# A text is never a status update: TEXT first spares the ~40 status filters for nearly every
# update (the filter runs for each update in the handler's check and in _to_incoming).
# Replies are sent with Bot.do_api_request, which warns that Bot.send_message exists (see
# TelegramChannel._send_text for why it is not used); that one warning, and only it, is quiet.
warnings.filterwarnings(
    "ignore",
    message=r"Please use 'Bot\.send_message' instead",
    category=PTBUserWarning,
)
_PRIVATE_MESSAGE = (
    filters.ChatType.PRIVATE
    & filters.UpdateType.MESSAGE
    & (filters.TEXT | ~filters.StatusUpdate.ALL)
)


class BatchingInbox(Inbox, Protocol):
    """The durable inbox, able to delete handled rows in the transaction of the next insert."""

    async def put(
        self, items: list[tuple[Incoming, str | None]], finished: Sequence[int] = ()
    ) -> list[Received]: ...

    async def done_many(self, inbox_ids: Sequence[int]) -> None: ...


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


def _asked(exc: RetryAfter) -> float:
    """As long as Telegram's 429 asked for, and a little more so the window has surely passed."""
    return _seconds(exc) + 0.1


def _wait_as_asked(state: RetryCallState) -> float:
    exc = state.outcome.exception() if state.outcome is not None else None
    return _asked(exc) if isinstance(exc, RetryAfter) else 0.0


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
        inbox: BatchingInbox | None = None,
        poll_timeout: float = 10.0,
        max_retries: int = 3,
        max_concurrent_updates: int = 32,
        recovery_interval: float = 30.0,
        recovery_lease: float = 60.0,
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
        # Pushes leave one at a time, 1/rate seconds apart: a bucket holding a whole second's
        # worth would let twice the rate through in the second a burst starts.
        self._push_pace = AsyncLimiter(1, 1 / settings.telegram_push_rate)
        self._max_concurrent_updates = max_concurrent_updates
        self._inbox = inbox
        self._recovery_interval = recovery_interval
        self._recovery_lease = recovery_lease
        self._application: AnyApplication | None = None
        self._poller: asyncio.Task[None] | None = None
        self._recovery: asyncio.Task[None] | None = None
        # Inbox rows of updates handed to the application, by update id, until they are
        # handled, with what each update was translated to when it was kept.
        self._waiting: dict[int, tuple[int, Incoming]] = {}
        # Inbox rows of handled updates, deleted with the next insert or by the flusher.
        self._finished: list[int] = []
        self._flusher: asyncio.Task[None] | None = None
        self._requests: tuple[AiohttpRequest, ...] = ()
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

    @property
    def _polling(self) -> bool:
        return self._webhook_url is None

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
        else:
            try:
                # getUpdates is refused while a webhook is set.
                await application.bot.delete_webhook()
            except TelegramError as exc:
                raise TelegramStartError(f"deleteWebhook failed: {self._scrub(exc)}") from None
            self._poller = asyncio.create_task(self._poll_forever(application))
            log.info("telegram polling started")
        if self._inbox is not None:
            self._recovery = asyncio.create_task(self._recover_forever())

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
            self._waiting.clear()
            self._log_guard.remove()

    async def _close(self, application: AnyApplication) -> None:
        # In webhook mode the webhook stays registered: another replica, or this one after a
        # restart, takes the next delivery.
        for task in (self._poller, self._recovery):
            if task is not None:
                # Nothing is lost by cancelling: what was fetched is in the inbox already.
                task.cancel()
                await asyncio.gather(task, return_exceptions=True)
        self._poller = self._recovery = None
        if application.running:
            await application.stop()
        # What was handled while stopping leaves the inbox now rather than after a takeover.
        if self._flusher is not None:
            self._flusher.cancel()
            await asyncio.gather(self._flusher, return_exceptions=True)
            self._flusher = None
        await self._flush()
        await application.shutdown()
        # PTB shuts its requests down only if it got as far as initialising; after a failed
        # start (a rejected token) their sessions would be left open.
        for request in self._requests:
            await request.shutdown()
        self._requests = ()

    def _build(self) -> AnyApplication:
        requests = (AiohttpRequest(), AiohttpRequest(connection_pool_size=1))
        self._requests = requests
        builder = (
            Application.builder()
            .token(self._token)
            .base_url(self._base_url)
            .base_file_url(_file_url(self._base_url))
            .concurrent_updates(_PerChatOrder(self._max_concurrent_updates))
            # aiohttp rather than httpx: a fifth of the CPU per Bot API call.
            .request(requests[0])
            .get_updates_request(requests[1])
            # Polling is driven by _poll_forever, which keeps each batch before confirming it.
            .updater(None)
        )
        application = builder.build()
        application.add_handler(MessageHandler(_PRIVATE_MESSAGE, self._on_message))
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

    def _to_incoming(self, update: Update) -> Incoming | None:
        """What the user did, or None for what no handler below takes up."""
        query = update.callback_query
        if query is not None:
            message = query.message
            if message is None or message.chat.type != ChatType.PRIVATE:
                return None
            # The presser, never anything the callback data names, decides whose data it is.
            presser = query.from_user
            return Incoming.button(
                self._address(presser),
                query.data if isinstance(query.data, str) else "",
                language_code=presser.language_code,
                event_id=self._event_id(update),
            )
        if _PRIVATE_MESSAGE.check_update(update):
            message, user = update.effective_message, update.effective_user
            if message is None or user is None:
                return None
            return Incoming.text_message(
                self._address(user),
                message.text or message.caption or "",
                language_code=user.language_code,
                event_id=self._event_id(update),
            )
        change = update.my_chat_member
        if (
            change is not None
            and change.chat.type == ChatType.PRIVATE
            and change.new_chat_member.status == ChatMemberStatus.BANNED
        ):
            # The user blocked the bot: the same as an unfollow on LINE.
            return Incoming(
                address=self._address(change.from_user),
                kind=Kind.UNFOLLOW,
                event_id=self._event_id(update),
            )
        return None

    def _take_waiting(self, update: Update) -> tuple[int, Incoming | None]:
        """The update's inbox row (0 if none) and its Incoming, translated once when kept."""
        waiting = self._waiting.pop(update.update_id, None)
        if waiting is None:
            return 0, self._to_incoming(update)
        return waiting

    async def _on_message(self, update: Update, _context: ContextTypes.DEFAULT_TYPE) -> None:
        inbox_id, incoming = self._take_waiting(update)
        try:
            user = update.effective_user
            if incoming is None or user is None:
                return
            await self._converse(user.id, incoming)
            await self._done(inbox_id)
        finally:
            self._count()

    async def _on_callback(self, update: Update, _context: ContextTypes.DEFAULT_TYPE) -> None:
        inbox_id, incoming = self._take_waiting(update)
        query = update.callback_query
        try:
            if query is None:
                return
            # Answered first and always: the spinner on the user's button stops either way.
            await self._answer(query)
            if incoming is None:
                return
            presser, message = query.from_user, query.message
            await self._converse(presser.id, incoming)
            if isinstance(message, Message) and message.chat.id == presser.id:
                await self._retire_buttons(message)
            await self._done(inbox_id)
        finally:
            self._count()

    async def _on_my_chat_member(self, update: Update, _context: ContextTypes.DEFAULT_TYPE) -> None:
        inbox_id, incoming = self._take_waiting(update)
        try:
            if incoming is not None:
                await self._timed(incoming)
            await self._done(inbox_id)
        finally:
            self._count()

    async def _on_error(self, update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
        error = context.error
        log.error(
            "telegram update failed: %s",
            self._scrub(error) if error is not None else "unknown error",
        )
        self._count_error()

    def _count_error(self) -> None:
        if self._metrics is not None:
            self._metrics.channel_errors.labels(CHANNEL).inc()

    async def _done(self, inbox_id: int) -> None:
        """Note a handled update's row; it is deleted with the next write, or soon after."""
        if self._inbox is None or not inbox_id:
            return
        self._finished.append(inbox_id)
        if self._flusher is None or self._flusher.done():
            self._flusher = asyncio.create_task(self._flush_soon())

    async def _store(
        self, inbox: BatchingInbox, items: list[tuple[Incoming, str | None]]
    ) -> list[Received]:
        """Keep events, and let go of the handled rows in the same transaction.

        Should the write fail, those rows are tried again with the next one.
        """
        finished = self._take_finished()
        try:
            return await inbox.put(items, finished)
        except BaseException:
            self._give_back(finished)
            raise

    def _take_finished(self) -> list[int]:
        finished, self._finished = self._finished, []
        return finished

    def _give_back(self, finished: list[int]) -> None:
        """Rows whose delete failed: tried again with the next write."""
        self._finished[:0] = finished

    async def _flush_soon(self) -> None:
        await asyncio.sleep(FLUSH_DELAY)
        await self._flush()

    async def _flush(self) -> None:
        finished = self._take_finished()
        if self._inbox is None or not finished:
            return
        try:
            await self._inbox.done_many(finished)
        except Exception as exc:
            # Left in the inbox: the next write tries again, and a takeover would skip them.
            self._give_back(finished)
            log.error("telegram: could not let go of handled updates: %s", type(exc).__name__)

    # --- polling ---------------------------------------------------------------------------

    async def _poll_forever(self, application: AnyApplication) -> None:
        """Fetch, keep, hand over; only the next call's offset confirms what was kept."""
        if self._inbox is not None:
            await self._take_over()
        offset: int | None = None
        retrying = AsyncRetrying(
            wait=wait_exponential(multiplier=0.5, max=30),
            retry=retry_if_exception_type(Exception),
            before_sleep=self._on_polling_error,
        )
        while True:
            async for attempt in retrying:
                with attempt:
                    offset = await self._poll_once(application, offset)

    async def _poll_once(self, application: AnyApplication, offset: int | None) -> int | None:
        try:
            updates = await application.bot.get_updates(
                offset=offset,
                timeout=timedelta(seconds=self._poll_timeout),
                allowed_updates=list(ALLOWED_UPDATES),
            )
        except TimedOut:
            # A long poll that outlived its read timeout: nothing was fetched, poll again.
            return offset
        if not updates:
            return offset
        # Kept before the offset moves: should this process die now, the inbox has them, and
        # should keeping fail, the same offset fetches them again.
        await self._keep(application, updates)
        last: int = updates[-1].update_id
        return last + 1

    async def _take_over(self) -> None:
        """Before the first poll, handle what a process that polled before left in the inbox."""
        # Telegram serves getUpdates to one poller at a time, so a process that starts polling
        # takes over: anything waiting was left by one that died (or is stopping, and handling
        # it twice is harmless). Done before polling so a user's older updates come first.
        try:
            await self.recover(older_than=0.0)
        except Exception as exc:
            log.error("telegram: inbox recovery failed: %s", type(exc).__name__)

    async def _keep(self, application: AnyApplication, updates: Sequence[Update]) -> None:
        """Store a batch in the inbox, then hand what was stored to the application."""
        translated = [(update, self._to_incoming(update)) for update in updates]
        kept: dict[str | None, int] = {}
        if self._inbox is not None:
            wanted: list[tuple[Incoming, str | None]] = [
                (incoming, None) for _, incoming in translated if incoming is not None
            ]
            if wanted:
                for item in await self._store(self._inbox, wanted):
                    kept[item.incoming.event_id] = item.inbox_id
        for update, incoming in translated:
            if incoming is not None and self._inbox is not None:
                if incoming.event_id not in kept:
                    # Already waiting in the inbox from an earlier fetch: taken up from there.
                    continue
                self._waiting[update.update_id] = (kept[incoming.event_id], incoming)
            await application.update_queue.put(update)

    def _on_polling_error(self, state: RetryCallState) -> None:
        exc = state.outcome.exception() if state.outcome is not None else None
        if isinstance(exc, TelegramError):
            log.warning("telegram polling error, retrying: %s", self._scrub(exc))
        else:
            # The inbox could not keep the batch: it is fetched again, as nothing was confirmed.
            log.error(
                "telegram: could not keep updates, retrying: %s",
                type(exc).__name__ if exc is not None else "unknown error",
            )

    # --- recovery --------------------------------------------------------------------------

    async def _recover_forever(self) -> None:
        """Retry updates whose handling failed, or whose process died, once their lease is up."""
        if self._polling:
            # The poller has just taken over everything waiting.
            await asyncio.sleep(self._recovery_interval)
        while True:
            try:
                await self.recover()
            except Exception as exc:
                log.error("telegram: inbox recovery failed: %s", type(exc).__name__)
            await asyncio.sleep(self._recovery_interval)

    async def recover(self, older_than: float | None = None) -> int:
        """Handle the inbox's overdue Telegram updates now; how many were taken."""
        if self._inbox is None:
            return 0
        lease = self._recovery_lease if older_than is None else older_than
        overdue = await self._inbox.overdue(CHANNEL, lease)
        # One by one, oldest first: a user's updates keep their order.
        for item in overdue:
            await self._handle_recovered(item)
        return len(overdue)

    async def _handle_recovered(self, item: Received) -> None:
        # Only the Incoming was kept: a pressed query cannot be answered this late, and the
        # pressed message's buttons are not known; the engine refuses a stale press anyway.
        try:
            await self._converse(int(item.incoming.address.external_id), item.incoming)
            await self._done(item.inbox_id)
        except Exception as exc:
            log.error("telegram: handling a kept update failed: %s", type(exc).__name__)
        finally:
            self._count()

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
            edit = partial(
                self._app().bot.edit_message_reply_markup,
                chat_id=message.chat.id,
                message_id=message.message_id,
                reply_markup=remaining,
            )
            await self._call(edit)
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
        # An acknowledgement and the next question go out as one message where they fit.
        replies = joined_replies(await self._timed(incoming))
        try:
            for reply in replies:
                await self._send(chat_id, reply)
        except Forbidden:
            log.info("telegram user blocked the bot; marking inactive")
            await self._timed(Incoming(address=incoming.address, kind=Kind.UNFOLLOW))
        except TelegramError as exc:
            log.warning("telegram reply not delivered: %s", self._scrub(exc))
            self._count_error()

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
        except web.HTTPRequestEntityTooLarge:
            raise  # aiohttp's own 413, not a malformed update
        except Exception:
            log.warning("telegram webhook body is not an update")
            return web.Response(status=400)
        incoming = self._to_incoming(update)
        if self._inbox is not None and incoming is not None:
            try:
                kept = await self._store(self._inbox, [(incoming, None)])
            except Exception as exc:
                # Not kept, so not acknowledged: Telegram delivers it again later.
                log.error("telegram: could not keep an update: %s", type(exc).__name__)
                return web.Response(status=503)
            if not kept:
                # Already waiting in the inbox: whoever holds it, or recovery, finishes it.
                return web.Response(status=200)
            self._waiting[update.update_id] = (kept[0].inbox_id, incoming)
        # Handled before the 200, so Telegram's one-at-a-time delivery keeps a user's order.
        # A handler that fails leaves the update in the inbox, where recovery retries it.
        await application.process_update(update)
        return web.Response(status=200)

    # --- replies out -----------------------------------------------------------------------

    async def _call(self, request: Callable[[], Awaitable[T]], *, paced: bool = False) -> T:
        """One Bot API call; a 429 waits its retry_after and tries again, ``max_retries`` times.

        Replies are not paced: they go out at once, a user's in order (``_PerChatOrder``), and
        only a 429 slows them. Pushes (``paced``) keep the bot-wide TELEGRAM_PUSH_RATE, so a
        morning of reminders does not run into Telegram's bulk limit in the first place.
        """

        async def attempt() -> T:
            if paced:
                await self._push_pace.acquire()
            return await request()

        try:
            # Nearly every call succeeds at once: tenacity's machinery (a fresh retry state
            # per call) is set up only once Telegram has asked us to wait.
            return await attempt()
        except RetryAfter as exc:
            if self._max_retries < 1:
                raise
            first_wait = _asked(exc)
        await asyncio.sleep(first_wait)
        retrying = AsyncRetrying(
            retry=retry_if_exception_type(RetryAfter),
            wait=_wait_as_asked,
            stop=stop_after_attempt(self._max_retries),
            reraise=True,
        )
        result: T = await retrying(attempt)
        return result

    async def _send(self, chat_id: int, reply: Reply, *, paced: bool = False) -> None:
        bot = self._app().bot
        messages = render(reply)
        document, image = reply.document, reply.image
        # A lone short message rides on its photo or file as the caption.
        as_caption = len(messages) == 1 and utf16.length(messages[0].html) <= MAX_CAPTION
        if as_caption and (image is not None or document is not None):
            if image is not None:
                first = partial(
                    bot.send_photo,
                    chat_id,
                    InputFile(image.content, filename=image.filename),
                    caption=messages[0].html,
                    parse_mode=ParseMode.HTML,
                    reply_markup=messages[0].keyboard,
                )
            elif document is not None:
                first = partial(
                    bot.send_document,
                    chat_id,
                    InputFile(document.content, filename=document.filename),
                    caption=messages[0].html,
                    parse_mode=ParseMode.HTML,
                    reply_markup=messages[0].keyboard,
                )
            await self._call(first, paced=paced)
            if image is not None and document is not None:
                await self._send_file(chat_id, document, paced=paced)
            return
        for outgoing in messages:
            await self._call(partial(self._send_text, bot, chat_id, outgoing), paced=paced)
        if image is not None:
            photo = partial(
                bot.send_photo, chat_id, InputFile(image.content, filename=image.filename)
            )
            await self._call(photo, paced=paced)
        if document is not None:
            await self._send_file(chat_id, document, paced=paced)

    @staticmethod
    async def _send_text(bot: ExtBot[Any], chat_id: int, outgoing: Outgoing) -> None:
        """sendMessage, with the answer left as JSON.

        ``Bot.send_message`` parses every answer into a ``Message`` (its keyboard included),
        about 230 us of CPU per reply that nothing here reads: the channel needs only to
        know the message went out. ``do_api_request`` is PTB's public call for any method,
        sending the same parameters through the same request and raising the same errors;
        PTB warns when it is used for a method it has a typed call for, and that warning is
        filtered above. One difference is undone here: after start-up it reports a 401/404
        as EndPointNotFound, where send_message raises InvalidToken (a revoked token).
        """
        params: dict[str, Any] = {
            "chat_id": chat_id,
            "text": outgoing.html,
            "parse_mode": ParseMode.HTML,
            "link_preview_options": _NO_LINK_PREVIEW,
        }
        if outgoing.keyboard is not None:
            params["reply_markup"] = outgoing.keyboard
        try:
            await bot.do_api_request("send_message", api_kwargs=params)
        except EndPointNotFound as exc:
            raise InvalidToken(str(exc)) from exc

    async def _send_file(self, chat_id: int, document: Document, *, paced: bool) -> None:
        bot = self._app().bot
        send_file = partial(
            bot.send_document, chat_id, InputFile(document.content, filename=document.filename)
        )
        await self._call(send_file, paced=paced)

    def parts(self, replies: list[Reply]) -> list[list[Reply]]:
        # Telegram has no retry key: one reply per part, so a takeover repeats at most the
        # one that was in flight. A plain intro rides with the part after it: each message
        # costs 1/TELEGRAM_PUSH_RATE of the bulk budget, and a buzz on the user's phone.
        return one_part_per_reply(joined_replies(replies))

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
                await self._send(chat_id, reply, paced=True)
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
