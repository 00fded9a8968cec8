"""Conversation flows: plain async functions over a Context, channel- and database-neutral."""
