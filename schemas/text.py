"""Text from exports kept to a size a person can read, before it is printed or stored.

An export can hold anything: a 50 MB column name, a 100 MB cell. Every message that may
quote export content (a center's failure, an audit record, a console line) goes through
``cut`` first, so no single input can make printing or storing it take minutes.
"""
from __future__ import annotations

#: Longest message printed on the console or stored in ``load_log``.
MAX_MESSAGE = 2000
#: Longest piece of export content (a column name, a file name) quoted inside a message.
MAX_QUOTED = 200


def cut(text: str | None, limit: int = MAX_MESSAGE) -> str | None:
    """``text`` if short enough, else its start and how long it was."""
    if text is None or len(text) <= limit:
        return text
    return f"{text[:limit]}… (cut: {len(text):,} characters in all)"
