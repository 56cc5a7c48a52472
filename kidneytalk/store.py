"""Stage 5b — vectors in a chromadb PersistentClient under the data dir.

Chroma holds only vectors and the owning ``doc_id``; chunk text and everything
else lives in the SQLite catalog (see ``catalog.py``). One collection per
embedding model, so switching models never mixes vector spaces, and switching
back is instant. We always pass embeddings ourselves: chroma's default
embedding function would try to download a model.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from kidneytalk.errors import LibraryDamagedError

log = logging.getLogger(__name__)


def collection_name(model_id: str) -> str:
    safe = re.sub(r"[^a-zA-Z0-9._-]", "-", model_id)[:60].strip("-._")
    return f"chunks-{safe or 'default'}"


class VectorStore:
    def __init__(self, path: Path, model_id: str):
        self.path = path
        self.model_id = model_id
        self._client: Any = None
        self._collection: Any = None
        self.open()

    def open(self) -> None:
        import chromadb
        from chromadb.config import Settings as ChromaSettings

        self.path.mkdir(parents=True, exist_ok=True)
        try:
            self._client = chromadb.PersistentClient(
                path=str(self.path),
                settings=ChromaSettings(anonymized_telemetry=False, allow_reset=False),
            )
            self._collection = self._client.get_or_create_collection(
                name=collection_name(self.model_id),
                embedding_function=None,
                metadata={"hnsw:space": "cosine", "embed_model": self.model_id},
            )
        except Exception as exc:  # chromadb raises many types for a damaged folder
            if isinstance(exc, OSError) and not isinstance(exc, FileNotFoundError):
                raise  # permissions, disk: not damage
            raise LibraryDamagedError(
                f"The vector store {self.path} is damaged ({type(exc).__name__}: {' '.join(str(exc).split())[:120]}); "
                "run 'kidneytalk doctor --repair' (it keeps a backup and re-indexes from the stored documents)."
            ) from exc

    def reopen(self) -> None:
        """Drop cached state so writes by another process become visible."""
        self.close()
        self.open()

    @property
    def collection(self) -> Any:  # a chromadb Collection
        assert self._collection is not None, "store is closed"
        return self._collection

    def add(self, ids: Sequence[str], doc_ids: Sequence[str], vectors: np.ndarray) -> None:
        if not ids:
            return
        step = 1000
        for i in range(0, len(ids), step):
            self.collection.upsert(
                ids=list(ids[i : i + step]),
                embeddings=vectors[i : i + step],
                metadatas=[{"doc_id": d} for d in doc_ids[i : i + step]],
            )

    def delete_doc(self, doc_id: str) -> None:
        self.collection.delete(where={"doc_id": doc_id})

    def delete_ids(self, ids: Iterable[str]) -> None:
        ids = list(ids)
        for i in range(0, len(ids), 1000):
            self.collection.delete(ids=ids[i : i + 1000])

    def ids(self) -> list[str]:
        return list(self.collection.get(include=[])["ids"])

    def count_doc(self, doc_id: str) -> int:
        return len(self.collection.get(where={"doc_id": doc_id}, include=[])["ids"])

    def vectors(self, ids: Sequence[str]) -> dict[str, np.ndarray]:
        """The stored vectors of ``ids`` (unknown ids are left out): a copy taking a passage's place keeps it."""
        out: dict[str, np.ndarray] = {}
        ids = list(ids)
        for i in range(0, len(ids), 1000):
            got = self.collection.get(ids=ids[i : i + 1000], include=["embeddings"])
            for cid, e in zip(got["ids"], got["embeddings"], strict=False):
                out[cid] = np.asarray(e, dtype=np.float32)
        return out

    def similarities(self, vector: np.ndarray, ids: Sequence[str]) -> dict[str, float]:
        """Cosine similarity of ``vector`` to the stored vectors of ``ids``."""
        got = self.collection.get(ids=list(ids), include=["embeddings"])
        q = np.asarray(vector, dtype=np.float32)
        return {
            i: float(np.dot(np.asarray(e, dtype=np.float32), q))
            for i, e in zip(got["ids"], got["embeddings"], strict=False)
        }

    def query(self, vector: np.ndarray, k: int, doc_ids: Sequence[str]) -> list[tuple[str, float]]:
        """(chunk id, cosine similarity) of the k nearest chunks among ``doc_ids``."""
        if not doc_ids or k <= 0:
            return []
        where = {"doc_id": doc_ids[0]} if len(doc_ids) == 1 else {"doc_id": {"$in": list(doc_ids)}}
        res = self.collection.query(
            query_embeddings=[np.asarray(vector, dtype=np.float32)],
            n_results=k,
            where=where,
            include=["distances"],
        )
        ids = res["ids"][0] if res["ids"] else []
        dists = res["distances"][0] if res.get("distances") else []
        return [(i, 1.0 - float(d)) for i, d in zip(ids, dists, strict=False)]

    def close(self) -> None:
        if self._client is not None:
            try:
                self._client.clear_system_cache()
            except Exception:  # pragma: no cover - best effort across chroma versions
                log.debug("chroma clear_system_cache failed", exc_info=True)
        self._client = None
        self._collection = None
