"""AddRep — Adaptive Retrieval and Augmentation Pipeline (KidneyTalk-open), as agents.

refine query -> first search -> divergent questions, each searched -> merge ->
LLM relevance judgement -> context assembly. Every stage can be switched off
in ``RetrievalSettings``, reports ``StageEvent`` progress and records its
inputs, outputs and time in a ``Trace``.

AddRep must find at least what its base search finds (issue 16). So the
first search's hits keep their order at the head of the evidence; divergent
questions only *add* candidates below them, each scored by its similarity to
the user's question (not to the divergent question that found it); the
judge, barely better than chance with a small model, removes a first-search
hit only when it is sure; and ``max_evidence`` is filled with first-search
hits before any divergent one. Records are never changed in place: stages
return new ``Hit`` records (``dataclasses.replace``).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from kidneytalk.config import RetrievalSettings
from kidneytalk.errors import Cancelled
from kidneytalk.llm_base import LLM
from kidneytalk.prompts import PromptBook
from kidneytalk.records import Hit
from kidneytalk.retrieval import assemble, hybrid, naive
from kidneytalk.retrieval.bridge import comparable
from kidneytalk.retrieval.divergent import divergent_questions
from kidneytalk.retrieval.judge import Judge
from kidneytalk.retrieval.refine import refine_query
from kidneytalk.trace import Trace

if TYPE_CHECKING:
    from kidneytalk.search import SearchIndex

Searcher = Callable[["SearchIndex", str, int], list[Hit]]


def base_searcher(name: str) -> Searcher:
    return hybrid.search if name == "hybrid" else naive.search


@dataclass(frozen=True)
class Merged:
    """Candidates after the merge: the first search's hits in their order, then divergent-only ones."""

    base: list[Hit]
    extra: list[Hit]
    below_threshold: int

    @property
    def all(self) -> list[Hit]:
        return self.base + self.extra


def merge(
    first: Sequence[Hit],
    divergent: Sequence[tuple[str, list[Hit]]],
    similarity: Mapping[str, float],
    min_similarity: float,
    *,
    query: str = "",
) -> Merged:
    """First-search hits in their own order, then passages only divergent questions found.

    A divergent-only passage is scored by ``similarity`` — its cosine to the
    user's question — and ordered by it; the score it had for the divergent
    question is not used. Passages under ``min_similarity`` are dropped, except
    first-search hits in the other language than the question (found through
    :mod:`~kidneytalk.retrieval.bridge`): the English-only embedder's cosine
    between a Chinese passage and an English question says nothing.
    """
    found: dict[str, list[str]] = {}
    for q, hits in divergent:
        for h in hits:
            found.setdefault(h.chunk_id, []).append(q)
    base_ids = {h.chunk_id for h in first}
    base = [
        replace(
            h,
            queries=[query, *found.get(h.chunk_id, [])]
            if query
            else list(found.get(h.chunk_id, [])),
        )
        for h in first
    ]
    extra: dict[str, Hit] = {}
    for _, hits in divergent:
        for h in hits:
            if h.chunk_id in base_ids or h.chunk_id in extra:
                continue
            extra[h.chunk_id] = replace(
                h, score=similarity.get(h.chunk_id, 0.0), queries=list(found[h.chunk_id])
            )
    kept_base = [h for h in base if h.score >= min_similarity or not comparable(query, h.text)]
    kept_extra = sorted(
        (h for h in extra.values() if h.score >= min_similarity), key=lambda h: -h.score
    )
    dropped = len(base) - len(kept_base) + len(extra) - len(kept_extra)
    return Merged(kept_base, kept_extra, dropped)


def similarities(library: SearchIndex, query: str, ids: Sequence[str]) -> dict[str, float]:
    """Cosine similarity of each chunk in ``ids`` to ``query``."""
    if not ids:
        return {}
    with library.reading():
        return library.similarities(library.embed_query(query), list(ids))


def _check(cancel: threading.Event | None) -> None:
    if cancel is not None and cancel.is_set():
        raise Cancelled("stopped")


def run(
    library: SearchIndex,
    llm: LLM,
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
    if not first:
        trace.skip("divergent", "nothing found")
        return query, []

    results: list[tuple[str, list[Hit]]] = []
    sure = (
        [h for h in first if h.score >= settings.min_similarity or not comparable(query, h.text)]
        if settings.trust_base
        else []
    )
    if settings.divergent and settings.n_divergent > 0 and len(sure) >= settings.max_evidence:
        # trusted first-search hits already fill the evidence: nothing a divergent question finds could enter it
        trace.skip("divergent", f"the first search filled the evidence ({len(sure)} passages)")
    elif settings.divergent and settings.n_divergent > 0:
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
        base_ids = {h.chunk_id for h in first}
        new_ids = list(
            dict.fromkeys(
                h.chunk_id for _, hits in results for h in hits if h.chunk_id not in base_ids
            )
        )
        merged = merge(
            first,
            results,
            similarities(library, query, new_ids),
            settings.min_similarity,
            query=query,
        )
        candidates = merged.all
        step.outputs.update(
            candidates=len(candidates),
            below_threshold=merged.below_threshold,
            ids=[h.chunk_id for h in candidates],
            base=len(merged.base),
            added=len(merged.extra),
        )

    if settings.judge and candidates:
        with trace.step(
            "judge", candidates=len(candidates), threshold=settings.judge_threshold
        ) as step:
            kept, verdicts, unjudged = _judge(llm, prompts, settings, query, merged, trace, cancel)
            step.outputs["verdicts"] = verdicts
            step.outputs["not_judged"] = unjudged
    else:
        kept = candidates
        trace.skip("judge", "switched off" if not settings.judge else "no candidates")

    trace.event("assemble", 1, 1)
    with trace.step("assemble", kept=len(kept), limit=settings.max_evidence) as step:
        base_ids = {h.chunk_id for h in merged.base}
        evidence = assemble.order(
            [h for h in kept if h.chunk_id in base_ids],
            settings.max_evidence,
            extra=[h for h in kept if h.chunk_id not in base_ids],
        )
        step.outputs["evidence"] = [h.chunk_id for h in evidence]
    return query, evidence


def _judge(
    llm: LLM,
    prompts: PromptBook,
    settings: RetrievalSettings,
    query: str,
    merged: Merged,
    trace: Trace,
    cancel: threading.Event | None,
) -> tuple[list[Hit], list[dict[str, object]], int]:
    """(kept candidates as new records, verdicts for the trace, candidates not judged).

    With ``trust_base`` on (the default) first-search hits are kept without
    a verdict, as hybrid search keeps them: the 135M judge ranks gold
    passages above others barely better than chance (AUC 0.54,
    bench/results/query.json), so a veto would hit a gold page nearly as
    often as another, at one forward pass each. With it off, the earlier rule applies:
    the best first hit and hits at least ``trust_similarity`` similar are
    trusted (removed only when the judge is sure, P < ``judge_veto``), other
    hits need P >= ``judge_threshold``. A divergent-only passage is trusted
    when at least ``trust_similarity`` similar to the question, and otherwise
    needs P >= ``judge_threshold``.
    Divergent-only passages are judged only while evidence slots are free:
    one that could not reach the evidence is not worth a forward pass. A
    reason is written (``judge_reasons``) only for passages that reach the
    evidence, since only those are shown.
    """
    judge_ = Judge(llm, prompts, query)
    best = max(merged.base, key=lambda h: h.score).chunk_id if merged.base else ""

    def trusted(h: Hit, from_base: bool) -> bool:
        if from_base and settings.trust_best and h.chunk_id == best:
            return True
        return h.score >= settings.trust_similarity

    verdicts: list[dict[str, object]] = []
    kept: list[Hit] = []
    if settings.trust_base:
        kept = [
            replace(h, reason=f"Found by the first search (similarity {h.score:.2f}).")
            for h in merged.base
        ]
        todo = [(h, False) for h in merged.extra]
    else:
        todo = [(h, True) for h in merged.base] + [(h, False) for h in merged.extra]
    trace.event("judge", 0, len(todo))
    unjudged = 0
    for i, (h, from_base) in enumerate(todo, start=1):
        _check(cancel)
        if not from_base and len(kept) >= settings.max_evidence:
            unjudged = len(todo) - i + 1
            break
        trace.event("judge", i, len(todo))
        p, rel = judge_.score(h)
        trust = trusted(h, from_base)
        relevant = rel >= settings.judge_threshold
        keep = relevant or (trust and rel >= settings.judge_veto)
        if settings.judge_reasons == "all" or (
            settings.judge_reasons == "kept" and relevant and len(kept) < settings.max_evidence
        ):
            # right after scoring it: llama.cpp reuses the judged prompt, only the reason is new
            reason = judge_.reason(h, relevant)
        elif relevant:
            reason = ""
        elif keep:
            reason = (
                f"Kept: {'found by the first search' if from_base else 'close to the question'} "
                f"(similarity {h.score:.2f}); the judge was unsure (P = {rel:.2f})."
            )
        else:
            reason = f"Judged not relevant (calibrated P = {rel:.2f})."
        if keep:
            kept.append(replace(h, relevance=rel, reason=reason))
        verdicts.append(
            {
                "id": h.chunk_id,
                "p_yes": round(p, 3),
                "relevance": round(rel, 3),
                "relevant": keep,
                "trusted": trust,
                "first_search": from_base,
                "reason": reason,
            }
        )
    return kept, verdicts, unjudged


STAGES = ("search", "divergent", "merge", "judge", "assemble")


def stage_ids(trace: Trace) -> dict[str, list[str]]:
    """Chunk ids present after each AddRep stage of ``trace`` (a skipped stage passes its input on).

    For per-stage reports: which stage added or removed a given passage.
    """
    steps = {s.stage: s for s in trace.steps}
    out: dict[str, list[str]] = {}
    current: list[str] = []
    for name in STAGES:
        s = steps.get(name)
        if s is not None and not s.skipped:
            if name == "search":
                current = [cid for cid, _ in s.outputs.get("hits", [])]
            elif name == "divergent":
                found = [cid for hits in s.outputs.get("hits", {}).values() for cid, _ in hits]
                current = list(dict.fromkeys([*current, *found]))
            elif name == "merge":
                current = list(s.outputs.get("ids", current))
            elif name == "judge":
                verdicts = s.outputs.get("verdicts", [])
                dropped = {v["id"] for v in verdicts if not v["relevant"]}
                current = [cid for cid in current if cid not in dropped]
            elif name == "assemble":
                current = list(s.outputs.get("evidence", []))
        out[name] = list(current)
    return out
