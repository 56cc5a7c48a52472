"""``naive``: top-k vector search over ready, enabled documents (the plain-RAG baseline)."""

from __future__ import annotations

import json
import sqlite3
from typing import TYPE_CHECKING

from kidneytalk.records import Hit, pages_label

if TYPE_CHECKING:
    from kidneytalk.library import Library


def search(library: Library, query: str, k: int = 8) -> list[Hit]:
    """The ``k`` chunks closest to ``query``; empty when nothing is searchable."""
    if not query.strip():
        return []
    with library.reading():
        doc_ids = library.searchable_doc_ids()
        if not doc_ids:
            return []
        vector = library.embedder.embed_query(query)
        scored = library.store.query(vector, k, doc_ids)
        rows = library.catalog.chunks_by_ids([cid for cid, _ in scored])
    return hits_from_rows(scored, rows)


def hits_from_rows(scored: list[tuple[str, float]], rows: dict) -> list[Hit]:
    """Hits in ``scored`` order from catalog rows (ids without a committed chunk are skipped)."""
    hits = []
    for cid, score in scored:
        row = rows.get(cid)
        if row is None:  # vector without a committed chunk (should not happen): skip it
            continue
        hits.append(
            Hit(
                chunk_id=cid,
                doc_id=row["doc_id"],
                doc_name=row["doc_name"],
                text=row["text"],
                page_start=row["page_start"],
                page_end=row["page_end"],
                section=tuple(json.loads(row["section"])),
                score=score,
                ocr=bool(row["ocr"]),
                also_in=_copies(row),
            )
        )
    return hits


def _copies(row: sqlite3.Row) -> list[str]:
    """ "doc p.N" of the other places the passage is repeated, in its document or another (stored once at ingest)."""
    places = row["copy_sources"] if "copy_sources" in row.keys() else None  # noqa: SIM118 (a Row iterates values)
    if not places:
        return []
    own = f"{row['doc_name']} {pages_label(row['page_start'], row['page_end'])}"
    labels: list[str] = []
    for place in str(places).split("\x1e"):
        name, _, span = place.rpartition("\x1f")
        first, last = (int(p) for p in span.split("-"))
        label = f"{name} {pages_label(first, last)}"
        if label != own and label not in labels:
            labels.append(label)
    return labels
