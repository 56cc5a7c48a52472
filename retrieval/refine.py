"""AddRep stage 1 — query refinement: a self-contained search query from question + history.

Only runs when there is history (a first question is already self-contained).
A rewrite that is empty, runs on, repeats the question, or shares no content
word with the conversation is discarded: a small model must not derail
retrieval. Then a short follow-up ("what about in children?") is searched
together with the previous question, and anything longer as it is.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from kidneytalk.lexical import STOPWORDS, terms
from kidneytalk.llm_base import LLM
from kidneytalk.prompts import PromptBook

MAX_HISTORY_TURNS = 3
FOLLOW_UP_MAX_TERMS = 4  # "What about in children?" has one content term
FOLLOW_UP_MAX_CJK_WORDS = 1  # 「那腹膜透析呢？」 has one word of its own


def short_follow_up(question: str) -> bool:
    """Whether ``question`` is too short to be searched alone after another question.

    In English: :data:`FOLLOW_UP_MAX_TERMS` words or fewer beside stopwords. A question mostly
    in Chinese counts its dictionary words that are neither question words (为什么, 多久) nor
    everyday ones (那, 呢, 如果: :func:`~kidneytalk.retrieval.bridge.specificity` 0), and is short
    with :data:`FOLLOW_UP_MAX_CJK_WORDS`: 「為什麼？」 has none, 「那腹膜透析呢？」 one, 「血鉀太高會有什麼
    症狀？」 four. (Its characters and bigrams, which :func:`~kidneytalk.lexical.terms` gives, made
    every Chinese question but the shortest long, 「為什麼？」 too.)
    """
    from kidneytalk.retrieval.bridge import CJK_QUESTION_WORDS, chinese_words, specificity
    from kidneytalk.retrieval.gate import CJK_MAJORITY, cjk_share

    if cjk_share(question) < CJK_MAJORITY:
        return len([t for t in terms(question) if t not in STOPWORDS]) <= FOLLOW_UP_MAX_TERMS
    own = [w for w in chinese_words(question) if w not in CJK_QUESTION_WORDS and specificity(w) > 0]
    latin = [t for t in terms(question) if t.isascii() and t not in STOPWORDS]
    return len(own) + len(latin) <= FOLLOW_UP_MAX_CJK_WORDS


def format_history(history: Sequence[dict[str, str]], limit: int = MAX_HISTORY_TURNS) -> str:
    turns = [m for m in history if m.get("role") in ("user", "assistant")][-2 * limit :]
    lines = []
    for m in turns:
        who = "Clinician" if m["role"] == "user" else "KidneyTalk"
        text = " ".join(m["content"].split())
        lines.append(f"{who}: {text[:400]}")
    return "\n".join(lines)


def refine_query(
    llm: LLM, prompts: PromptBook, question: str, history: Sequence[dict[str, str]]
) -> str:
    if not history:
        return question
    prompt = prompts.render("refine", history=format_history(history), question=question)
    raw = llm.complete(
        [{"role": "user", "content": prompt}], max_tokens=60, temperature=0.0, stop=["\n"]
    )
    rewrite = re.sub(
        r"^(search (query|question)|rewritten question|query|(the\s+)?latest question)\s*:\s*",
        "",
        raw.strip(),
        flags=re.I,
    )
    rewrite = rewrite.strip().strip('"').strip()
    if acceptable(rewrite, question, history) and _norm(rewrite) != _norm(question):
        return rewrite
    return fallback_query(question, history)


def fallback_query(question: str, history: Sequence[dict[str, str]]) -> str:
    """Without a usable rewrite, a short follow-up borrows the previous question's topic."""
    previous = next((m["content"] for m in reversed(history) if m.get("role") == "user"), "")
    if previous and short_follow_up(question):
        return f"{previous.strip()} {question}"
    return question


def _norm(text: str) -> str:
    return " ".join(terms(text))


def acceptable(rewrite: str, question: str, history: Sequence[dict[str, str]]) -> bool:
    """A rewrite must stay on the conversation's topic, and a short follow-up must name it."""
    if not rewrite or len(rewrite) > 4 * len(question) + 200:
        return False
    asked = {t for t in terms(question) if t not in STOPWORDS}
    earlier = {t for m in history for t in terms(m["content"]) if t not in STOPWORDS}
    content = {t for t in terms(rewrite) if t not in STOPWORDS}
    if not content & (asked | earlier):
        return False
    # "What about in children?" only becomes self-contained by naming something said before
    if short_follow_up(question):
        return bool((content - asked) & earlier)
    return True
