"""Short texts for messages: long lists are capped so an error stays one readable line."""

from collections.abc import Iterable
from typing import Any

__all__ = ["listed"]


def listed(items: Iterable[Any], limit: int = 10) -> str:
    """``a, b, c ... and 1,890 more``: the first ``limit`` items, in the given order, and how many were left out."""
    items = list(items)
    more = f" ... and {len(items) - limit:,} more" if len(items) > limit else ""
    return ", ".join(map(str, items[:limit])) + more
