"""A composed reminder as plain JSON, stored on its row while it is part sent.

Composing is not repeatable (it picks tips at random and remembers them for the user), so a
worker that resumes a half-sent reminder must send the parts that were composed, not compose
again. The form is private to the dispatcher: written and read only here.
"""

from __future__ import annotations

import base64
from typing import Any

from domain.protocol import Choice, CopyItem, Document, Reply


def dump(replies: list[Reply]) -> list[dict[str, Any]]:
    return [
        {
            "text": reply.text,
            "choices": [[c.label, c.action] for c in reply.choices],
            "copy_items": [[c.label, c.text] for c in reply.copy_items],
            "document": None
            if reply.document is None
            else {
                "filename": reply.document.filename,
                "content": base64.b64encode(reply.document.content).decode("ascii"),
                "mime_type": reply.document.mime_type,
            },
            "columns": reply.columns,
        }
        for reply in replies
    ]


def load(stored: list[Any]) -> list[Reply]:
    replies = []
    for item in stored:
        document = item.get("document")
        replies.append(
            Reply(
                text=item["text"],
                choices=tuple(Choice(label, action) for label, action in item["choices"]),
                copy_items=tuple(CopyItem(label, text) for label, text in item["copy_items"]),
                document=None
                if document is None
                else Document(
                    document["filename"],
                    base64.b64decode(document["content"]),
                    document["mime_type"],
                ),
                columns=item["columns"],
            )
        )
    return replies
