"""Verify that every answer sentence is backed by the passage it cites.

A sentence's *support* from a passage is the share of its content tokens
(stopwords and citation markers removed) covered by extractive fragments of
that passage. A sentence that cites nothing is matched against all evidence:
when one passage supports it well enough, the citation is added and marked as
inferred. Sentences under the threshold are flagged "unsupported" and never
presented as sourced.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field

from kidneytalk.extractive import fragments, tokenize
from kidneytalk.records import Hit
from kidneytalk.retrieval.lexical import STOPWORDS

MARKER = re.compile(r"\[(\d{1,2}(?:\s*[,，、]\s*\d{1,2})*)\]")
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[\"'(\[]?[A-Z0-9])")
# Chinese: a run of sentence-ending marks (。！？；, or ASCII !? before a Han character) and the
# closing quotes or brackets after it end a sentence: "「請停藥。」然後" splits after 」, "真的嗎？！" once.
_CLOSERS = "」』”’）)】〕》"
_CJK_SENTENCE_END = re.compile(f"[。！？；]+[{_CLOSERS}]*|[!?]+[{_CLOSERS}]*(?=[\u3400-\u9fff])")


def split_sentences(text: str) -> list[str]:
    """Sentences of English or Chinese text; a trailing citation stays with its sentence.

    A blank line always ends a sentence (a heading or a keyword line has no full stop).
    """
    paragraphs = re.split(r"\n\s*\n", text)
    if len(paragraphs) > 1:
        return [s for p in paragraphs for s in split_sentences(p)]
    text = " ".join(text.split()) if not re.search(r"[\u3000-\u9fff]", text) else text.strip()
    # keep "[1]" after the full stop with the sentence it follows
    text = re.sub(
        r"([.!?。！？])\s*((?:\[\d{1,2}(?:\s*[,，、]\s*\d{1,2})*\]\s*)+)",
        lambda m: f" {' '.join(m.group(2).split())}{m.group(1)} ",
        text,
    )
    parts = [p.strip() for part in _SENTENCE_END.split(text) for p in _split_cjk(part)]
    return [p for p in parts if p and re.search(r"\w", p)]


def _split_cjk(text: str) -> list[str]:
    """Cut after each Chinese sentence end (with its closing quotes); text without one stays whole."""
    out: list[str] = []
    pos = 0
    for m in _CJK_SENTENCE_END.finditer(text):
        out.append(text[pos : m.end()])
        pos = m.end()
    out.append(text[pos:])
    return out


def markers(sentence: str) -> list[int]:
    out: list[int] = []
    for m in MARKER.finditer(sentence):
        for part in re.split(r"\s*[,，、]\s*", m.group(1)):
            if int(part) not in out:
                out.append(int(part))
    return out


def content_tokens(text: str) -> list[str]:
    return [t for t in tokenize(MARKER.sub(" ", text)) if t not in STOPWORDS]


def support(sentence: str, passage: str) -> float:
    """Share of the sentence's content tokens inside fragments copied from ``passage``."""
    toks = tokenize(MARKER.sub(" ", sentence))
    content = [i for i, t in enumerate(toks) if t not in STOPWORDS]
    if not content:
        return 1.0
    covered: set[int] = set()
    for f in fragments(toks, [tokenize(passage)]):
        # a lone shared word is chance; runs of two or more tokens are copying
        if f.length >= 2 or (toks[f.start] not in STOPWORDS and len(toks[f.start]) > 3):
            covered.update(range(f.start, f.start + f.length))
    return sum(1 for i in content if i in covered) / len(content)


@dataclass
class SentenceCheck:
    text: str
    cited: list[int] = field(default_factory=list)  # [n] markers the model wrote (valid ones)
    inferred: list[int] = field(default_factory=list)  # citations KidneyTalk added
    support: float = 0.0
    supported: bool = False

    def to_json(self) -> dict[str, object]:
        return {
            "text": self.text,
            "cited": self.cited,
            "inferred": self.inferred,
            "support": round(self.support, 3),
            "supported": self.supported,
        }


def verify(answer: str, evidence: Sequence[Hit], *, threshold: float = 0.5) -> list[SentenceCheck]:
    checks: list[SentenceCheck] = []
    for sentence in split_sentences(answer):
        cited = [n for n in markers(sentence) if 1 <= n <= len(evidence)]
        check = SentenceCheck(sentence, cited)
        if cited:
            check.support = max(support(sentence, evidence[n - 1].text) for n in cited)
        else:
            scored = [(support(sentence, h.text), i + 1) for i, h in enumerate(evidence)]
            if scored:
                best, n = max(scored)
                check.support = best
                if best >= threshold:
                    check.inferred = [n]
        check.supported = check.support >= threshold
        checks.append(check)
    return checks
