"""Short texts for messages: long lists are capped so an error stays one readable line."""

from collections.abc import Sequence
from typing import Any

__all__ = ["listed"]


def listed(items: Sequence[Any], limit: int = 10) -> str:
    """``[a, b, c] ... and 1,890 more``: the first ``limit`` items and how many were left out."""
    items = list(items)
    more = f" ... and {len(items) - limit:,} more" if len(items) > limit else ""
    return f"{items[:limit]}{more}"
