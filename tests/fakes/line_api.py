"""A fake LINE Messaging API on 127.0.0.1, strict where LINE is strict.

It serves what Renraku calls (reply, push, rich menus, and the image upload that LINE keeps
on its data host), checks the bearer token and the message limits, issues single-use reply
tokens for the webhook events it builds, and answers a repeated ``X-Line-Retry-Key`` with 409.
It also builds signed webhook bodies and posts them to the app under test.

Run it alone for a manual try: ``python -m tests.fakes.line_api --port 8090``; then
``python -m tests.fakes.line_api send --app http://127.0.0.1:8080 --user U1 text 一覧``
delivers one signed event and prints what the bot replied.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import hashlib
import hmac
import json
import secrets
import sys
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import aiohttp
from aiohttp import web

DEFAULT_SECRET = "fake-line-channel-secret"
DEFAULT_TOKEN = "fake-line-access-token"
REPLY_TOKEN_LIFETIME = 60.0
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def utf16_len(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def sign(body: bytes, secret: str) -> str:
    """X-Line-Signature: base64 of the HMAC-SHA256 of the raw body under the channel secret."""
    return base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest()).decode()


@dataclass
class SentReply:
    reply_token: str
    user_id: str
    messages: list[dict[str, Any]]


@dataclass
class PushAttempt:
    to: str
    messages: list[dict[str, Any]]
    retry_key: str | None
    status: int
    # When the request arrived, on the monotonic clock: what the pacing tests measure.
    at: float = field(default_factory=time.monotonic)


@dataclass
class RichMenu:
    menu_id: str
    body: dict[str, Any]
    image: bytes | None = None


class Rejected(Exception):
    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.message = message
        self.status = status


# --- message validation (the limits of the Messaging API reference) --------------------------


def _check(condition: bool, message: str) -> None:
    if not condition:
        raise Rejected(message)


def _check_action(action: dict[str, Any], label_limit: int, where: str) -> None:
    kind = action.get("type")
    label = action.get("label")
    if label is not None:
        _check(isinstance(label, str) and 1 <= len(label) <= label_limit, f"{where}: label")
    if kind == "postback":
        data = action.get("data", "")
        _check(isinstance(data, str) and len(data) <= 300, f"{where}: postback data > 300")
        display = action.get("displayText")
        if display is not None:
            _check(1 <= len(display) <= 300, f"{where}: displayText")
    elif kind == "clipboard":
        text = action.get("clipboardText", "")
        _check(1 <= utf16_len(text) <= 1000, f"{where}: clipboardText must be 1-1000 characters")
    elif kind == "message":
        _check(1 <= len(action.get("text", "")) <= 300, f"{where}: message text")
    else:
        raise Rejected(f"{where}: unsupported action type {kind!r}")


def _walk_flex(node: Any, where: str) -> None:
    if isinstance(node, dict):
        if node.get("type") == "button":
            _check_action(node.get("action") or {}, 40, where)
        if node.get("type") == "text":
            _check(bool(node.get("text")), f"{where}: empty flex text")
        if node.get("type") == "box":
            _check(isinstance(node.get("contents"), list), f"{where}: box without contents")
        for value in node.values():
            _walk_flex(value, where)
    elif isinstance(node, list):
        for value in node:
            _walk_flex(value, where)


def validate_messages(messages: Any) -> None:
    _check(isinstance(messages, list) and 1 <= len(messages) <= 5, "messages: 1 to 5 objects")
    for index, message in enumerate(messages):
        where = f"messages[{index}]"
        kind = message.get("type")
        if kind == "text":
            text = message.get("text", "")
            _check(1 <= utf16_len(text) <= 5000, f"{where}.text must be 1-5000 characters")
        elif kind == "flex":
            _check(1 <= len(message.get("altText", "")) <= 1500, f"{where}.altText")
            contents = message.get("contents") or {}
            if contents.get("type") == "carousel":
                _check(1 <= len(contents.get("contents", [])) <= 12, f"{where}: carousel 1-12")
            else:
                _check(contents.get("type") == "bubble", f"{where}: flex needs a bubble")
            size = len(json.dumps(contents, ensure_ascii=False).encode())
            _check(size <= 50_000, f"{where}: flex message too large")
            _walk_flex(contents, where)
        elif kind == "image":
            # LINE wants https; the fake also takes http so tests can fetch from 127.0.0.1.
            for key in ("originalContentUrl", "previewImageUrl"):
                url = message.get(key, "")
                _check(
                    isinstance(url, str) and url.startswith(("https://", "http://127.0.0.1")),
                    f"{where}.{key} must be an https URL",
                )
                _check(len(url) <= 2000, f"{where}.{key} longer than 2000 characters")
        else:
            raise Rejected(f"{where}: unsupported type {kind!r}")
        quick = message.get("quickReply")
        if quick is not None:
            items = quick.get("items", [])
            _check(1 <= len(items) <= 13, f"{where}.quickReply: 1 to 13 items")
            for item in items:
                _check_action(item.get("action") or {}, 20, f"{where}.quickReply")


def validate_rich_menu(body: dict[str, Any]) -> None:
    size = body.get("size") or {}
    _check(size.get("width") == 2500 and size.get("height") in (843, 1686), "richmenu size")
    _check(1 <= len(body.get("chatBarText", "")) <= 14, "chatBarText 1-14 characters")
    _check(1 <= len(body.get("name", "")) <= 300, "name 1-300 characters")
    areas = body.get("areas") or []
    _check(1 <= len(areas) <= 20, "areas: 1-20")
    for area in areas:
        bounds = area.get("bounds") or {}
        _check(bounds.get("x", -1) >= 0 and bounds.get("width", 0) >= 1, "area bounds")
        _check(bounds["x"] + bounds["width"] <= size["width"], "area outside the menu")
        _check_action(area.get("action") or {}, 20, "area")


def png_size(data: bytes) -> tuple[int, int] | None:
    if not data.startswith(PNG_MAGIC) or len(data) < 24:
        return None
    return int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")


# --- the fake API ---------------------------------------------------------------------------


@dataclass
class _Failure:
    status: int
    headers: dict[str, str] = field(default_factory=dict)


class FakeLineApi:
    """The Messaging API endpoints Renraku uses, recorded for assertions."""

    def __init__(
        self,
        *,
        access_token: str = DEFAULT_TOKEN,
        channel_secret: str = DEFAULT_SECRET,
        verbose: bool = False,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.access_token = access_token
        self.channel_secret = channel_secret
        self.verbose = verbose
        self._clock = clock
        self.replies: list[SentReply] = []
        self.push_attempts: list[PushAttempt] = []
        self.rejections: list[str] = []
        self.rich_menus: dict[str, RichMenu] = {}
        self.default_rich_menu: str | None = None
        self.requests: list[tuple[str, str]] = []
        self._reply_tokens: dict[str, tuple[str, float]] = {}
        self._accepted_retry_keys: dict[str, str] = {}
        self._push_failures: list[_Failure] = []
        # This month's push quota: None is {"type": "none"} (no limit); pushes accepted this
        # month count towards it, and past it a push answers LINE's monthly-limit 429.
        self.quota_limit: int | None = None
        self.quota_used = 0
        self.quota_reads = 0
        self._reply_arrived = asyncio.Condition()
        self._runner: web.AppRunner | None = None
        self.base_url = ""
        self.app = web.Application(middlewares=[self._middleware])
        routes = self.app.router
        routes.add_post("/v2/bot/message/reply", self._reply)
        routes.add_post("/v2/bot/message/push", self._push)
        routes.add_get("/v2/bot/message/quota", self._quota)
        routes.add_get("/v2/bot/message/quota/consumption", self._quota_consumption)
        routes.add_post("/v2/bot/richmenu", self._create_rich_menu)
        routes.add_get("/v2/bot/richmenu/list", self._list_rich_menus)
        routes.add_delete("/v2/bot/richmenu/{menu_id}", self._delete_rich_menu)
        routes.add_post("/v2/bot/richmenu/{menu_id}/content", self._upload_rich_menu_image)
        routes.add_post("/v2/bot/user/all/richmenu/{menu_id}", self._set_default_rich_menu)
        # Test-only controls, so a driver in another process can build events too.
        routes.add_post("/_fake/reply-token", self._issue_reply_token_http)
        routes.add_get("/_fake/replies", self._replies_http)

    # --- life -------------------------------------------------------------------------------

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> str:
        self._runner = web.AppRunner(self.app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, host, port)
        await site.start()
        sockets = getattr(site._server, "sockets", None) or []
        bound = sockets[0].getsockname()[1] if sockets else port
        self.base_url = f"http://{host}:{bound}"
        return self.base_url

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    # --- what the test drives ---------------------------------------------------------------

    def issue_reply_token(self, user_id: str) -> str:
        token = secrets.token_hex(16)
        self._reply_tokens[token] = (user_id, self._clock() + REPLY_TOKEN_LIFETIME)
        return token

    def fail_next_push(self, status: int, **headers: str) -> None:
        """The next push attempt answers ``status`` (429, 500, 403, ...) and is not accepted."""
        self._push_failures.append(
            _Failure(status, {k.replace("_", "-"): v for k, v in headers.items()})
        )

    @property
    def accepted_pushes(self) -> list[PushAttempt]:
        return [p for p in self.push_attempts if p.status == 200]

    def reply_for(self, reply_token: str) -> SentReply | None:
        return next((r for r in self.replies if r.reply_token == reply_token), None)

    async def wait_reply(self, reply_token: str, timeout: float = 10.0) -> SentReply:
        async with self._reply_arrived:
            await asyncio.wait_for(
                self._reply_arrived.wait_for(lambda: self.reply_for(reply_token) is not None),
                timeout,
            )
        found = self.reply_for(reply_token)
        assert found is not None
        return found

    # --- webhook events (each with a fresh reply token where LINE gives one) ----------------

    def event(
        self,
        kind: str,
        user_id: str,
        *,
        event_id: str | None = None,
        redelivery: bool = False,
        reply_token: str | None = None,
        **extra: Any,
    ) -> dict[str, Any]:
        body: dict[str, Any] = {
            "type": kind,
            "mode": "active",
            "timestamp": int(time.time() * 1000),
            "source": {"type": "user", "userId": user_id},
            "webhookEventId": event_id or uuid.uuid4().hex.upper()[:26],
            "deliveryContext": {"isRedelivery": redelivery},
            **extra,
        }
        if kind != "unfollow":
            body["replyToken"] = reply_token or self.issue_reply_token(user_id)
        return body

    def follow(self, user_id: str, **kw: Any) -> dict[str, Any]:
        return self.event("follow", user_id, follow={"isUnblocked": False}, **kw)

    def unfollow(self, user_id: str, **kw: Any) -> dict[str, Any]:
        return self.event("unfollow", user_id, **kw)

    def text(self, user_id: str, text: str, **kw: Any) -> dict[str, Any]:
        message = {
            "type": "text",
            "id": str(secrets.randbelow(10**17)),
            "quoteToken": secrets.token_hex(8),
            "text": text,
        }
        return self.event("message", user_id, message=message, **kw)

    def sticker(self, user_id: str, **kw: Any) -> dict[str, Any]:
        message = {
            "type": "sticker",
            "id": str(secrets.randbelow(10**17)),
            "quoteToken": secrets.token_hex(8),
            "packageId": "446",
            "stickerId": "1988",
            "stickerResourceType": "STATIC",
        }
        return self.event("message", user_id, message=message, **kw)

    def postback(self, user_id: str, data: str, **kw: Any) -> dict[str, Any]:
        return self.event("postback", user_id, postback={"data": data}, **kw)

    # --- plumbing ---------------------------------------------------------------------------

    @web.middleware
    async def _middleware(
        self, request: web.Request, handler: Callable[[web.Request], Any]
    ) -> web.StreamResponse:
        self.requests.append((request.method, request.path))
        if request.path.startswith("/_fake/"):
            response: web.StreamResponse = await handler(request)
            return response
        if request.headers.get("Authorization") != f"Bearer {self.access_token}":
            return web.json_response({"message": "Authentication failed"}, status=401)
        try:
            response = await handler(request)
        except Rejected as exc:
            self.rejections.append(exc.message)
            return web.json_response({"message": exc.message}, status=exc.status)
        return response

    async def _json(self, request: web.Request) -> dict[str, Any]:
        try:
            body = await request.json()
        except ValueError:
            raise Rejected("The request body has 1 error(s)") from None
        _check(isinstance(body, dict), "body must be an object")
        return body  # type: ignore[no-any-return]

    async def _reply(self, request: web.Request) -> web.Response:
        body = await self._json(request)
        token = body.get("replyToken", "")
        issued = self._reply_tokens.pop(token, None)
        if issued is None or issued[1] < self._clock():
            raise Rejected("Invalid reply token")
        validate_messages(body.get("messages"))
        async with self._reply_arrived:
            self.replies.append(SentReply(token, issued[0], body["messages"]))
            self._reply_arrived.notify_all()
        self._show("reply", issued[0], body["messages"])
        return web.json_response({"sentMessages": _sent(body["messages"])})

    async def _push(self, request: web.Request) -> web.Response:
        body = await self._json(request)
        key = request.headers.get("X-Line-Retry-Key")
        messages = body.get("messages")
        attempt = PushAttempt(body.get("to", ""), messages or [], key, 0)
        self.push_attempts.append(attempt)
        if key is not None:
            try:
                uuid.UUID(key)
            except ValueError:
                attempt.status = 400
                raise Rejected("The retry key must be a UUID") from None
            if key in self._accepted_retry_keys:
                attempt.status = 409
                return web.json_response(
                    {"message": "The retry key is already accepted"},
                    status=409,
                    headers={"x-line-accepted-request-id": self._accepted_retry_keys[key]},
                )
        if self._push_failures:
            failure = self._push_failures.pop(0)
            attempt.status = failure.status
            return web.json_response(
                {"message": f"injected {failure.status}"},
                status=failure.status,
                headers=failure.headers,
            )
        try:
            _check(bool(attempt.to), "to is required")
            validate_messages(messages)
        except Rejected:
            attempt.status = 400
            raise
        if self.quota_limit is not None and self.quota_used >= self.quota_limit:
            attempt.status = 429
            return web.json_response(
                {"message": "You have reached your monthly limit."}, status=429
            )
        self.quota_used += 1
        attempt.status = 200
        request_id = str(uuid.uuid4())
        if key is not None:
            self._accepted_retry_keys[key] = request_id
        self._show("push", attempt.to, attempt.messages)
        return web.json_response(
            {"sentMessages": _sent(attempt.messages)}, headers={"x-line-request-id": request_id}
        )

    async def _quota(self, request: web.Request) -> web.Response:
        self.quota_reads += 1
        if self.quota_limit is None:
            return web.json_response({"type": "none"})
        return web.json_response({"type": "limited", "value": self.quota_limit})

    async def _quota_consumption(self, request: web.Request) -> web.Response:
        return web.json_response({"totalUsage": self.quota_used})

    async def _create_rich_menu(self, request: web.Request) -> web.Response:
        body = await self._json(request)
        validate_rich_menu(body)
        menu_id = f"richmenu-{secrets.token_hex(16)}"
        self.rich_menus[menu_id] = RichMenu(menu_id, body)
        return web.json_response({"richMenuId": menu_id})

    async def _list_rich_menus(self, request: web.Request) -> web.Response:
        menus = [
            {"richMenuId": m.menu_id, "selected": False, **m.body} for m in self.rich_menus.values()
        ]
        return web.json_response({"richmenus": menus})

    def _menu(self, request: web.Request) -> RichMenu:
        menu = self.rich_menus.get(request.match_info["menu_id"])
        if menu is None:
            raise Rejected("Not found", status=404)
        return menu

    async def _delete_rich_menu(self, request: web.Request) -> web.Response:
        menu = self._menu(request)
        del self.rich_menus[menu.menu_id]
        if self.default_rich_menu == menu.menu_id:
            self.default_rich_menu = None
        return web.json_response({})

    async def _upload_rich_menu_image(self, request: web.Request) -> web.Response:
        menu = self._menu(request)
        _check(request.content_type in ("image/png", "image/jpeg"), "image must be PNG or JPEG")
        data = await request.read()
        _check(len(data) <= 1024 * 1024, "image larger than 1 MB")
        _check(menu.image is None, "An image has already been uploaded to the richmenu")
        width_height = png_size(data)
        size = menu.body["size"]
        _check(width_height == (size["width"], size["height"]), "image size must match the menu")
        menu.image = data
        return web.json_response({})

    async def _set_default_rich_menu(self, request: web.Request) -> web.Response:
        menu = self._menu(request)
        _check(menu.image is not None, "must upload richmenu image before applying it to user")
        self.default_rich_menu = menu.menu_id
        return web.json_response({})

    async def _issue_reply_token_http(self, request: web.Request) -> web.Response:
        body = await request.json()
        return web.json_response({"replyToken": self.issue_reply_token(body["userId"])})

    async def _replies_http(self, request: web.Request) -> web.Response:
        token = request.query.get("replyToken", "")
        found = self.reply_for(token)
        if found is None:
            return web.json_response({}, status=404)
        return web.json_response({"messages": found.messages})

    def _show(self, what: str, user_id: str, messages: list[dict[str, Any]]) -> None:
        if self.verbose:
            print(f"--- {what} to {user_id}", flush=True)
            print(describe(messages), flush=True)


def _sent(messages: list[dict[str, Any]]) -> list[dict[str, str]]:
    return [
        {"id": str(secrets.randbelow(10**17)), "quoteToken": secrets.token_hex(8)} for _ in messages
    ]


# --- reading what the bot sent --------------------------------------------------------------


def postback_buttons(messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Every postback action in these messages: Flex buttons first, then the quick reply."""
    found: list[dict[str, Any]] = []

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            if node.get("type") == "postback":
                found.append(node)
                return
            for key, value in node.items():
                if key != "quickReply":
                    walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(messages)
    for message in messages:
        for item in (message.get("quickReply") or {}).get("items", []):
            found.append(item["action"])
    return found


def clipboard_actions(messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            if node.get("type") == "clipboard":
                found.append(node)
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(messages)
    return found


def all_text(messages: list[dict[str, Any]]) -> str:
    """Every text the user can read in these messages, in order."""
    parts: list[str] = []

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            if node.get("type") == "text" and isinstance(node.get("text"), str):
                parts.append(node["text"])
            for key, value in node.items():
                if key not in ("quickReply", "action"):
                    walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(messages)
    return "\n".join(parts)


def describe(messages: list[dict[str, Any]]) -> str:
    lines = [all_text(messages)]
    lines += [
        f"  [{b.get('displayText') or b.get('label')}] → {b['data']}"
        for b in postback_buttons(messages)
    ]
    lines += [
        f"  [copy {c['label']}] {len(c['clipboardText'])} chars"
        for c in clipboard_actions(messages)
    ]
    return "\n".join(lines)


# --- the app's side: signed webhooks --------------------------------------------------------


class LineWebhookClient:
    """Posts webhook bodies to the app, signed like LINE signs them (or not, when asked)."""

    def __init__(self, webhook_url: str, channel_secret: str = DEFAULT_SECRET) -> None:
        self.webhook_url = webhook_url
        self.channel_secret = channel_secret

    @staticmethod
    def body(*events: dict[str, Any], destination: str = "Ufakebot") -> bytes:
        return json.dumps(
            {"destination": destination, "events": list(events)}, ensure_ascii=False
        ).encode()

    async def post_raw(self, body: bytes, signature: str | None) -> tuple[int, float]:
        """Status and seconds taken."""
        headers = {"Content-Type": "application/json; charset=utf-8"}
        if signature is not None:
            headers["X-Line-Signature"] = signature
        started = time.perf_counter()
        async with (
            aiohttp.ClientSession() as session,
            session.post(self.webhook_url, data=body, headers=headers) as response,
        ):
            await response.read()
            return response.status, time.perf_counter() - started

    async def post(self, *events: dict[str, Any]) -> int:
        body = self.body(*events)
        status, _ = await self.post_raw(body, sign(body, self.channel_secret))
        return status


# --- standalone -----------------------------------------------------------------------------


async def _serve(args: argparse.Namespace) -> None:
    fake = FakeLineApi(access_token=args.token, channel_secret=args.secret, verbose=True)
    url = await fake.start(args.host, args.port)
    print(f"fake LINE API at {url} (token {args.token!r}, secret {args.secret!r})", flush=True)
    try:
        await asyncio.Event().wait()
    finally:
        await fake.stop()


async def _send(args: argparse.Namespace) -> int:
    fake_url = args.fake.rstrip("/")
    async with aiohttp.ClientSession() as session:
        async with session.post(f"{fake_url}/_fake/reply-token", json={"userId": args.user}) as r:
            token = (await r.json())["replyToken"]
        builder = FakeLineApi()
        kw: dict[str, Any] = {"reply_token": token, "redelivery": args.redelivery}
        if args.event_id:
            kw["event_id"] = args.event_id
        if args.kind == "follow":
            event = builder.follow(args.user, **kw)
        elif args.kind == "unfollow":
            kw.pop("reply_token")
            event = builder.unfollow(args.user, **kw)
        elif args.kind == "text":
            event = builder.text(args.user, args.value, **kw)
        else:
            event = builder.postback(args.user, args.value, **kw)
        client = LineWebhookClient(args.app.rstrip("/") + "/webhook/line", args.secret)
        body = client.body(event)
        signature = "bad" if args.bad_signature else sign(body, args.secret)
        status, seconds = await client.post_raw(body, signature)
        print(f"webhook → {status} in {seconds * 1000:.0f} ms (event {event['webhookEventId']})")
        if status != 200 or args.kind == "unfollow":
            return 0 if status == 200 else 1
        for _ in range(50):
            async with session.get(f"{fake_url}/_fake/replies", params={"replyToken": token}) as r:
                if r.status == 200:
                    print(describe((await r.json())["messages"]))
                    return 0
            await asyncio.sleep(0.1)
        print("(no reply)")
        return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.fakes.line_api")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8090)
    parser.add_argument("--token", default=DEFAULT_TOKEN)
    parser.add_argument("--secret", default=DEFAULT_SECRET)
    sub = parser.add_subparsers(dest="command")
    send = sub.add_parser("send", help="deliver one signed event to the app, print the reply")
    send.add_argument("--app", default="http://127.0.0.1:8080")
    send.add_argument("--fake", default="http://127.0.0.1:8090")
    send.add_argument("--user", default="U0000000000000000000000000000demo")
    send.add_argument("--event-id", default="")
    send.add_argument("--redelivery", action="store_true")
    send.add_argument("--bad-signature", action="store_true")
    send.add_argument("kind", choices=("follow", "unfollow", "text", "postback"))
    send.add_argument("value", nargs="?", default="")
    args = parser.parse_args(argv)
    try:
        if args.command == "send":
            return asyncio.run(_send(args))
        asyncio.run(_serve(args))
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
