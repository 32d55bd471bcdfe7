"""Enhancers behind one protocol: uint8 HxWx3 RGB in, uint8 HxWx3 RGB out.

Importing this package registers every built-in enhancer in ``uptflow.registry.ENHANCERS``.
"""

from .base import Enhancer, build_enhancer, list_enhancers

__all__ = ["Enhancer", "build_enhancer", "list_enhancers"]
