"""Renraku's benchmarks: ``make bench`` (= ``python -m bench``), results in docs/BENCHMARKS.md.

Each benchmark prints its own numbers next to a baseline measured in the same run:

- ``telegram``: the real TelegramChannel against a bare python-telegram-bot echo bot, both
  polling the fake Bot API of ``tests/fakes`` on 127.0.0.1, each in its own process;
- ``engine``: the conversation engine alone, on a SQLite file and on PostgreSQL;
- ``reminders``: the reminder dispatcher draining 1,000 due reminders, beside the platforms'
  documented sending limits.

Speed and memory are measured here, never in the test suite. Only loopback traffic; every
loop is bounded in count and time.
"""
