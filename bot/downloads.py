"""Files and images behind unguessable links, kept in the database so any replica serves them.

LINE bots cannot send files, and LINE fetches images from a URL itself. So a channel hands a
document or an image to ``DownloadStore``, which stores it with a fresh token (only the
token's SHA-256 is kept) and gives back the link under ``PUBLIC_BASE_URL``.

- A file link (``/d/<token>``) opens a small page whose button fetches the file with a POST
  (``/d/<token>/file``). Link previews and crawlers only GET the page, so they cannot use the
  link up; the POST takes it once, within ``LINK_LIFETIME``, in one conditional UPDATE.
- An image link (``/i/<token>``) may be fetched any number of times for ``IMAGE_LIFETIME``:
  LINE fetches the picture and its preview when it likes, on every device of the user.

A link used twice, too late or never made gets a short bilingual page saying so (410/404),
written from the catalog like every other text.
"""

from __future__ import annotations

import hashlib
import html
import io
import logging
import secrets
from collections.abc import Callable
from datetime import datetime, timedelta

from aiohttp import web

from bot.engine import Clock
from bot.web import WebServer
from domain.protocol import Address, Document, HostedImage, Image, OfferedLink
from messages.catalog import LOCALES, Catalog
from storage.models import Download, DownloadKind
from storage.uow import UnitOfWork

log = logging.getLogger(__name__)

LINK_LIFETIME = timedelta(minutes=10)
IMAGE_LIFETIME = timedelta(days=7)
# Rows stay a day past their end, so a late click hears "expired" rather than "not found".
KEEP_AFTER_EXPIRY = timedelta(days=1)
PREVIEW_SIZE = (240, 240)
TOKEN_BYTES = 32
MAX_TOKEN_LENGTH = 64

PAGE_HEADERS = {
    "Cache-Control": "no-store",
    "Referrer-Policy": "no-referrer",
    "X-Robots-Tag": "noindex, nofollow",
    "X-Content-Type-Options": "nosniff",
    "Content-Security-Policy": (
        "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; base-uri 'none'"
    ),
}
STYLE = (
    "body{font-family:system-ui,sans-serif;max-width:32rem;margin:3rem auto;padding:0 1rem;"
    "line-height:1.6;color:#222}button{font-size:1.1rem;padding:.7rem 1.4rem;border:0;"
    "border-radius:.5rem;background:#06c755;color:#fff}p.en{color:#555}"
)


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _preview(image: Image) -> bytes:
    """A small copy for the chat bubble, as PNG."""
    # Imported here: Pillow costs start-up time, and only an image sent over LINE needs it.
    from PIL import Image as PillowImage

    with PillowImage.open(io.BytesIO(image.content)) as picture:
        picture.thumbnail(PREVIEW_SIZE)
        out = io.BytesIO()
        picture.save(out, format="PNG")
    return out.getvalue()


class DownloadStore:
    """The ``Downloads`` a channel is given, and the web routes that serve what it keeps."""

    def __init__(
        self,
        uow_factory: Callable[[], UnitOfWork],
        catalog: Catalog,
        clock: Clock,
        public_base_url: str,
    ) -> None:
        self._uow_factory = uow_factory
        self._catalog = catalog
        self._clock = clock
        self._base = public_base_url.rstrip("/")

    def add_routes(self, server: WebServer) -> None:
        server.add_get("/d/{token}", self._page)
        server.add_post("/d/{token}/file", self._file)
        server.add_get("/i/{token}", self._image)

    # --- keeping ----------------------------------------------------------------------------

    def _keep(
        self,
        uow: UnitOfWork,
        user_id: int,
        kind: DownloadKind,
        filename: str,
        mime_type: str,
        content: bytes,
        lifetime: timedelta,
        now: datetime,
    ) -> str:
        token = secrets.token_urlsafe(TOKEN_BYTES)
        uow.downloads.add(
            Download(
                user_id=user_id,
                token_hash=token_hash(token),
                kind=kind.value,
                filename=filename,
                mime_type=mime_type,
                content=content,
                created_at=now,
                expires_at=now + lifetime,
            )
        )
        return token

    async def offer(self, address: Address, document: Document) -> OfferedLink | None:
        """A single-use link to the document, valid for ``LINK_LIFETIME``."""
        now = self._clock()
        async with self._uow_factory() as uow:
            user = await uow.users.find(address.channel, address.external_id)
            if user is None:
                return None
            await uow.downloads.forget_expired_before(now - KEEP_AFTER_EXPIRY)
            token = self._keep(
                uow,
                user.id,
                DownloadKind.LINK,
                document.filename,
                document.mime_type,
                document.content,
                LINK_LIFETIME,
                now,
            )
            locale = self._catalog.locale_of(user.locale)
            await uow.commit()
        url = f"{self._base}/d/{token}"
        minutes = int(LINK_LIFETIME.total_seconds() // 60)
        text = self._catalog.text(locale, "downloads.link", minutes=minutes, url=url)
        return OfferedLink(url=url, text=text)

    async def host_image(self, address: Address, image: Image) -> HostedImage | None:
        """Two links (the picture and its preview) the platform may fetch for a week."""
        now = self._clock()
        preview = _preview(image)
        async with self._uow_factory() as uow:
            user = await uow.users.find(address.channel, address.external_id)
            if user is None:
                return None
            tokens = [
                self._keep(
                    uow,
                    user.id,
                    DownloadKind.IMAGE,
                    name,
                    mime,
                    content,
                    IMAGE_LIFETIME,
                    now,
                )
                for name, mime, content in (
                    (image.filename, image.mime_type, image.content),
                    (f"preview-{image.filename}", "image/png", preview),
                )
            ]
            await uow.commit()
        return HostedImage(f"{self._base}/i/{tokens[0]}", f"{self._base}/i/{tokens[1]}")

    # --- serving ----------------------------------------------------------------------------

    async def _find(self, request: web.Request, kind: DownloadKind) -> Download | web.Response:
        """The download a request names, or the kind page that says why there is none."""
        token = request.match_info["token"]
        if not token or len(token) > MAX_TOKEN_LENGTH:
            return self._kind_page("not_found", 404)
        async with self._uow_factory() as uow:
            found = await uow.downloads.by_token_hash(token_hash(token))
        if found is None or found.kind != kind.value:
            return self._kind_page("not_found", 404)
        if found.used_at is not None:
            return self._kind_page("used", 410)
        if found.expires_at <= self._clock():
            return self._kind_page("expired", 410)
        return found

    async def _page(self, request: web.Request) -> web.Response:
        found = await self._find(request, DownloadKind.LINK)
        if isinstance(found, web.Response):
            return found
        token = html.escape(request.match_info["token"], quote=True)
        blocks = [
            f'<p lang="{locale}" class="{locale}">'
            + html.escape(
                self._catalog.text(locale, "downloads.page_lead", filename=found.filename)
            )
            + "</p>"
            for locale in LOCALES
        ]
        label = " / ".join(
            self._catalog.text(locale, "downloads.page_button") for locale in LOCALES
        )
        # Relative, so the form works behind a proxy that serves Renraku under a path prefix.
        form = (
            f'<form method="post" action="{token}/file">'
            f'<button type="submit">{html.escape(label)}</button></form>'
        )
        return self._html("".join(blocks) + form, 200)

    async def _file(self, request: web.Request) -> web.Response:
        found = await self._find(request, DownloadKind.LINK)
        if isinstance(found, web.Response):
            return found
        async with self._uow_factory() as uow:
            taken = await uow.downloads.use(found.id, self._clock())
            await uow.commit()
        if not taken:
            # Another request (or another replica) took it a moment ago.
            return self._kind_page("used", 410)
        log.info("download taken: id=%s", found.id)
        return web.Response(
            body=found.content,
            headers={
                **PAGE_HEADERS,
                "Content-Type": found.mime_type,
                "Content-Disposition": f'attachment; filename="{_ascii_name(found.filename)}"',
            },
        )

    async def _image(self, request: web.Request) -> web.Response:
        found = await self._find(request, DownloadKind.IMAGE)
        if isinstance(found, web.Response):
            return found
        return web.Response(
            body=found.content,
            headers={
                "Content-Type": found.mime_type,
                "Cache-Control": "private, max-age=3600",
                "X-Content-Type-Options": "nosniff",
                "Referrer-Policy": "no-referrer",
            },
        )

    def _kind_page(self, reason: str, status: int) -> web.Response:
        """Why a link gives nothing: ``not_found``, ``used`` or ``expired``, in every language."""
        body = "".join(
            f'<p lang="{locale}" class="{locale}">'
            + html.escape(self._catalog.text(locale, f"downloads.{reason}"))
            + "</p>"
            for locale in LOCALES
        )
        return self._html(body, status)

    def _html(self, body: str, status: int) -> web.Response:
        title = " / ".join(self._catalog.text(locale, "downloads.page_title") for locale in LOCALES)
        page = (
            '<!doctype html><html><head><meta charset="utf-8">'
            '<meta name="viewport" content="width=device-width,initial-scale=1">'
            '<meta name="robots" content="noindex,nofollow">'
            f"<title>{html.escape(title)}</title><style>{STYLE}</style></head>"
            f"<body><h1>{html.escape(title)}</h1>{body}</body></html>"
        )
        return web.Response(
            text=page,
            status=status,
            content_type="text/html",
            charset="utf-8",
            headers=PAGE_HEADERS,
        )


def _ascii_name(filename: str) -> str:
    safe = "".join(c if c.isascii() and (c.isalnum() or c in "-_.") else "_" for c in filename)
    return safe or "download"
