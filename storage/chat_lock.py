"""One chat's updates, one at a time, across every replica sharing the database.

The engine's per-chat asyncio lock only covers its own process. Two replicas handling one
user's double tap would otherwise both read the same dialogue step and both act on it (two
interviews saved, every reminder twice). The lock taken here lives as long as the caller's
transaction, so it is released by the commit or rollback the caller already owns.
"""

from __future__ import annotations

import hashlib

from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncSession


def chat_key(channel: str, external_id: str) -> int:
    """A stable signed 64-bit key for the chat, the same in every process and release.

    Python's ``hash`` is salted per process, so a digest is used. A collision only makes two
    chats wait for each other, never mixes their data.
    """
    digest = hashlib.blake2b(f"{channel}\0{external_id}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)


class ChatLock:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def lock(self, channel: str, external_id: str) -> None:
        """Wait until no other transaction holds this chat; hold it until this one ends.

        Call it first in the transaction, before anything is read.
        """
        dialect = self._session.get_bind().dialect.name
        if dialect == "postgresql":
            # An advisory lock rather than SELECT ... FOR UPDATE on the user row: a chat's
            # first update has no row yet (and an unfollow never gets one), and it does not
            # meet the row locks the reminder dispatcher takes. The single-bigint key space
            # is apart from the two-int one the migration lock uses.
            await self._session.execute(
                select(text("pg_advisory_xact_lock(:key)")), {"key": chat_key(channel, external_id)}
            )
        elif dialect == "sqlite":
            # Nothing to add: storage/db.py opens every SQLite transaction with BEGIN
            # IMMEDIATE, so this one already holds the file's single write lock, and a second
            # process waits (busy_timeout) before its first read instead of reading the same
            # step. Every chat waits for every other one meanwhile: the price of SQLite,
            # which is for one small deployment.
            return
        else:
            raise NotImplementedError(f"no chat lock for the {dialect} dialect")
