"""AddRep stage 5 — context assembly: order kept passages and fit them to the budget."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from kidneytalk.records import Hit


def order(hits: Sequence[Hit], limit: int) -> list[Hit]:
    """The ``limit`` most similar passages, best first.

    The judge decides which passages stay (a yes/no filter, as in AddRep);
    the order comes from the retriever's similarity. Fusing the judge's graded
    relevance into the order was measured on the PubMedQA dev library with the
    embedded 135M model: the gold passage led the evidence in 66% of questions
    against 94% for similarity order (its relevance scores barely separate
    gold from other passages), and the first passages are what a copy-paste
    answer quotes first.
    """
    return sorted(hits, key=lambda h: -h.score)[:limit]


def fit_to_budget(hits: Sequence[Hit], used_tokens: Callable[[list[Hit]], int], budget: int) -> list[Hit]:
    """Drop the weakest passages until the prompt built from them fits ``budget`` tokens."""
    kept = list(hits)
    while kept and used_tokens(kept) > budget:
        kept.pop()
    return kept
