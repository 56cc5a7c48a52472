"""AddRep stage 5 — context assembly: order kept passages and fit them to the budget."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from kidneytalk.records import Hit
from kidneytalk.retrieval.hybrid import rrf


def order(hits: Sequence[Hit], limit: int) -> list[Hit]:
    """Best first by reciprocal-rank fusion of the judge's and the retriever's rankings.

    Either ranking alone can be noisy (a small model's judge, an embedder's
    blind spot); fused, a passage must do well in both to lead. Without judge
    verdicts this is the similarity order.
    """
    by_score = sorted(hits, key=lambda h: -h.score)
    if all(h.relevance is None for h in hits):
        return by_score[:limit]
    by_judge = sorted(hits, key=lambda h: -(h.relevance or 0.0))
    fused = rrf([[h.chunk_id for h in by_judge], [h.chunk_id for h in by_score]])
    index = {h.chunk_id: h for h in hits}
    return [index[cid] for cid, _ in fused][:limit]


def fit_to_budget(hits: Sequence[Hit], used_tokens: Callable[[list[Hit]], int], budget: int) -> list[Hit]:
    """Drop the weakest passages until the prompt built from them fits ``budget`` tokens."""
    kept = list(hits)
    while kept and used_tokens(kept) > budget:
        kept.pop()
    return kept
