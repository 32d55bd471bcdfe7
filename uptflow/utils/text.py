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
    """``FAILED ...``: one line saying why ``path`` was left out, naming the file once; the exception's class only
    where it is not one of the file errors whose messages explain themselves (an out-of-memory, say)."""
    text = str(error)
    if not isinstance(error, (OSError, ValueError)):
        text = f"{type(error).__name__}: {text}"
    return f"FAILED {text}" if str(path) in text else f"FAILED {path}: {text}"
