"""Retrieval strategies over a :class:`kidneytalk.search.SearchIndex` (a library; no Qt here)."""

from kidneytalk.retrieval.naive import search

__all__ = ["search"]
