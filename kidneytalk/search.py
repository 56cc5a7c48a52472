"""What retrieval may ask of a library: the narrow search interface.

The retrieval strategies (``kidneytalk.retrieval``: naive, hybrid, the gate,
the bridge, AddRep) rank passages; the library (:class:`kidneytalk.library.
Library`) owns the vector store, the catalog with its FTS5 index, the
embedder and the lock. Retrieval sees only :class:`SearchIndex`, so the
storage can change without touching a strategy, and a strategy cannot come
to depend on a table layout (``tests/test_search_interface.py`` checks that no
module under ``retrieval/`` reaches into a library's ``store``, ``catalog``,
``embedder`` or ``db``).

Every query method takes the ``doc_ids`` to search (``searchable_doc_ids()``,
read once per question) and is called inside ``reading()``, so a question
sees one consistent library. Scores are "higher is better": cosine similarity
for :meth:`~SearchIndex.dense`, BM25 for the lexical methods.
"""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import AbstractContextManager
from typing import TYPE_CHECKING, Literal, Protocol

if TYPE_CHECKING:
    import numpy as np

    from kidneytalk.catalog import StoredPassage

Ranking = list[tuple[str, float]]  # (chunk id, score), best first
Script = Literal["cjk", "latin"]
# SQLite GLOB patterns of a passage in a script: a CJK character; a run of four Latin letters.
SCRIPT_GLOBS: dict[Script, str] = {"cjk": "*[一-鿿]*", "latin": "*[A-Za-z][a-z][a-z][a-z]*"}


class SearchIndex(Protocol):
    """A library as retrieval searches it (implemented by :class:`kidneytalk.library.Library`)."""

    @property
    def embed_model_id(self) -> str:
        """Id of the embedding model the vectors were made with (without loading it)."""
        ...

    def reading(self) -> AbstractContextManager[object]:
        """A read scope: the library does not change inside it."""
        ...

    def searchable_doc_ids(self) -> list[str]:
        """Ready, enabled documents indexed with the current embedding model."""
        ...

    # ---------------------------------------------------------- vectors
    def embed(self, texts: Sequence[str]) -> np.ndarray:
        """Normalised embeddings of ``texts``, one row each."""
        ...

    def embed_query(self, text: str) -> np.ndarray:
        """The normalised embedding of one query."""
        ...

    def token_vectors(self, texts: Sequence[str]) -> list[tuple[list[int], np.ndarray]]:
        """Each text's embedder token ids and unit-length contextual token vectors (special tokens
        left out)."""
        ...

    def token_ids(self, texts: Sequence[str]) -> list[list[int]]:
        """Each text's embedder token ids (special tokens left out)."""
        ...

    def unknown_share(self, text: str) -> float:
        """Share of ``text``'s embedder tokens that are unknown to it (1.0: it cannot read it)."""
        ...

    def dense(self, vector: np.ndarray, k: int, doc_ids: Sequence[str]) -> Ranking:
        """The ``k`` passages of ``doc_ids`` closest to ``vector`` (cosine similarity)."""
        ...

    def similarities(self, vector: np.ndarray, ids: Sequence[str]) -> dict[str, float]:
        """Cosine similarity of each passage in ``ids`` to ``vector``."""
        ...

    # ---------------------------------------------------------- words
    def lexical(self, text: str, k: int, doc_ids: Sequence[str]) -> Ranking:
        """The ``k`` best BM25 matches of any content term of ``text``."""
        ...

    def lexical_any(self, terms: Sequence[str], k: int, doc_ids: Sequence[str]) -> Ranking:
        """As :meth:`lexical`, for lexical terms already made (any of them matches)."""
        ...

    def idf(self, terms: Sequence[str], doc_ids: Sequence[str]) -> dict[str, float]:
        """BM25-style idf of each lexical term over the passages of ``doc_ids``."""
        ...

    def holds_script(self, script: Script, doc_ids: Sequence[str]) -> bool:
        """Whether any passage of ``doc_ids`` holds CJK characters / a run of Latin letters."""
        ...

    # ---------------------------------------------------------- passages
    def passages(self, ids: Sequence[str]) -> dict[str, StoredPassage]:
        """The stored passages with these ids (unknown ids are left out), as frozen records."""
        ...

    def document_labels(self, doc_ids: Sequence[str]) -> dict[str, tuple[str, str]]:
        """(file name, title) of each document in ``doc_ids``: what a question may name it by."""
        ...

    def passage_texts(self, doc_ids: Sequence[str], *, sample: int | None = None) -> list[str]:
        """The text of every passage of ``doc_ids``, in passage-id order (``sample``: at most that
        many, spread evenly)."""
        ...
