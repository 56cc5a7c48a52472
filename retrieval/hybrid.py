"""``hybrid``: vector search and BM25 (SQLite FTS5) fused by reciprocal rank.

When the library holds passages in the other language (English and Chinese),
BM25 over the question's dictionary translation
(:mod:`~kidneytalk.retrieval.bridge`) joins the fusion where it covers more of
the question than the direct matches do, and replaces the direct lexical
ranking where the question's own words find little. A question the embedding
model cannot read (mostly unknown tokens: Chinese for the bundled MiniLM) is
ranked by its words alone; on realdocs-dev's Chinese questions BM25 alone
ranked the gold page at least as high as the fusion every time.

When the question names documents by their file name or title ("the AHA
fact sheet", :mod:`~kidneytalk.retrieval.sources`), the passages of those
documents, ranked by the question within them, join the fusion with the
weight of two lists (:data:`NAMED_WEIGHT`): on realdocs-dev, a passage of a
document on the same topic no longer outranks the one the question asks about.

Both lists are drawn from the same ready, enabled documents. Every fused hit
carries its cosine similarity to the query (fetched for lexical-only hits), so
thresholds mean the same thing in every mode.
"""

from __future__ import annotations

from kidneytalk.records import Hit
from kidneytalk.retrieval import bridge, sources
from kidneytalk.retrieval.naive import hits_from_passages
from kidneytalk.search import SearchIndex

RRF_K = 60  # the constant of Cormack et al. (2009)
# The ranking within the documents a question names counts as much as dense and BM25 together.
NAMED_WEIGHT = 2
UNREADABLE = 0.5  # share of unknown tokens above which a question's vector is not used


def rrf(rankings: list[list[str]], k: int = RRF_K) -> list[tuple[str, float]]:
    """Reciprocal-rank fusion of several rankings of ids, best first."""
    scores: dict[str, float] = {}
    for ranking in rankings:
        for rank, item in enumerate(ranking, start=1):
            scores[item] = scores.get(item, 0.0) + 1.0 / (k + rank)
    return sorted(scores.items(), key=lambda kv: -kv[1])


def search(library: SearchIndex, query: str, k: int = 8, *, pool: int | None = None) -> list[Hit]:
    """Top ``k`` of the fused vector and lexical rankings (each ``pool`` deep)."""
    if not query.strip():
        return []
    depth = pool or max(20, 3 * k)
    with library.reading():
        doc_ids = library.searchable_doc_ids()
        if not doc_ids:
            return []
        vector = library.embed_query(query)
        dense = library.dense(vector, depth, doc_ids)
        lexical = library.lexical(query, depth, doc_ids)
        # A question the embedder cannot read (mostly unknown tokens, e.g. Chinese for the
        # English-only MiniLM) gets no vector ranking: its vector says nothing.
        readable = library.unknown_share(query) < UNREADABLE
        rankings = [[cid for cid, _ in dense] if readable else [], [cid for cid, _ in lexical]]
        # Where the question's translation matches passages in the other language better than
        # its own words do, those passages join the fusion, or replace the direct matches
        # when the question's own words find little (a question in the other language).
        crossed = bridge.ranking(
            library, query, depth, doc_ids, lexical, dense=dense if readable else []
        )
        if crossed is not None:
            rankings[1:] = [crossed.ids] if crossed.instead else [rankings[1], crossed.ids]
        # Passages of the documents the question names ("the AHA fact sheet"), ranked within them,
        # join with the weight of two rankings.
        named = sources.named_documents(query, library.document_labels(doc_ids))
        if named:
            inner = [
                [cid for cid, _ in library.dense(vector, depth, named)] if readable else [],
                [cid for cid, _ in library.lexical(query, depth, named)],
                bridge.translated(library, query, depth, named),
            ]
            rankings += [[cid for cid, _ in rrf(inner)]] * NAMED_WEIGHT
        fused = rrf(rankings)[:k]
        ids = [cid for cid, _ in fused]
        cosine = dict(dense)
        missing = [cid for cid in ids if cid not in cosine]
        if missing:
            cosine.update(library.similarities(vector, missing))
        passages = library.passages(ids)
    return hits_from_passages([(cid, cosine.get(cid, 0.0)) for cid in ids], passages)
