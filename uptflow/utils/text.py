"""Short texts for messages: long lists are capped and file errors name the file once, so an error stays one
readable line."""

from collections.abc import Iterable
from typing import Any

__all__ = ["listed", "failure_line"]


def listed(items: Iterable[Any], limit: int = 10) -> str:
    """``a, b, c ... and 1,890 more``: the first ``limit`` items, in the given order, and how many were left out."""
    items = list(items)
    more = f" ... and {len(items) - limit:,} more" if len(items) > limit else ""
    return ", ".join(map(str, items[:limit])) + more


def failure_line(path: Any, error: Exception) -> str:
    """``FAILED <path>: <reason>`` on one line, the reason without the path where the message starts with it; the
    exception's class only where it is not one of the file errors whose messages explain themselves (an
    out-of-memory, say)."""
    text = " ".join(str(error).split())
    for prefix in (f"cannot read image {path}: ", f"{path}: "):  # uptflow.utils.io's messages name the file first
        text = text.removeprefix(prefix)
    if not isinstance(error, (OSError, ValueError)):
        text = f"{type(error).__name__}: {text}"
    return f"FAILED {path}: {text}"
