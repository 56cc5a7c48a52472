"""``hybrid``: vector search and BM25 (SQLite FTS5) fused by reciprocal rank.

When the library holds passages in the other language (English and Chinese),
BM25 over the question's dictionary translation
(:mod:`~kidneytalk.retrieval.bridge`) joins the fusion where it covers more of
the question than the direct matches do, and replaces the direct lexical
ranking where the question's own words find little.

Both lists are drawn from the same ready, enabled documents. Every fused hit
carries its cosine similarity to the query (fetched for lexical-only hits), so
thresholds mean the same thing in every mode.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from kidneytalk.records import Hit
from kidneytalk.retrieval import bridge
from kidneytalk.retrieval.naive import hits_from_rows

if TYPE_CHECKING:
    from kidneytalk.library import Library

RRF_K = 60  # the constant of Cormack et al. (2009)


def rrf(rankings: list[list[str]], k: int = RRF_K) -> list[tuple[str, float]]:
    """Reciprocal-rank fusion of several rankings of ids, best first."""
    scores: dict[str, float] = {}
    for ranking in rankings:
        for rank, item in enumerate(ranking, start=1):
            scores[item] = scores.get(item, 0.0) + 1.0 / (k + rank)
    return sorted(scores.items(), key=lambda kv: -kv[1])


def search(library: Library, query: str, k: int = 8, *, pool: int | None = None) -> list[Hit]:
    """Top ``k`` of the fused vector and lexical rankings (each ``pool`` deep)."""
    if not query.strip():
        return []
    depth = pool or max(20, 3 * k)
    with library.reading():
        doc_ids = library.searchable_doc_ids()
        if not doc_ids:
            return []
        vector = library.embedder.embed_query(query)
        dense = library.store.query(vector, depth, doc_ids)
        lexical = library.catalog.lexical_search(query, depth, doc_ids)
        rankings = [[cid for cid, _ in dense], [cid for cid, _ in lexical]]
        # Where the question's translation matches passages in the other language better than
        # its own words do, those passages join the fusion, or replace the direct matches
        # when the question's own words find little (a question in the other language).
        crossed = bridge.ranking(library, query, depth, doc_ids, lexical)
        if crossed is not None:
            rankings[1:] = [crossed.ids] if crossed.instead else [rankings[1], crossed.ids]
        fused = rrf(rankings)[:k]
        ids = [cid for cid, _ in fused]
        cosine = dict(dense)
        missing = [cid for cid in ids if cid not in cosine]
        if missing:
            cosine.update(library.store.similarities(vector, missing))
        rows = library.catalog.chunks_by_ids(ids)
    return hits_from_rows([(cid, cosine.get(cid, 0.0)) for cid in ids], rows)
