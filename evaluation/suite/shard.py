"""Split work across processes or machines: ``--shard i/N`` or torchrun's ``RANK`` / ``WORLD_SIZE``.

Units are assigned by a stable hash of their id, so every shard computes the same assignment without
talking to the others, and adding a dataset does not reshuffle the rest.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import TypeVar

__all__ = ["Shard", "parse_shard"]

T = TypeVar("T")


@dataclass(frozen=True)
class Shard:
    """This process's share of the work: shard ``index`` of ``count``."""

    index: int = 0
    count: int = 1

    def owns(self, unit: str) -> bool:
        """Whether the unit with id ``unit`` belongs to this shard."""
        if self.count == 1:
            return True
        digest = hashlib.sha256(unit.encode("utf-8")).digest()
        return int.from_bytes(digest[:8], "big") % self.count == self.index

    def select(self, items: Iterable[T], key=str) -> Iterator[T]:
        """Yield the items whose ``key(item)`` this shard owns."""
        return (it for it in items if self.owns(key(it)))

    @property
    def tag(self) -> str:
        """File-name tag, e.g. ``shard-0-of-4``."""
        return f"shard-{self.index}-of-{self.count}"


def parse_shard(text: str | None = None, env: dict[str, str] | None = None) -> Shard:
    """Parse ``"i/N"``; without it use ``RANK``/``WORLD_SIZE`` (torchrun), else the single shard 0/1."""
    env = os.environ if env is None else env
    if text:
        try:
            i, n = (int(v) for v in text.split("/"))
        except ValueError:
            raise ValueError(f"--shard: expected i/N with integers, e.g. 0/4, got {text!r}") from None
    elif "WORLD_SIZE" in env:
        i, n = int(env.get("RANK", "0")), int(env["WORLD_SIZE"])
    else:
        i, n = 0, 1
    if n < 1 or not 0 <= i < n:
        raise ValueError(f"--shard: need 0 <= i < N and N >= 1, got {i}/{n}")
    return Shard(i, n)
