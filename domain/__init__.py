"""The pure domain: channel-neutral types, dates and business days, parsing what users type.

No I/O, no clock reads, no database, no SDKs. Everything above (handlers, the shell in
``bot/``) may import from here; nothing here imports from above.
"""
