"""AddRep — Adaptive Retrieval and Augmentation Pipeline (KidneyTalk-open), as agents.

refine query -> first search -> divergent questions, each searched -> merge and
deduplicate with a similarity threshold -> LLM relevance judgement -> context
assembly. Every stage can be switched off in ``RetrievalSettings``, reports
``StageEvent`` progress and records its inputs, outputs and time in a ``Trace``.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from kidneytalk.config import RetrievalSettings
from kidneytalk.errors import Cancelled
from kidneytalk.llm import LocalLLM
from kidneytalk.prompts import PromptBook  # type: ignore[attr-defined]
from kidneytalk.records import Hit
from kidneytalk.retrieval import assemble, hybrid, naive
from kidneytalk.retrieval.divergent import divergent_questions
from kidneytalk.retrieval.judge import judge
from kidneytalk.retrieval.refine import refine_query
from kidneytalk.retrieval.trace import Trace

if TYPE_CHECKING:
    from kidneytalk.library import Library

Searcher = Callable[["Library", str, int], list[Hit]]


def base_searcher(name: str) -> Searcher:
    return hybrid.search if name == "hybrid" else naive.search


def merge(results: Sequence[tuple[str, list[Hit]]], min_similarity: float) -> tuple[list[Hit], int]:
    """Union of hits by chunk id (best score kept, queries recorded); drops those under the threshold."""
    merged: dict[str, Hit] = {}
    for query, hits in results:
        for h in hits:
            seen = merged.get(h.chunk_id)
            if seen is None:
                h.queries = [query]
                merged[h.chunk_id] = h
            else:
                seen.queries.append(query)
                seen.score = max(seen.score, h.score)
    kept = [h for h in merged.values() if h.score >= min_similarity]
    kept.sort(key=lambda h: -h.score)
    return kept, len(merged) - len(kept)


def _check(cancel: threading.Event | None) -> None:
    if cancel is not None and cancel.is_set():
        raise Cancelled("stopped")


def run(
    library: Library,
    llm: LocalLLM,
    prompts: PromptBook,
    settings: RetrievalSettings,
    question: str,
    *,
    history: Sequence[dict[str, str]] = (),
    trace: Trace | None = None,
    cancel: threading.Event | None = None,
) -> tuple[str, list[Hit]]:
    """(search query used, evidence) for ``question``; evidence is empty when nothing relevant survives."""
    trace = trace or Trace()
    search = base_searcher(settings.base)

    if settings.refine_query and history:
        trace.event("refine", 1, 1)
        with trace.step("refine", question=question, history_turns=len(history)) as step:
            query = refine_query(llm, prompts, question, history)
            step.outputs["query"] = query
    else:
        query = question
        trace.skip("refine", "switched off" if not settings.refine_query else "no history")
    _check(cancel)

    trace.event("search", 1, 1)
    with trace.step("search", query=query, k=settings.k_first) as step:
        first = search(library, query, settings.k_first)
        step.outputs["hits"] = [(h.chunk_id, round(h.score, 3)) for h in first]
    results = [(query, first)]
    trusted = {h.chunk_id for h in first if h.score >= settings.trust_similarity}  # before merge raises scores
    if settings.trust_best and first:
        trusted.add(max(first, key=lambda h: h.score).chunk_id)
    if not first:
        trace.skip("divergent", "nothing found")
        return query, []

    if settings.divergent and settings.n_divergent > 0:
        trace.event("divergent", 0, settings.n_divergent, "writing questions")
        with trace.step("divergent", question=query, n=settings.n_divergent) as step:
            questions = divergent_questions(llm, prompts, query, first, settings.n_divergent)
            step.outputs["questions"] = questions
            found = {}
            for i, q in enumerate(questions, start=1):
                _check(cancel)
                trace.event("divergent", i, len(questions), q)
                hits = search(library, q, settings.k_divergent)
                results.append((q, hits))
                found[q] = [(h.chunk_id, round(h.score, 3)) for h in hits]
            step.outputs["hits"] = found
    else:
        trace.skip("divergent", "switched off")
    _check(cancel)

    with trace.step("merge", threshold=settings.min_similarity) as step:
        candidates, dropped = merge(results, settings.min_similarity)
        step.outputs.update(candidates=len(candidates), below_threshold=dropped)

    if settings.judge and candidates:
        with trace.step("judge", candidates=len(candidates), threshold=settings.judge_threshold) as step:
            verdicts = judge(llm, prompts, query, candidates, threshold=settings.judge_threshold,
                             reasons=settings.judge_reasons, trace=trace, cancel=cancel)
            for v in verdicts:
                if not v.relevant and v.hit.chunk_id in trusted and v.relevance >= settings.judge_veto:
                    v.relevant = True
                    v.reason = (f"Kept: one of the closest matches to the question (similarity {v.hit.score:.2f}); "
                                f"the judge was unsure (P = {v.relevance:.2f}).")
                v.hit.relevance, v.hit.reason = v.relevance, v.reason
            kept = [v.hit for v in verdicts if v.relevant]
            step.outputs["verdicts"] = [
                {"id": v.hit.chunk_id, "p_yes": round(v.p_yes, 3), "relevance": round(v.relevance, 3),
                 "relevant": v.relevant, "trusted": v.hit.chunk_id in trusted, "reason": v.reason}
                for v in verdicts
            ]
    else:
        kept = candidates
        trace.skip("judge", "switched off" if not settings.judge else "no candidates")

    trace.event("assemble", 1, 1)
    with trace.step("assemble", kept=len(kept), limit=settings.max_evidence) as step:
        evidence = assemble.order(kept, settings.max_evidence)
        step.outputs["evidence"] = [h.chunk_id for h in evidence]
    return query, evidence
