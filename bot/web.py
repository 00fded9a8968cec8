"""The one HTTP server: channel webhooks, download links, /healthz and /metrics."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Mapping

from aiohttp import web
from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST

log = logging.getLogger(__name__)

RouteHandler = Callable[[web.Request], Awaitable[web.StreamResponse]]
# True when the part it names works; False or an exception when it does not.
HealthCheck = Callable[[], Awaitable[bool]]

# A probe that hangs is a failed probe: the orchestrator's own timeout is usually a few
# seconds, and it should hear which part is stuck rather than time out itself.
CHECK_TIMEOUT = 2.0
# Webhook bodies are a few kilobytes; anything bigger is refused with 413 before a
# handler reads it.
MAX_BODY_BYTES = 1024 * 1024

# How a reminder's try can end, each a label of renraku_reminders_total: delivered; back in
# the queue for a platform fault; given up (no longer useful, or too many faults of ours);
# the user left; the platform refused it for good; and what the kinds registry decided.
REMINDER_OUTCOMES = (
    "sent",
    "retried",
    "gave_up",
    "recipient_gone",
    "permanent_failure",
    "cancelled",
    "paused",
    "deferred",
    "throttled",
    "stopping",
    # An optional kind not sent because the channel's pushes run short (LINE's quota).
    "held_for_quota",
)


class Metrics:
    """Counters a scrape can read; one registry per app so tests do not share numbers."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.updates = Counter(
            "renraku_updates_total", "User events handled", ["channel"], registry=self.registry
        )
        self.handle_seconds = Histogram(
            "renraku_handle_seconds",
            "Time to handle one event",
            ["channel"],
            registry=self.registry,
        )
        self.reminders = Counter(
            "renraku_reminders_total", "Reminders by outcome", ["outcome"], registry=self.registry
        )
        for outcome in REMINDER_OUTCOMES:
            # Present at zero from the start, so an alert on gave_up sees its first one.
            self.reminders.labels(outcome=outcome)
        self.reminder_passes = Counter(
            "renraku_reminder_passes_total", "Completed dispatcher passes", registry=self.registry
        )
        self.inbox_set_aside = Counter(
            "renraku_inbox_set_aside_total",
            "Events set aside after their retries ran out",
            ["channel"],
            registry=self.registry,
        )
        self.webhook_rejected = Counter(
            "renraku_webhook_rejected_total",
            "Webhook requests refused",
            ["channel"],
            registry=self.registry,
        )
        self.line_quota_exhausted = Counter(
            "renraku_line_quota_exhausted_total",
            "Pushes LINE refused because the monthly message quota is used up",
            registry=self.registry,
        )
        self.channel_errors = Counter(
            "renraku_channel_errors_total",
            "Events a channel failed to handle or answer, and pushes that failed",
            ["channel"],
            registry=self.registry,
        )


class WebServer:
    """An aiohttp server that channels add their routes to before it starts."""

    def __init__(
        self,
        host: str,
        port: int,
        metrics: Metrics,
        checks: Mapping[str, HealthCheck] | None = None,
        *,
        check_timeout: float = CHECK_TIMEOUT,
    ) -> None:
        self._host, self._port = host, port
        self.metrics = metrics
        self._checks = dict(checks or {})
        self._check_timeout = check_timeout
        self.app = web.Application(client_max_size=MAX_BODY_BYTES)
        self.app.router.add_get("/healthz", self._healthz)
        self.app.router.add_get("/metrics", self._metrics)
        self._runner: web.AppRunner | None = None
        self.bound_port: int | None = None

    def add_post(self, path: str, handler: RouteHandler) -> None:
        self.app.router.add_post(path, handler)

    def add_get(self, path: str, handler: RouteHandler) -> None:
        self.app.router.add_get(path, handler)

    async def _healthz(self, _request: web.Request) -> web.Response:
        """200 when every check passes; 503 naming each part that failed."""
        names = list(self._checks)
        results = await asyncio.gather(*(self._passes(name) for name in names))
        failing = {name: "unavailable" for name, ok in zip(names, results, strict=True) if not ok}
        if failing:
            return web.json_response({"status": "unavailable", **failing}, status=503)
        return web.json_response({"status": "ok"})

    async def _passes(self, name: str) -> bool:
        try:
            async with asyncio.timeout(self._check_timeout):
                return await self._checks[name]()
        except Exception as exc:
            # The type only: a driver's message can carry the connection string.
            log.warning("health check %s failed: %s", name, type(exc).__name__)
            return False

    async def _metrics(self, _request: web.Request) -> web.Response:
        body = generate_latest(self.metrics.registry)
        return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE_LATEST})

    async def start(self) -> None:
        self._runner = web.AppRunner(self.app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self._host, self._port)
        await site.start()
        server = site._server
        sockets = getattr(server, "sockets", None) or []
        self.bound_port = sockets[0].getsockname()[1] if sockets else self._port
        log.info("http server listening on %s:%s", self._host, self.bound_port)

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
