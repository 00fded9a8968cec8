"""A fake Telegram Bot API on 127.0.0.1, strict where Telegram is strict.

It serves ``/bot<token>/<method>`` as api.telegram.org does, for the real python-telegram-bot
to talk to through ``TELEGRAM_BASE_URL``. It records every call, keeps each chat's messages,
queues user updates for ``getUpdates`` (long polling, offsets confirm) or posts them to the
webhook set with ``setWebhook`` (with the secret header), checks the limits Renraku must keep
(4096-character texts, 64-byte callback data, 1-256-character copy texts, HTML that parses),
and fails the next calls of a method on request (429 with retry_after, 403 blocked, 5xx).

Run it alone for a manual try: ``python -m tests.fakes.telegram_api --port 8081``, point
``TELEGRAM_BASE_URL`` at ``http://127.0.0.1:8081/bot`` and drive a user through its control
routes (``python -m tests.fakes.telegram_api say --port 8081 --user 1001 /start``,
``... press --port 8081 --user 1001 今日``, ``... show --port 8081 --user 1001``).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import html
import json
import re
import secrets
import sys
import time
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from html.parser import HTMLParser
from typing import Any

import aiohttp
from aiohttp import web

# Shaped like a real token: the bot id, a colon, 35 characters.
DEFAULT_TOKEN = "123456789:AAF" + "q8Z2vX7LrT0bN5cY1mK4hJ9wE3dS6gUp"
BOT_USERNAME = "renraku_test_bot"
MAX_TEXT = 4096
MAX_CAPTION = 1024
MAX_CALLBACK_DATA = 64
MAX_COPY_TEXT = 256
HTML_TAGS = {
    "b", "strong", "i", "em", "u", "ins", "s", "strike", "del", "span", "tg-spoiler",
    "a", "code", "pre", "blockquote", "tg-emoji",
}  # fmt: skip
# Parameters PTB sends JSON-encoded inside form fields.
JSON_PARAMS = {
    "chat_id", "message_id", "offset", "limit", "timeout", "reply_markup", "allowed_updates",
    "commands", "scope", "drop_pending_updates", "max_connections", "link_preview_options",
    "show_alert", "cache_time", "entities", "disable_notification", "protect_content",
}  # fmt: skip


def utf16_len(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


class ApiError(Exception):
    """Answered as Telegram answers a failed call: ok false, error_code, description."""

    def __init__(self, status: int, description: str, retry_after: int | None = None) -> None:
        super().__init__(description)
        self.status, self.description, self.retry_after = status, description, retry_after

    def response(self) -> web.Response:
        body: dict[str, Any] = {
            "ok": False,
            "error_code": self.status,
            "description": self.description,
        }
        if self.retry_after is not None:
            body["parameters"] = {"retry_after": self.retry_after}
        return web.json_response(body, status=self.status)


def too_many_requests(retry_after: int = 1) -> ApiError:
    return ApiError(429, f"Too Many Requests: retry after {retry_after}", retry_after)


def blocked() -> ApiError:
    return ApiError(403, "Forbidden: bot was blocked by the user")


class _HtmlText(HTMLParser):
    """Telegram's HTML parse mode: only its tags, properly nested; yields the visible text."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.open: list[str] = []
        self.problem: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag not in HTML_TAGS:
            self.problem = f'Unsupported start tag "{tag}"'
        self.open.append(tag)

    def handle_endtag(self, tag: str) -> None:
        if not self.open or self.open.pop() != tag:
            self.problem = f'Unexpected end tag "{tag}"'

    def handle_data(self, data: str) -> None:
        self.parts.append(data)


def visible_text(text: str, parse_mode: str | None) -> str:
    if parse_mode is None:
        return text
    if parse_mode.upper() != "HTML":
        raise ApiError(400, "Bad Request: unsupported parse_mode in this fake")
    if re.search(r"&(?![a-zA-Z]+;|#\d+;|#x[0-9a-fA-F]+;)", text):
        raise ApiError(400, "Bad Request: can't parse entities: unescaped ampersand")
    parser = _HtmlText()
    parser.feed(text)
    parser.close()
    if parser.problem or parser.open:
        problem = parser.problem or "unclosed tag"
        raise ApiError(400, f"Bad Request: can't parse entities: {problem}")
    return "".join(parser.parts)


def check_markup(markup: Any) -> None:
    if markup is None:
        return
    rows = markup.get("inline_keyboard") if isinstance(markup, dict) else None
    if not isinstance(rows, list):
        raise ApiError(400, "Bad Request: can't parse reply keyboard markup JSON object")
    for row in rows:
        for button in row:
            if not button.get("text"):
                raise ApiError(
                    400, "Bad Request: text buttons are unallowed in the inline keyboard"
                )
            if "callback_data" in button:
                data = button["callback_data"]
                if not 1 <= len(data.encode()) <= MAX_CALLBACK_DATA:
                    raise ApiError(400, "Bad Request: BUTTON_DATA_INVALID")
            elif "copy_text" in button:
                copied = button["copy_text"].get("text", "")
                if not 1 <= utf16_len(copied) <= MAX_COPY_TEXT:
                    raise ApiError(400, "Bad Request: COPY_TEXT_INVALID")
            elif "url" not in button:
                raise ApiError(400, "Bad Request: inline keyboard button without an action")


@dataclass
class FakeUser:
    id: int
    first_name: str = "Applicant"
    language_code: str | None = "ja"
    username: str | None = None

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {"id": self.id, "is_bot": False, "first_name": self.first_name}
        if self.language_code:
            data["language_code"] = self.language_code
        if self.username:
            data["username"] = self.username
        return data

    def chat(self) -> dict[str, Any]:
        return {"id": self.id, "first_name": self.first_name, "type": "private"}


@dataclass
class Call:
    method: str
    params: dict[str, Any]
    files: dict[str, tuple[str, bytes]] = field(default_factory=dict)
    status: int = 200
    # When the call arrived, on the monotonic clock: what pacing and retry tests measure.
    at: float = field(default_factory=time.monotonic)


@dataclass
class Sent:
    """A message the bot sent, as the chat now shows it."""

    chat_id: int
    message_id: int
    text: str
    raw: str
    parse_mode: str | None
    reply_markup: dict[str, Any] | None
    document: tuple[str, bytes] | None = None
    photo: bytes | None = None

    def buttons(self) -> list[dict[str, Any]]:
        rows = (self.reply_markup or {}).get("inline_keyboard", [])
        return [b for row in rows for b in row]

    def callback_buttons(self) -> list[dict[str, Any]]:
        return [b for b in self.buttons() if "callback_data" in b]

    def copy_buttons(self) -> list[dict[str, Any]]:
        return [b for b in self.buttons() if "copy_text" in b]


@dataclass
class Webhook:
    url: str
    secret: str | None
    allowed_updates: list[str] | None


class FakeTelegramAPI:
    """The Bot API for one bot, on 127.0.0.1 and a port of its own."""

    def __init__(
        self,
        token: str = DEFAULT_TOKEN,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        max_poll_seconds: float = 2.0,
        webhook_retry_seconds: float = 0.2,
    ) -> None:
        self.token = token
        self.bot_id = int(token.split(":", 1)[0])
        self.host, self.port = host, port
        self.max_poll_seconds = max_poll_seconds
        self.webhook_retry_seconds = webhook_retry_seconds
        self.calls: list[Call] = []
        self.chats: dict[int, list[Sent]] = defaultdict(list)
        self.commands: dict[str | None, list[dict[str, str]]] = {}
        self.webhook: Webhook | None = None
        self.webhook_deliveries: list[int] = []
        # (update_id, status) of every delivery the webhook did not answer with 200.
        self.webhook_refusals: list[tuple[int, int]] = []
        self.answered: dict[str, dict[str, Any]] = {}
        self.blocked_users: set[int] = set()
        self._known_chats: set[int] = set()
        self._updates: list[dict[str, Any]] = []
        self._next_update_id = 700_000_001
        self._next_message_id: dict[int, int] = defaultdict(lambda: 1)
        self._open_queries: set[str] = set()
        self._failures: dict[str, list[ApiError | None]] = defaultdict(list)
        self._changed = asyncio.Event()
        self._closing = False
        # Called with the offset of each getUpdates that confirms something, before it does: a
        # test can kill the bot at the exact moment a batch is confirmed.
        self.on_confirm: Callable[[int], None] | None = None
        self._runner: web.AppRunner | None = None
        self._delivery: asyncio.Task[None] | None = None
        self._session: aiohttp.ClientSession | None = None

    # --- life ----------------------------------------------------------------------------

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}/bot"

    def app(self) -> web.Application:
        app = web.Application(client_max_size=60 * 1024 * 1024)
        app.router.add_route("*", "/bot{token}/{method}", self._serve)
        app.router.add_post("/_fake/users/{user_id}/say", self._control_say)
        app.router.add_post("/_fake/users/{user_id}/press", self._control_press)
        app.router.add_get("/_fake/users/{user_id}/chat", self._control_chat)
        app.router.add_get("/_fake/calls", self._control_calls)
        return app

    async def start(self) -> None:
        self._runner = web.AppRunner(self.app(), access_log=None, shutdown_timeout=0.1)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, self.port)
        await site.start()
        server = site._server
        sockets = getattr(server, "sockets", None) or []
        if sockets:
            self.port = sockets[0].getsockname()[1]
        self._session = aiohttp.ClientSession()
        self._delivery = asyncio.create_task(self._deliver_to_webhook())

    async def stop(self) -> None:
        # Long polls still waiting answer at once, as Telegram's would when it goes away.
        self._closing = True
        self._wake()
        if self._delivery is not None:
            self._delivery.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._delivery
        if self._session is not None:
            await self._session.close()
        if self._runner is not None:
            await self._runner.cleanup()

    # --- what tests do -------------------------------------------------------------------

    def fail(
        self, method: str, status: int, description: str, *, retry_after: int | None = None,
        times: int = 1, after: int = 0,
    ) -> None:  # fmt: skip
        """The next ``times`` calls of ``method`` fail this way, once ``after`` calls succeed."""
        queue = self._failures[method]
        queue.extend([None] * after)
        queue.extend(ApiError(status, description, retry_after) for _ in range(times))

    def say(self, user: FakeUser, text: str) -> int:
        """The user sends a text (a command when it starts with /); returns the update id."""
        self._known_chats.add(user.id)
        message: dict[str, Any] = {
            "message_id": self._message_id(user.id),
            "from": user.to_json(),
            "chat": user.chat(),
            "date": int(time.time()),
            "text": text,
        }
        if text.startswith("/"):
            command = text.split()[0]
            message["entities"] = [
                {"type": "bot_command", "offset": 0, "length": utf16_len(command)}
            ]
        return self.push_update({"message": message})

    def press(
        self, user: FakeUser, data: str, *, message: Sent | None = None, chat_id: int | None = None
    ) -> int:
        """The user taps a button carrying ``data`` under ``message`` (their latest by default).

        ``data`` need not come from a real button: a modified client can send any callback
        data, and that is exactly what the replay tests do.
        """
        target = message or self.last_message(chat_id if chat_id is not None else user.id)
        query_id = secrets.token_hex(8)
        self._open_queries.add(query_id)
        return self.push_update(
            {
                "callback_query": {
                    "id": query_id,
                    "from": user.to_json(),
                    "message": self._message_json(target),
                    "chat_instance": f"ci-{target.chat_id}",
                    "data": data,
                }
            }
        )

    def press_label(self, user: FakeUser, label: str) -> int:
        """Tap the newest button with this label in the user's chat."""
        message, button = self.find_button(user.id, label)
        return self.press(user, button["callback_data"], message=message)

    def block(self, user: FakeUser) -> int:
        """The user blocks the bot: sends fail with 403 and a my_chat_member update arrives."""
        self.blocked_users.add(user.id)
        bot = {"id": self.bot_id, "is_bot": True, "first_name": "Renraku"}
        return self.push_update(
            {
                "my_chat_member": {
                    "chat": user.chat(),
                    "from": user.to_json(),
                    "date": int(time.time()),
                    "old_chat_member": {"user": bot, "status": "member"},
                    "new_chat_member": {"user": bot, "status": "kicked", "until_date": 0},
                }
            }
        )

    def push_update(self, body: dict[str, Any], *, update_id: int | None = None) -> int:
        """Queue a raw update; ``update_id`` may repeat an old one (a redelivery)."""
        if update_id is None:
            update_id = self._next_update_id
            self._next_update_id += 1
        self._updates.append({"update_id": update_id, **body})
        self._wake()
        return update_id

    @property
    def pending_updates(self) -> int:
        return len(self._updates)

    def messages(self, chat_id: int) -> list[Sent]:
        return list(self.chats.get(chat_id, []))

    def last_message(self, chat_id: int) -> Sent:
        sent = self.chats.get(chat_id)
        if not sent:
            raise AssertionError(f"the bot has sent nothing to chat {chat_id}")
        return sent[-1]

    def find_button(self, chat_id: int, label: str) -> tuple[Sent, dict[str, Any]]:
        for message in reversed(self.chats.get(chat_id, [])):
            for button in message.callback_buttons():
                if button["text"] == label:
                    return message, button
        labels = [b["text"] for m in self.chats.get(chat_id, [])[-5:] for b in m.buttons()]
        raise AssertionError(f"no button {label!r} in chat {chat_id}; recent buttons: {labels}")

    def calls_to(self, method: str) -> list[Call]:
        return [c for c in self.calls if c.method == method]

    async def wait_for(self, condition: Callable[[], bool], timeout: float = 5.0) -> None:
        deadline = asyncio.get_running_loop().time() + timeout
        while not condition():
            if asyncio.get_running_loop().time() > deadline:
                raise AssertionError("timed out waiting on the fake Bot API")
            await asyncio.sleep(0.01)

    # --- the Bot API ---------------------------------------------------------------------

    async def _serve(self, request: web.Request) -> web.StreamResponse:
        method = request.match_info["method"]
        if request.match_info["token"] != self.token:
            return ApiError(401, "Unauthorized").response()
        params, files = await self._params(request)
        call = Call(method, params, files)
        self.calls.append(call)
        try:
            failures = self._failures.get(method)
            failure = failures.pop(0) if failures else None
            if failure is not None:
                raise failure
            handler = getattr(self, f"_api_{method}", None)
            if handler is None:
                raise ApiError(404, "Not Found")
            result = await handler(params, files)
        except ApiError as exc:
            call.status = exc.status
            return exc.response()
        return web.json_response({"ok": True, "result": result})

    async def _params(
        self, request: web.Request
    ) -> tuple[dict[str, Any], dict[str, tuple[str, bytes]]]:
        raw: dict[str, Any] = dict(request.query)
        files: dict[str, tuple[str, bytes]] = {}
        if request.content_type == "application/json":
            raw.update(await request.json())
            return raw, files
        if request.body_exists:
            form = await request.post()
            for key, value in form.items():
                if isinstance(value, web.FileField):
                    files[key] = (value.filename, value.file.read())
                else:
                    raw[key] = value
        params: dict[str, Any] = {}
        for key, value in raw.items():
            if key in JSON_PARAMS and isinstance(value, str):
                try:
                    params[key] = json.loads(value)
                except ValueError:
                    params[key] = value
            else:
                params[key] = value
        return params, files

    def _bot_json(self) -> dict[str, Any]:
        return {
            "id": self.bot_id,
            "is_bot": True,
            "first_name": "Renraku",
            "username": BOT_USERNAME,
        }

    async def _api_getMe(self, params: dict[str, Any], _files: Any) -> dict[str, Any]:
        return {
            **self._bot_json(),
            "can_join_groups": False,
            "can_read_all_group_messages": False,
            "supports_inline_queries": False,
        }

    async def _api_getUpdates(self, params: dict[str, Any], _files: Any) -> list[dict[str, Any]]:
        if self.webhook is not None:
            raise ApiError(
                409,
                "Conflict: can't use getUpdates method while webhook is active; "
                "use deleteWebhook to delete the webhook first",
            )
        offset = params.get("offset")
        if isinstance(offset, int):
            if self.on_confirm is not None and any(u["update_id"] < offset for u in self._updates):
                self.on_confirm(offset)
            # An offset confirms every update below it, for good.
            self._updates = [u for u in self._updates if u["update_id"] >= offset]
        limit = int(params.get("limit") or 100)
        timeout = min(float(params.get("timeout") or 0), self.max_poll_seconds)
        deadline = asyncio.get_running_loop().time() + timeout
        while not self._updates and not self._closing:
            left = deadline - asyncio.get_running_loop().time()
            if left <= 0:
                break
            changed = self._changed
            # asyncio.timeout, not wait_for: on 3.11 wait_for can swallow a cancellation that
            # meets a wake-up, and a loop around it then never ends.
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(left):
                    await changed.wait()
        return self._updates[:limit]

    async def _api_deleteWebhook(self, params: dict[str, Any], _files: Any) -> bool:
        self.webhook = None
        if params.get("drop_pending_updates"):
            self._updates.clear()
        return True

    async def _api_setWebhook(self, params: dict[str, Any], _files: Any) -> bool:
        url = params.get("url") or ""
        if not url.startswith(("http://", "https://")):
            raise ApiError(400, "Bad Request: bad webhook: An HTTPS URL must be provided")
        self.webhook = Webhook(url, params.get("secret_token"), params.get("allowed_updates"))
        if params.get("drop_pending_updates"):
            self._updates.clear()
        self._wake()
        return True

    async def _api_getWebhookInfo(self, params: dict[str, Any], _files: Any) -> dict[str, Any]:
        return {
            "url": self.webhook.url if self.webhook else "",
            "has_custom_certificate": False,
            "pending_update_count": len(self._updates),
        }

    async def _api_setMyCommands(self, params: dict[str, Any], _files: Any) -> bool:
        commands = params.get("commands")
        if not isinstance(commands, list) or not commands:
            raise ApiError(400, "Bad Request: commands must be a non-empty list")
        for command in commands:
            name, description = command.get("command", ""), command.get("description", "")
            if not re.fullmatch(r"[a-z0-9_]{1,32}", name):
                raise ApiError(400, "Bad Request: BOT_COMMAND_INVALID")
            if not 1 <= len(description) <= 256:
                raise ApiError(400, "Bad Request: BOT_COMMAND_DESCRIPTION_INVALID")
        self.commands[params.get("language_code") or None] = commands
        return True

    async def _api_sendChatAction(self, params: dict[str, Any], _files: Any) -> bool:
        self._chat_for_sending(params)
        return True

    async def _api_sendMessage(self, params: dict[str, Any], _files: Any) -> dict[str, Any]:
        chat_id = self._chat_for_sending(params)
        raw = str(params.get("text") or "")
        text = visible_text(raw, params.get("parse_mode"))
        if not text.strip():
            raise ApiError(400, "Bad Request: message text is empty")
        if utf16_len(text) > MAX_TEXT:
            raise ApiError(400, "Bad Request: message is too long")
        markup = params.get("reply_markup")
        check_markup(markup)
        sent = Sent(chat_id, self._message_id(chat_id), text, raw, params.get("parse_mode"), markup)
        self.chats[chat_id].append(sent)
        return self._message_json(sent)

    async def _api_sendDocument(
        self, params: dict[str, Any], files: dict[str, tuple[str, bytes]]
    ) -> dict[str, Any]:
        chat_id = self._chat_for_sending(params)
        if "document" not in files:
            raise ApiError(400, "Bad Request: there is no document in the request")
        return self._file_with_caption(chat_id, params, document=files["document"])

    async def _api_sendPhoto(
        self, params: dict[str, Any], files: dict[str, tuple[str, bytes]]
    ) -> dict[str, Any]:
        chat_id = self._chat_for_sending(params)
        if "photo" not in files:
            raise ApiError(400, "Bad Request: there is no photo in the request")
        _name, content = files["photo"]
        if len(content) > 10 * 1024 * 1024:
            raise ApiError(400, "Bad Request: PHOTO_INVALID_DIMENSIONS")
        return self._file_with_caption(chat_id, params, photo=content)

    def _file_with_caption(
        self, chat_id: int, params: dict[str, Any], **attached: Any
    ) -> dict[str, Any]:
        """A document or photo message: its caption and keyboard checked as Telegram does."""
        raw = str(params.get("caption") or "")
        caption = visible_text(raw, params.get("parse_mode")) if raw else ""
        if utf16_len(caption) > MAX_CAPTION:
            raise ApiError(400, "Bad Request: message caption is too long")
        markup = params.get("reply_markup")
        check_markup(markup)
        sent = Sent(
            chat_id,
            self._message_id(chat_id),
            caption,
            raw,
            params.get("parse_mode"),
            markup,
            **attached,
        )
        self.chats[chat_id].append(sent)
        return self._message_json(sent)

    async def _api_editMessageText(self, params: dict[str, Any], _files: Any) -> dict[str, Any]:
        sent = self._stored(params)
        raw = str(params.get("text") or "")
        text = visible_text(raw, params.get("parse_mode"))
        markup = params.get("reply_markup")
        check_markup(markup)
        if raw == sent.raw and markup == sent.reply_markup:
            raise ApiError(400, "Bad Request: message is not modified")
        sent.text, sent.raw, sent.reply_markup = text, raw, markup
        return self._message_json(sent)

    async def _api_editMessageReplyMarkup(
        self, params: dict[str, Any], _files: Any
    ) -> dict[str, Any]:
        sent = self._stored(params)
        markup = params.get("reply_markup")
        check_markup(markup)
        if markup == sent.reply_markup:
            raise ApiError(400, "Bad Request: message is not modified")
        sent.reply_markup = markup
        return self._message_json(sent)

    async def _api_answerCallbackQuery(self, params: dict[str, Any], _files: Any) -> bool:
        query_id = str(params.get("callback_query_id") or "")
        if query_id not in self._open_queries:
            raise ApiError(400, "Bad Request: query is too old and response timeout expired")
        self._open_queries.discard(query_id)
        self.answered[query_id] = params
        return True

    # --- helpers -------------------------------------------------------------------------

    def _chat_for_sending(self, params: dict[str, Any]) -> int:
        chat_id = params.get("chat_id")
        if not isinstance(chat_id, int):
            raise ApiError(400, "Bad Request: chat not found")
        if chat_id in self.blocked_users:
            raise blocked()
        if chat_id not in self._known_chats:
            raise ApiError(403, "Forbidden: bot can't initiate conversation with a user")
        return chat_id

    def _stored(self, params: dict[str, Any]) -> Sent:
        chat_id, message_id = params.get("chat_id"), params.get("message_id")
        for sent in self.chats.get(chat_id if isinstance(chat_id, int) else 0, []):
            if sent.message_id == message_id:
                return sent
        raise ApiError(400, "Bad Request: message to edit not found")

    def _message_id(self, chat_id: int) -> int:
        value = self._next_message_id[chat_id]
        self._next_message_id[chat_id] = value + 1
        return value

    def _message_json(self, sent: Sent) -> dict[str, Any]:
        data: dict[str, Any] = {
            "message_id": sent.message_id,
            "from": self._bot_json(),
            "chat": {"id": sent.chat_id, "first_name": "Applicant", "type": "private"},
            "date": int(time.time()),
        }
        if sent.document is not None:
            name, content = sent.document
            data["document"] = {
                "file_id": f"doc-{sent.chat_id}-{sent.message_id}",
                "file_unique_id": f"u{sent.message_id}",
                "file_name": name,
                "file_size": len(content),
            }
            if sent.text:
                data["caption"] = sent.text
        elif sent.photo is not None:
            data["photo"] = [
                {
                    "file_id": f"photo-{sent.chat_id}-{sent.message_id}",
                    "file_unique_id": f"p{sent.message_id}",
                    "width": 800,
                    "height": 500,
                    "file_size": len(sent.photo),
                }
            ]
            if sent.text:
                data["caption"] = sent.text
        else:
            data["text"] = sent.text
        if sent.reply_markup:
            data["reply_markup"] = sent.reply_markup
        return data

    def _wake(self) -> None:
        # Waiters hold the old event; a fresh one is ready for the next round.
        changed, self._changed = self._changed, asyncio.Event()
        changed.set()

    async def _deliver_to_webhook(self) -> None:
        """Post queued updates to the webhook one at a time, in order, retrying failures."""
        while not self._closing:
            webhook = self.webhook
            if webhook is None or not self._updates or self._session is None:
                changed = self._changed
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(1.0):
                        await changed.wait()
                continue
            update = self._updates[0]
            headers = {"Content-Type": "application/json"}
            if webhook.secret:
                headers["X-Telegram-Bot-Api-Secret-Token"] = webhook.secret
            try:
                async with self._session.post(
                    webhook.url, data=json.dumps(update), headers=headers
                ) as response:
                    delivered = response.status == 200
                    if not delivered:
                        self.webhook_refusals.append((update["update_id"], response.status))
            except aiohttp.ClientError:
                delivered = False
            if delivered:
                self.webhook_deliveries.append(update["update_id"])
                if self._updates and self._updates[0] is update:
                    self._updates.pop(0)
            else:
                await asyncio.sleep(self.webhook_retry_seconds)

    # --- control routes for a manual run -------------------------------------------------

    def _user(self, request: web.Request, body: dict[str, Any]) -> FakeUser:
        return FakeUser(
            int(request.match_info["user_id"]),
            first_name=str(body.get("first_name", "Applicant")),
            language_code=body.get("language_code", "ja"),
        )

    async def _control_say(self, request: web.Request) -> web.Response:
        body = await request.json()
        update_id = self.say(self._user(request, body), str(body["text"]))
        return web.json_response({"update_id": update_id})

    async def _control_press(self, request: web.Request) -> web.Response:
        body = await request.json()
        user = self._user(request, body)
        try:
            if "label" in body:
                update_id = self.press_label(user, str(body["label"]))
            else:
                update_id = self.press(user, str(body["data"]))
        except AssertionError as exc:
            return web.json_response({"error": str(exc)}, status=404)
        return web.json_response({"update_id": update_id})

    async def _control_chat(self, request: web.Request) -> web.Response:
        chat_id = int(request.match_info["user_id"])
        return web.json_response(
            [
                {
                    "message_id": m.message_id,
                    "text": m.text,
                    "buttons": [
                        b["text"] + (" [copy]" if "copy_text" in b else "") for b in m.buttons()
                    ],
                    "document": m.document[0] if m.document else None,
                }
                for m in self.chats.get(chat_id, [])
            ]
        )

    async def _control_calls(self, request: web.Request) -> web.Response:
        return web.json_response([{"method": c.method, "status": c.status} for c in self.calls])


# --- command line ----------------------------------------------------------------------------


async def _serve_forever(port: int, token: str) -> None:
    fake = FakeTelegramAPI(token, port=port, max_poll_seconds=30.0)
    await fake.start()
    print(f"fake Bot API on {fake.base_url} (token {token})", flush=True)
    try:
        await asyncio.Event().wait()
    finally:
        await fake.stop()


async def _drive(args: argparse.Namespace) -> int:
    root = f"http://127.0.0.1:{args.port}/_fake/users/{args.user}"
    async with aiohttp.ClientSession() as session:
        before = len(await (await session.get(f"{root}/chat")).json())
        if args.command in ("say", "press"):
            body: dict[str, Any] = {"language_code": args.language}
            if args.command == "say":
                body["text"] = " ".join(args.words)
            else:
                body["label"] = " ".join(args.words)
            response = await session.post(f"{root}/{args.command}", json=body)
            if response.status != 200:
                print((await response.json())["error"], file=sys.stderr)
                return 1
            # The bot answers in its own time; wait until the chat goes quiet.
            seen, quiet = before, 0
            while quiet < 6:
                await asyncio.sleep(0.1)
                count = len(await (await session.get(f"{root}/chat")).json())
                quiet = quiet + 1 if count == seen and count > before else 0
                seen = count
        chat = await (await session.get(f"{root}/chat")).json()
        shown = chat[before:] if args.command != "show" else chat[-args.last :]
        for message in shown:
            print(html.unescape(message["text"]))
            for button in message["buttons"]:
                print(f"  [{button}]")
            if message["document"]:
                print(f"  <file {message['document']}>")
            print()
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.fakes.telegram_api")
    parser.add_argument("--port", type=int, default=8081)
    parser.add_argument("--token", default=DEFAULT_TOKEN)
    sub = parser.add_subparsers(dest="command")
    for name in ("say", "press", "show"):
        command = sub.add_parser(name)
        command.add_argument("--port", type=int, default=8081)
        command.add_argument("--user", type=int, default=1001)
        command.add_argument("--language", default="ja")
        command.add_argument("--last", type=int, default=3)
        command.add_argument("words", nargs="*")
    args = parser.parse_args(argv)
    if args.command is None:
        with contextlib.suppress(KeyboardInterrupt):
            asyncio.run(_serve_forever(args.port, args.token))
        return 0
    return asyncio.run(_drive(args))


if __name__ == "__main__":
    sys.exit(main())
