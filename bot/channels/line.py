"""LINE Messaging API ↔ protocol: signed webhooks in, replies and pushes out.

Conversation answers always go back with the event's reply token (free); only reminders are
pushed (they count against the account's monthly quota), one request per reminder.
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, replace
from typing import Any

import aiohttp
from aiohttp import web
from aiolimiter import AsyncLimiter
from linebot.v3.exceptions import InvalidSignatureError
from linebot.v3.messaging import (
    AsyncApiClient,
    AsyncMessagingApi,
    Configuration,
    PushMessageRequest,
    ReplyMessageRequest,
)
from linebot.v3.messaging.exceptions import ApiException
from linebot.v3.webhook import WebhookParser
from linebot.v3.webhooks import (
    FollowEvent,
    MessageEvent,
    PostbackEvent,
    TextMessageContent,
    UnfollowEvent,
    UserSource,
)

from bot.channels.line_messages import to_line_messages
from bot.chat_order import ChatOrder
from bot.config import Settings
from bot.web import Metrics, WebServer
from domain.protocol import (
    Address,
    Downloads,
    HostedImage,
    Inbox,
    Incoming,
    Kind,
    PermanentFailure,
    Priority,
    Received,
    RecipientGone,
    Reply,
    RetryLater,
)

log = logging.getLogger(__name__)

CHANNEL = "line"
WEBHOOK_PATH = "/webhook/line"
PRODUCTION_API = "https://api.line.me"
PRODUCTION_DATA_API = "https://api-data.line.me"
# LINE wants the retry key as a UUID; any other stable key maps onto one deterministically.
RETRY_KEY_NAMESPACE = uuid.UUID("3f1f8c1e-2b7a-4c56-9a53-6b1d2f3e4a50")

Handle = Callable[[Incoming], Awaitable[list[Reply]]]


# LINE's monthly push quota: read at most this often, low below this share left (or below
# LINE_QUOTA_RESERVE pushes), and once it is used up a reminder waits this long to try again.
QUOTA_CACHE_SECONDS = 300.0
QUOTA_LOW_SHARE = 0.10
QUOTA_USED_UP_WAIT = 3600.0
_MONTHLY_LIMIT = "monthly limit"


@dataclass(frozen=True, slots=True)
class Quota:
    """This month's pushes: the limit (None: no limit) and how many were used."""

    limit: int | None
    used: int

    def low(self, reserve: int) -> bool:
        if self.limit is None:
            return False
        left = self.limit - self.used
        return left < max(self.limit * QUOTA_LOW_SHARE, reserve)


def data_api_base(api_base_url: str) -> str:
    """Where image uploads go: LINE keeps them on a host of their own; a fake serves both."""
    base = api_base_url.rstrip("/")
    return PRODUCTION_DATA_API if base == PRODUCTION_API else base


def retry_key(idempotency_key: str) -> str:
    try:
        return str(uuid.UUID(idempotency_key))
    except ValueError:
        return str(uuid.uuid5(RETRY_KEY_NAMESPACE, idempotency_key))


def to_incoming(event: Any) -> Incoming | None:
    """One webhook event as an ``Incoming``, or None for what Renraku does not handle.

    The address always comes from the event's source, never from postback data, so a
    forged postback can only ever act for the user who sent it.
    """
    source = getattr(event, "source", None)
    if not isinstance(source, UserSource) or not source.user_id:
        # Groups and rooms would show a user's interviews to others.
        return None
    mode = getattr(event, "mode", None)
    if getattr(mode, "value", mode) == "standby":
        # Another module channel owns the chat; its reply token is not ours to use.
        return None
    address = Address(CHANNEL, source.user_id)
    event_id = event.webhook_event_id
    if isinstance(event, FollowEvent):
        return Incoming(address=address, kind=Kind.FOLLOW, event_id=event_id)
    if isinstance(event, UnfollowEvent):
        return Incoming(address=address, kind=Kind.UNFOLLOW, event_id=event_id)
    if isinstance(event, PostbackEvent):
        return Incoming.button(address, event.postback.data, event_id=event_id)
    if isinstance(event, MessageEvent):
        # Stickers and photos arrive as empty text, so the engine answers kindly, not silently.
        text = event.message.text if isinstance(event.message, TextMessageContent) else ""
        return Incoming.text_message(address, text, event_id=event_id)
    return None


class LineChannel:
    """Receives LINE webhooks on the shared HTTP server and answers through the Messaging API.

    A service: ``start`` opens the API client inside the running loop, ``stop`` lets
    in-flight events finish briefly and closes it.
    """

    def __init__(
        self,
        handle: Handle,
        settings: Settings,
        *,
        web: WebServer,
        metrics: Metrics,
        inbox: Inbox | None = None,
        downloads: Downloads | None = None,
        request_timeout: float = 10.0,
        drain_timeout: float = 5.0,
        recovery_interval: float = 30.0,
        recovery_lease: float = 60.0,
    ) -> None:
        if settings.line_channel_secret is None or settings.line_channel_access_token is None:
            raise ValueError("LINE needs LINE_CHANNEL_SECRET and LINE_CHANNEL_ACCESS_TOKEN")
        self._handle = handle
        self._parser = WebhookParser(settings.line_channel_secret.get_secret_value())
        self._access_token = settings.line_channel_access_token
        self._api_base_url = settings.line_api_base_url.rstrip("/")
        self._metrics = metrics
        self._request_timeout = request_timeout
        self._drain_timeout = drain_timeout
        self._inbox = inbox
        self._downloads = downloads
        self._recovery_interval = recovery_interval
        self._recovery_lease = recovery_lease
        self._recovery: asyncio.Task[None] | None = None
        self._client: AsyncApiClient | None = None
        self._api: AsyncMessagingApi | None = None
        # Held so the loop does not drop running tasks, and so stop can wait for them.
        self._tasks: set[asyncio.Task[None]] = set()
        self._order: ChatOrder[Address] = ChatOrder()
        # Pushes leave one at a time, 1/rate seconds apart (LINE_PUSH_RATE, per replica);
        # replies answer a reply token and are never held back.
        self._push_pace = AsyncLimiter(1, 1 / settings.line_push_rate)
        self._quota_reserve = settings.line_quota_reserve
        self._quota: Quota | None = None
        self._quota_read_at: float | None = None
        self._quota_lock = asyncio.Lock()
        # Set by a "monthly limit" 429 (logged once, until a push gets through again).
        self._quota_used_up = False
        web.add_post(WEBHOOK_PATH, self._webhook)

    # --- life -------------------------------------------------------------------------------

    async def start(self) -> None:
        configuration = Configuration(
            host=self._api_base_url, access_token=self._access_token.get_secret_value()
        )
        self._client = AsyncApiClient(configuration)
        self._api = AsyncMessagingApi(self._client)
        if self._inbox is not None:
            self._recovery = asyncio.create_task(self._recover_forever())

    async def _recover_forever(self) -> None:
        """Answer events another process accepted but never finished (it died first)."""
        while True:
            try:
                await self.recover()
            except Exception as exc:
                log.error("line: inbox recovery failed: %s", type(exc).__name__)
            await asyncio.sleep(self._recovery_interval)

    async def recover(self) -> int:
        """Handle the inbox's overdue LINE events now; how many were taken."""
        if self._inbox is None:
            return 0
        overdue = await self._inbox.overdue(CHANNEL, self._recovery_lease)
        if overdue:
            await self._spawn(overdue)
        return len(overdue)

    async def stop(self) -> None:
        if self._recovery is not None:
            self._recovery.cancel()
            await asyncio.gather(self._recovery, return_exceptions=True)
            self._recovery = None
        if self._tasks:
            _, pending = await asyncio.wait(set(self._tasks), timeout=self._drain_timeout)
            for task in pending:
                task.cancel()
            if pending:
                log.warning("line: %d events cancelled at shutdown", len(pending))
                await asyncio.gather(*pending, return_exceptions=True)
        if self._client is not None:
            await self._client.close()
        self._client = self._api = None

    async def wait_idle(self) -> None:
        """Wait until every received event has been handled and answered (used by tests)."""
        while self._tasks:
            await asyncio.gather(*set(self._tasks), return_exceptions=True)

    # --- webhook ----------------------------------------------------------------------------

    def _reject(self, reason: str) -> web.Response:
        self._metrics.webhook_rejected.labels(CHANNEL).inc()
        log.warning("line webhook refused: %s", reason)
        return web.Response(status=400)

    async def _webhook(self, request: web.Request) -> web.Response:
        if self._api is None:
            return web.Response(status=503)
        signature = request.headers.get("X-Line-Signature", "")
        body = await request.read()
        if not signature:
            return self._reject("no signature")
        try:
            # Checked over the raw bytes: strict UTF-8 decoding gives back exactly those bytes.
            events = self._parser.parse(body.decode("utf-8"), signature)
        except InvalidSignatureError:
            return self._reject("bad signature")
        except (UnicodeDecodeError, ValueError, KeyError, TypeError):
            return self._reject("malformed body")
        accepted = [
            (incoming, getattr(event, "reply_token", None))
            for event in events
            if (incoming := to_incoming(event)) is not None
        ]
        if self._inbox is None:
            batch = [Received(0, incoming, token) for incoming, token in accepted]
        else:
            try:
                # Written down before the 200, so a crash from here on loses nothing.
                batch = await self._inbox.put(accepted) if accepted else []
            except Exception as exc:
                log.error("line: could not keep events: %s", type(exc).__name__)
                return web.Response(status=500)
        if batch:
            # Answer LINE at once; handling runs on, each event deduplicated by its id.
            self._spawn(batch)
        return web.json_response({})

    def _spawn(self, batch: list[Received]) -> asyncio.Task[None]:
        task = asyncio.create_task(self._deliver(batch))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    async def _deliver(self, batch: list[Received]) -> None:
        # Each event asks for its chat's turn as its task starts, and gather starts them in
        # the batch's order: one user's events are answered in order, other users' meanwhile.
        await asyncio.gather(
            *(self._order.run(item.incoming.address, self._deliver_safely(item)) for item in batch)
        )

    async def _deliver_safely(self, item: Received) -> None:
        try:
            await self._deliver_one(item)
        except Exception as exc:
            # Nobody awaits this task, so say it here; the type only, never the content.
            log.error("line: handling an event failed: %s", type(exc).__name__)
            self._metrics.channel_errors.labels(CHANNEL).inc()

    async def _deliver_one(self, item: Received) -> None:
        started = time.perf_counter()
        replies = await self._handle(item.incoming)
        self._metrics.handle_seconds.labels(CHANNEL).observe(time.perf_counter() - started)
        self._metrics.updates.labels(CHANNEL).inc()
        if replies and item.reply_to:
            await self._reply(item.incoming.address, item.reply_to, replies)
        if self._inbox is not None:
            await self._inbox.done(item.inbox_id)

    async def _linked(
        self, address: Address, replies: Sequence[Reply]
    ) -> tuple[list[Reply], dict[int, HostedImage]]:
        """Files become links and images hosted pictures, where a link can be made.

        Without one (no PUBLIC_BASE_URL, or the store failed) a document is shown as text
        and an image is left out: its reply's text already says what the picture shows.
        """
        out: list[Reply] = []
        images: dict[int, HostedImage] = {}
        for index, reply in enumerate(replies):
            if self._downloads is not None and reply.document is not None:
                try:
                    offered = await self._downloads.offer(address, reply.document)
                except Exception as exc:
                    log.error("line: could not keep a download: %s", type(exc).__name__)
                    offered = None
                if offered is not None:
                    text = "\n\n".join(t for t in (reply.text, offered.text) if t.strip())
                    reply = replace(reply, text=text, document=None)
            if self._downloads is not None and reply.image is not None:
                try:
                    hosted = await self._downloads.host_image(address, reply.image)
                except Exception as exc:
                    log.error("line: could not host an image: %s", type(exc).__name__)
                    hosted = None
                if hosted is not None:
                    images[index] = hosted
            out.append(reply)
        return out, images

    async def _reply(self, address: Address, reply_token: str, replies: Sequence[Reply]) -> None:
        linked, images = await self._linked(address, replies)
        messages = to_line_messages(linked, images=images)
        if not messages or self._api is None:
            return
        try:
            await self._api.reply_message(
                ReplyMessageRequest(replyToken=reply_token, messages=messages),
                _request_timeout=self._request_timeout,
            )
        except ApiException as exc:
            # The token is single-use and expires; a conversation answer is never pushed instead.
            log.warning("line reply refused: status=%s", exc.status)
            self._metrics.channel_errors.labels(CHANNEL).inc()
        except (aiohttp.ClientError, TimeoutError) as exc:
            log.warning("line reply failed: %s", type(exc).__name__)
            self._metrics.channel_errors.labels(CHANNEL).inc()

    # --- pushes -----------------------------------------------------------------------------

    def parts(self, replies: list[Reply]) -> list[list[Reply]]:
        # One request per reminder: pushes count against the monthly quota, and its retry
        # key makes a retry of the whole count once, so there is nothing half sent to resume.
        return [replies] if replies else []

    async def push(self, external_id: str, replies: list[Reply], *, idempotency_key: str) -> None:
        """One push request (≤5 messages) carrying the reminder; a retry reuses the same key."""
        if self._api is None:
            raise RetryLater("line channel is not running")
        linked, images = await self._linked(Address(CHANNEL, external_id), replies)
        messages = to_line_messages(linked, quick_reply=False, images=images)
        if not messages:
            return
        await self._push_pace.acquire()
        try:
            await self._api.push_message(
                PushMessageRequest(to=external_id, messages=messages),
                x_line_retry_key=retry_key(idempotency_key),
                _request_timeout=self._request_timeout,
            )
        except ApiException as exc:
            if _is_monthly_limit(exc):
                self._note_quota_used_up()
                # Not a fault of the row: it waits for the quota (a new month, a bigger plan).
                raise RetryLater("line monthly quota used up", QUOTA_USED_UP_WAIT) from None
            _raise_for_push(exc)
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise RetryLater(f"line push failed: {type(exc).__name__}") from None
        self._quota_used_up = False

    # --- the monthly quota ------------------------------------------------------------------

    async def has_room(self, priority: Priority) -> bool:
        """Whether a push of ``priority`` should go out: optional ones not when quota runs low.

        A follow-up always tries (a used-up quota makes it wait, see ``push``). When the
        quota cannot be read, nothing is held back: LINE itself is the last word.
        """
        if priority is Priority.ESSENTIAL:
            return True
        if self._quota_used_up:
            return False
        quota = await self.quota()
        return quota is None or not quota.low(self._quota_reserve)

    async def quota(self) -> Quota | None:
        """This month's quota and use, read from LINE at most every few minutes."""
        async with self._quota_lock:
            now = time.monotonic()
            if self._quota_read_at is not None and now - self._quota_read_at < QUOTA_CACHE_SECONDS:
                return self._quota
            self._quota_read_at = now
            if self._api is None:
                return self._quota
            try:
                limit = await self._api.get_message_quota(_request_timeout=self._request_timeout)
                usage = await self._api.get_message_quota_consumption(
                    _request_timeout=self._request_timeout
                )
            except (ApiException, aiohttp.ClientError, TimeoutError, ValueError) as exc:
                log.warning("line: could not read the message quota: %s", type(exc).__name__)
                return self._quota
            limited = str(limit.type.value if limit.type else "") == "limited"
            self._quota = Quota(
                limit=int(limit.value or 0) if limited else None,
                used=int(usage.total_usage or 0),
            )
            return self._quota

    def _note_quota_used_up(self) -> None:
        self._metrics.line_quota_exhausted.inc()
        if not self._quota_used_up:
            log.error("line push refused: the monthly message quota is used up")
        self._quota_used_up = True


def _retry_after(exc: ApiException) -> float | None:
    headers = exc.headers or {}
    value = headers.get("Retry-After")
    try:
        return float(value) if value is not None else None
    except ValueError:
        return None


def _is_monthly_limit(exc: ApiException) -> bool:
    if exc.status != 429:
        return False
    body = exc.body
    text = body.decode("utf-8", "replace") if isinstance(body, bytes) else str(body or "")
    return _MONTHLY_LIMIT in text.lower()


def _raise_for_push(exc: ApiException) -> None:
    status = exc.status or 0
    if status == 409:
        # The same retry key was accepted before: the reminder is already on its way.
        log.info("line push already accepted")
        return
    if status == 429:
        raise RetryLater("line push rate limited", retry_after=_retry_after(exc)) from None
    if status == 0 or status >= 500:
        raise RetryLater(f"line push failed: status={status}") from None
    if status in (401, 403):
        # A revoked token or an account not allowed to push is the operator's to fix, not
        # the user's doing (a user who blocked the bot is told by an unfollow event): the
        # reminder waits for the fix like it waits out a 500.
        log.error("line push refused: the channel may not push (status=%s)", status)
        raise RetryLater(f"line push unauthorized: status={status}") from None
    if status == 404:
        raise RecipientGone(f"line push refused: status={status}") from None
    raise PermanentFailure(f"line push refused: status={status}") from None
