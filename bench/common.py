"""What every benchmark shares: tables, percentiles, a process meter, child processes."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import resource
import statistics
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TextIO

ROOT = Path(__file__).resolve().parent.parent

# A Wednesday, 10:00 in Tokyo: the moment the tests register interviews at.
START = datetime(2026, 11, 25, 1, 0, tzinfo=UTC)

# Settings come from each benchmark, never from a developer's .env or shell.
_FOREIGN_PREFIXES = ("TELEGRAM_", "LINE_")
_FOREIGN_NAMES = {"DATABASE_URL", "PUBLIC_BASE_URL", "HOST", "PORT", "DEFAULT_TIMEZONE"}


# --- numbers --------------------------------------------------------------------------------


def percentile(values: Sequence[float], q: float) -> float:
    """The q-th percentile (0-100), linear between the closest ranks."""
    if not values:
        return float("nan")
    if len(values) == 1:
        return float(values[0])
    cuts = statistics.quantiles(values, n=100, method="inclusive")
    if q >= 100:
        return float(max(values))
    return float(cuts[max(0, min(98, round(q) - 1))])


def latency_summary(seconds: Sequence[float]) -> dict[str, float]:
    """p50/p95/p99/max and the mean, in milliseconds."""
    return {
        "n": float(len(seconds)),
        "mean": statistics.fmean(seconds) * 1000 if seconds else float("nan"),
        "p50": percentile(seconds, 50) * 1000,
        "p95": percentile(seconds, 95) * 1000,
        "p99": percentile(seconds, 99) * 1000,
        "max": max(seconds) * 1000 if seconds else float("nan"),
    }


def num(value: float | None, digits: int = 1) -> str:
    if value is None or value != value:  # None or NaN
        return "n/a"
    return f"{value:,.{digits}f}"


def ratio(value: float | None, base: float | None) -> str:
    if value is None or base is None or not base or value != value or base != base:
        return "n/a"
    return f"{value / base:.2f}×"


# --- output ---------------------------------------------------------------------------------


@dataclass
class Table:
    """A Markdown table that reads well in a terminal and pastes into docs/BENCHMARKS.md."""

    title: str
    columns: list[str]
    rows: list[list[str]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def add_measured(
        self,
        label: str,
        pick: Any,
        base: dict[str, Any],
        other: dict[str, Any] | None,
        digits: int = 1,
    ) -> None:
        """A row of one metric: the baseline, the other run (or "skipped"), their ratio."""
        value = pick(base)
        measured = pick(other) if other is not None else None
        self.add(
            label,
            num(value, digits),
            num(measured, digits) if other is not None else "skipped",
            ratio(measured, value),
        )

    def add(self, *cells: str) -> None:
        if len(cells) != len(self.columns):
            raise ValueError(f"{len(cells)} cells for {len(self.columns)} columns")
        self.rows.append(list(cells))

    def render(self) -> str:
        widths = [
            max(_width(row[i]) for row in [self.columns, *self.rows])
            for i in range(len(self.columns))
        ]

        def line(cells: Sequence[str]) -> str:
            padded = [
                c + " " * (w - _width(c)) if i == 0 else " " * (w - _width(c)) + c
                for i, (c, w) in enumerate(zip(cells, widths, strict=True))
            ]
            return "| " + " | ".join(padded) + " |"

        rule = (
            "|"
            + "|".join(
                "-" * (w + 2) if i == 0 else "-" * (w + 1) + ":" for i, w in enumerate(widths)
            )
            + "|"
        )
        out = [f"### {self.title}", "", line(self.columns), rule]
        out += [line(row) for row in self.rows]
        if self.notes:
            out.append("")
            out += [f"- {note}" for note in self.notes]
        return "\n".join(out)


def _width(text: str) -> int:
    # Wide (CJK) characters take two terminal cells.
    return sum(2 if ord(ch) > 0x2E80 else 1 for ch in text)


def emit(text: str = "", stream: TextIO | None = None) -> None:
    print(text, file=stream or sys.stdout, flush=True)


# --- this process: memory and CPU -----------------------------------------------------------


def _proc_status() -> dict[str, int]:
    """VmRSS and VmHWM of this process in KiB; empty where /proc is not there."""
    values: dict[str, int] = {}
    with contextlib.suppress(OSError), open("/proc/self/status", encoding="ascii") as status:
        for entry in status:
            key, _, rest = entry.partition(":")
            if key in ("VmRSS", "VmHWM"):
                values[key] = int(rest.split()[0])
    return values


def _cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def rss_mib() -> float:
    status = _proc_status()
    if "VmRSS" in status:
        return status["VmRSS"] / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


class Meter:
    """RSS and CPU time of this process: ``mark()`` before the work, ``read()`` after it.

    On Linux the peak (VmHWM) is reset at the mark by writing 5 to /proc/self/clear_refs,
    so the peak is the workload's own; elsewhere it is the peak since the process started.
    """

    def __init__(self) -> None:
        self.mark()

    def mark(self) -> None:
        self.peak_is_own = False
        with contextlib.suppress(OSError), open("/proc/self/clear_refs", "w") as clear:
            clear.write("5")
            self.peak_is_own = True
        self._rss = rss_mib()
        self._cpu = _cpu_seconds()
        self._wall = time.perf_counter()

    def read(self) -> dict[str, Any]:
        status = _proc_status()
        peak = (
            status["VmHWM"] / 1024
            if "VmHWM" in status
            else resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        )
        return {
            "rss_at_mark_mib": self._rss,
            "peak_rss_mib": peak,
            "peak_delta_mib": peak - self._rss,
            "peak_is_own": self.peak_is_own,
            "cpu_s": _cpu_seconds() - self._cpu,
            "wall_s": time.perf_counter() - self._wall,
        }


# --- child processes ------------------------------------------------------------------------


def child_env() -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.upper().startswith(_FOREIGN_PREFIXES) and k.upper() not in _FOREIGN_NAMES
    }
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    return env


class ChildError(RuntimeError):
    pass


class Child:
    """One measured process, ``python -m bench.child NAME PARAMS``.

    It talks in lines on stdout, ``TAG {json}``; commands go to its stdin. Its stderr goes
    to a file, shown when something fails.
    """

    def __init__(self, name: str, process: asyncio.subprocess.Process, stderr: Path) -> None:
        self.name = name
        self._process = process
        self._stderr = stderr

    @classmethod
    async def start(cls, name: str, params: dict[str, Any]) -> Child:
        descriptor, log = tempfile.mkstemp(prefix=f"bench-{name}-", suffix=".log")
        try:
            process = await asyncio.create_subprocess_exec(
                sys.executable,
                "-m",
                "bench.child",
                name,
                json.dumps(params),
                cwd=ROOT,
                env=child_env(),
                stdin=asyncio.subprocess.PIPE,
                stdout=asyncio.subprocess.PIPE,
                stderr=descriptor,
            )
        finally:
            os.close(descriptor)
        return cls(name, process, Path(log))

    def stderr_tail(self, lines: int = 25) -> str:
        try:
            text = self._stderr.read_text(encoding="utf-8", errors="replace")
        except OSError:
            return ""
        return "\n".join(text.splitlines()[-lines:])

    async def receive(self, tag: str, within: float) -> dict[str, Any]:
        """Wait ``within`` seconds for the line ``TAG {...}``; fail on exit or an ERROR line."""
        stdout = self._process.stdout
        assert stdout is not None
        deadline = time.monotonic() + within
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise await self._fail(f"no {tag} within {within:.0f}s")
            try:
                raw = await asyncio.wait_for(stdout.readline(), left)
            except TimeoutError:
                raise await self._fail(f"no {tag} within {within:.0f}s") from None
            if not raw:
                raise await self._fail(f"exited before {tag}")
            got, _, payload = raw.decode().strip().partition(" ")
            if got == "ERROR":
                raise await self._fail(json.loads(payload).get("error", "failed"))
            if got == tag:
                data: dict[str, Any] = json.loads(payload or "{}")
                return data

    async def send(self, command: str) -> None:
        stdin = self._process.stdin
        assert stdin is not None
        stdin.write(f"{command}\n".encode())
        await stdin.drain()

    async def finish(self, within: float = 30.0) -> None:
        """Close its input (it stops), wait ``within`` seconds, then kill it."""
        process = self._process
        if process.stdin is not None:
            process.stdin.close()
        try:
            await asyncio.wait_for(process.wait(), within)
        except TimeoutError:
            process.kill()
            await process.wait()
        self._report_log()
        self._stderr.unlink(missing_ok=True)

    def _report_log(self) -> None:
        """Show what the child logged (warnings and worse only) on the driver's stderr."""
        lines = self.stderr_tail(lines=10_000).splitlines()
        if lines:
            shown = "\n".join(f"    {line}" for line in lines[:12])
            more = f"\n    ... {len(lines) - 12} more lines" if len(lines) > 12 else ""
            emit(f"bench child {self.name!r} logged:\n{shown}{more}", sys.stderr)

    async def _fail(self, why: str) -> ChildError:
        if self._process.returncode is None:
            self._process.kill()
        await self._process.wait()
        tail = self.stderr_tail()
        return ChildError(f"bench child {self.name!r}: {why}" + (f"\n{tail}" if tail else ""))


@asynccontextmanager
async def child(name: str, params: dict[str, Any]) -> AsyncIterator[Child]:
    process = await Child.start(name, params)
    try:
        yield process
    finally:
        await process.finish()


async def run_once(name: str, params: dict[str, Any], within: float) -> dict[str, Any]:
    """Start a child that measures by itself and return its RESULT (``within`` seconds)."""
    async with child(name, params) as process:
        return await process.receive("RESULT", within)


# --- PostgreSQL -----------------------------------------------------------------------------


async def postgres_status() -> tuple[bool, str]:
    """(True, server version) when the test server answers, else (False, the reason)."""
    import asyncpg  # type: ignore[import-untyped]

    from tests.postgres import ADMIN_DSN

    where = ADMIN_DSN.split("@")[-1]
    try:
        connection = await asyncpg.connect(ADMIN_DSN, timeout=5)
    except (OSError, asyncpg.PostgresError, TimeoutError) as exc:
        return False, f"PostgreSQL not reachable at {where}: {type(exc).__name__}"
    try:
        version = await connection.fetchval("SHOW server_version")
    finally:
        await connection.close()
    return True, f"PostgreSQL {version} at {where}"


def backends(pg_ok: bool) -> list[str]:
    return ["sqlite", "postgresql"] if pg_ok else ["sqlite"]


@asynccontextmanager
async def database(backend: str, folder: Path) -> AsyncIterator[str]:
    """A SQLAlchemy URL for an empty database: a SQLite file in ``folder``, or a fresh
    PostgreSQL database (dropped afterwards) on the test server."""
    if backend == "sqlite":
        yield f"sqlite+aiosqlite:///{folder / 'bench.db'}"
        return
    from tests.postgres import fresh_database

    async with fresh_database() as url:
        yield url
