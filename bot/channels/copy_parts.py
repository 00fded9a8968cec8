"""A copy block cut into parts that each fit one copy button, for Telegram and LINE alike.

The parts, pasted one after another in order, give back the block exactly: each part keeps
the newlines that separated it from the next one (a paragraph ends with its blank line, a line
with its line break), so ``"".join(parts) == text`` always holds. Cuts fall between paragraphs
where they can, else between lines, and only inside a line that alone is too long (then after
a sentence or a clause where there is one). Lengths count UTF-16 code units, as Telegram
does; that is also safe for LINE, which counts characters, as a character is one or two
units. A cut never falls inside a character or an emoji cluster (ZWJ sequences, flags, skin
tones, variation selectors), and no part is only whitespace unless the block is.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

import regex

from bot.channels import utf16

# A paragraph with the blank line(s) after it; the last one may end without any.
_PARAGRAPH = re.compile(r".*?(?:\n[ \t\u3000]*\n\s*|\Z)", re.S)
# Where a line can be cut if it must be: after a sentence end, then a clause mark, then a space.
_SENTENCE_ENDS = ("。", "！", "？", "!", "?", ". ")
_CLAUSE_MARKS = ("、", "，", ",", "）", ")", "」", "』")
_SPACES = (" ", "\u3000", "\t")
# A cut point is only worth taking if it leaves the part at least this full.
_MIN_FILL = 0.5


def part_suffix(number: int, total: int) -> str:
    """`` n/total`` for one part of several, nothing for a block in one part; no words in it."""
    return "" if total <= 1 else f" {number}/{total}"


def numbered(label: str, number: int, total: int) -> str:
    """A button label for one part of several: the already localized label, numbered."""
    return label + part_suffix(number, total)


def split_for_copy(text: str, limit: int) -> list[str]:
    """``text`` as parts of 1..``limit`` units each whose concatenation is ``text``.

    An empty text has no parts; a text that fits is one part.
    """
    if limit < 2:
        # An astral character alone takes two UTF-16 units.
        raise ValueError("limit must be at least 2")
    if not text:
        return []
    if utf16.length(text) <= limit:
        return [text]
    return _pack(_paragraphs(text), limit)


def _paragraphs(text: str) -> list[str]:
    return [p for p in _PARAGRAPH.findall(text) if p]


def _pack(pieces: list[str], limit: int) -> list[str]:
    """Fill parts greedily with whole pieces; a piece too big alone is cut finer first."""
    parts: list[str] = []
    current = ""
    for piece in pieces:
        if utf16.length(piece) > limit:
            if current:
                parts.append(current)
                current = ""
            lines = _lines(piece)
            parts += _pack(lines, limit) if len(lines) > 1 else _cut_line(piece, limit)
            continue
        if current and utf16.length(current + piece) > limit:
            parts.append(current)
            current = ""
        current += piece
    if current:
        parts.append(current)
    return parts


def _lines(paragraph: str) -> list[str]:
    # The paragraph's trailing blank line stays with its last line, so nothing is lost.
    lines = paragraph.splitlines(keepends=True)
    while len(lines) > 1 and not lines[-1].strip():
        blank = lines.pop()
        lines[-1] += blank
    return lines


def _cut_line(line: str, limit: int) -> list[str]:
    """A line longer than ``limit`` in pieces; its line break stays on the last piece."""
    core = line.rstrip()
    tail = line[len(core) :]
    if not core:
        return list(_cut(line, limit))
    pieces = list(_cut(core, limit))
    if utf16.length(pieces[-1] + tail) <= limit:
        pieces[-1] += tail
    elif _largest_cluster(pieces[-1]) <= limit - utf16.length(tail):
        # The last piece has no room for the line break: it is cut again, shorter.
        last = pieces.pop()
        pieces += _cut(last, limit - utf16.length(tail))
        pieces[-1] += tail
    else:
        pieces += _cut(tail, limit)  # whitespace nearly as long as a part: nothing better
    return pieces


def _cut(text: str, limit: int) -> Iterator[str]:
    """``text`` in pieces of at most ``limit`` units, cut at grapheme boundaries, nicely."""
    rest = text
    while utf16.length(rest) > limit:
        head = _fitting_clusters(rest, limit)
        cut = _nice_cut(head) or len(head)
        yield rest[:cut]
        rest = rest[cut:]
    if rest:
        yield rest


def _fitting_clusters(text: str, limit: int) -> str:
    """The longest prefix of whole grapheme clusters within ``limit`` units (at least one)."""
    used = 0
    end = 0
    for match in regex.finditer(r"\X", text):
        size = utf16.length(match.group())
        if used + size > limit:
            break
        used += size
        end = match.end()
    if end == 0:
        # One cluster longer than the limit (an absurd ZWJ chain): cut it between code points.
        end = max(1, utf16.fitting_prefix(text, limit))
    return text[:end]


def _nice_cut(head: str) -> int | None:
    """Where to end a part inside ``head``: after the last sentence, clause or space in it."""
    floor = int(len(head) * _MIN_FILL)
    for marks in (_SENTENCE_ENDS, _CLAUSE_MARKS, _SPACES):
        at = max(head.rfind(mark) + len(mark) if mark in head else -1 for mark in marks)
        if at > floor and _is_cluster_boundary(head, at):
            return at
    return None


def _largest_cluster(text: str) -> int:
    return max(utf16.length(cluster) for cluster in regex.findall(r"\X", text))


def _is_cluster_boundary(text: str, index: int) -> bool:
    return any(m.end() == index for m in regex.finditer(r"\X", text))
