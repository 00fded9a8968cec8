"""The two-dispatcher benchmark's CPU rows: the machine's busy share and PostgreSQL's CPU."""

from __future__ import annotations

import sys

import pytest

from bench import reminders


def test_a_phase_of_busy_work_shows_the_machine_busy() -> None:
    if not sys.platform.startswith("linux"):
        pytest.skip("reads /proc/stat")
    phase = reminders.CpuPhase()
    phase.start()
    # Spin until the machine's tick counters have moved on (they count in 1/100 s).
    start = reminders._machine_ticks()
    assert start is not None
    while (now := reminders._machine_ticks()) is not None and now[1] - start[1] < 20:
        sum(range(1000))
    phase.stop()
    assert phase.busy_share is not None
    assert 0.0 < phase.busy_share <= 1.0
    assert phase.wall_s > 0


def test_rows_say_not_available_where_proc_cannot_be_read() -> None:
    phase = {"busy_share": None, "postgres_s": None, "wall_s": 1.0}
    rows = reminders._cpu_rows(
        {"one_phase": phase, "two_phase": phase, "two_sent": 10, "one": {"sent": 10}}
    )
    assert [row[1] for row in rows] == ["n/a", "n/a"]
    assert [row[2] for row in rows] == ["n/a", "n/a"]


def test_postgres_rows_give_seconds_cores_and_ms_per_reminder() -> None:
    one = {"busy_share": 0.5, "postgres_s": 1.0, "wall_s": 2.0}
    two = {"busy_share": 0.99, "postgres_s": 3.0, "wall_s": 2.0}
    rows = reminders._cpu_rows(
        {"one_phase": one, "two_phase": two, "two_sent": 1000, "one": {"sent": 500}}
    )
    assert rows[0][1:3] == ("99 %", "50 %")
    assert rows[1][1] == "3.00 s (1.50 cores, 3.00 ms/reminder)"
    assert rows[1][2] == "1.00 s (0.50 cores, 2.00 ms/reminder)"
