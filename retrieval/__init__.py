"""Retrieval strategies over a :class:`kidneytalk.library.Library` (no Qt here)."""

from kidneytalk.retrieval.naive import search

__all__ = ["search"]
