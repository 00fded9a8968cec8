"""The reminder dispatcher: APScheduler wakes it, it claims due rows and sends them.

Reminders are rows; nothing important lives only in memory. Each step has its own module:

- ``wakeups``: APScheduler keeps two jobs in memory, both of which only wake the dispatcher.
- ``claims``: one short transaction takes due rows under a lease, so a row goes to one worker.
- ``preparing``: renew the claim, ask the kinds registry whether the row goes out, compose it.
- ``sending``: push with short in-place retries and a timeout; no transaction is open.
- ``outcomes``: every fault of a channel ends in the row's state; none stops the dispatcher.
- ``dispatcher``: the life of the worker and one run over the due rows, in that order.
"""

from bot.reminders.claims import LEASE
from bot.reminders.dispatcher import MAX_BATCHES_PER_RUN, PAUSE_AFTER_FAILED_RUN, ReminderDispatcher
from bot.reminders.outcomes import row_backoff
from bot.reminders.sending import PUSH_TIMEOUT

__all__ = [
    "LEASE",
    "MAX_BATCHES_PER_RUN",
    "PAUSE_AFTER_FAILED_RUN",
    "PUSH_TIMEOUT",
    "ReminderDispatcher",
    "row_backoff",
]
