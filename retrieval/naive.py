"""``naive``: top-k vector search over ready, enabled documents (the plain-RAG baseline)."""

from __future__ import annotations

import json
from collections.abc import Mapping

from kidneytalk.catalog import StoredPassage
from kidneytalk.records import Hit, pages_label
from kidneytalk.search import Ranking, SearchIndex


def search(library: SearchIndex, query: str, k: int = 8) -> list[Hit]:
    """The ``k`` chunks closest to ``query``; empty when nothing is searchable."""
    if not query.strip():
        return []
    with library.reading():
        doc_ids = library.searchable_doc_ids()
        if not doc_ids:
            return []
        vector = library.embed_query(query)
        scored = library.dense(vector, k, doc_ids)
        passages = library.passages([cid for cid, _ in scored])
    return hits_from_passages(scored, passages)


def hits_from_passages(scored: Ranking, passages: Mapping[str, StoredPassage]) -> list[Hit]:
    """Hits in ``scored`` order from stored passages (ids without a committed chunk are skipped)."""
    hits = []
    for cid, score in scored:
        p = passages.get(cid)
        if p is None:  # vector without a committed chunk (should not happen): skip it
            continue
        hits.append(
            Hit(
                chunk_id=cid,
                doc_id=p.doc_id,
                doc_name=p.doc_name,
                text=p.text,
                page_start=p.page_start,
                page_end=p.page_end,
                section=tuple(json.loads(p.section)),
                score=score,
                ocr=p.ocr,
                also_in=_copies(p),
            )
        )
    return hits


def _copies(passage: StoredPassage) -> list[str]:
    """ "doc p.N" of the other places the passage is repeated, in its document or another (stored once at ingest)."""
    own = f"{passage.doc_name} {pages_label(passage.page_start, passage.page_end)}"
    labels: list[str] = []
    for name, first, last in passage.copies:
        label = f"{name} {pages_label(first, last)}"
        if label != own and label not in labels:
            labels.append(label)
    return labels
