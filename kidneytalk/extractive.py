"""Extractiveness of an answer against its sources (Grusky et al., 2018).

Extractive fragments F(A, S) are found greedily: at each position of the
answer A, the longest token sequence that also occurs in the source S is
taken. Then

* coverage = (1/|A|) * sum(|f|)      — share of answer tokens copied from the source;
* density  = (1/|A|) * sum(|f|^2)    — mean length of the copied run a token belongs to.

Tokens are :func:`kidneytalk.lexical.tokenize`'s: lowercased words for alphabetic
scripts and single characters for CJK, so the measures work for English and
Chinese alike.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass

from kidneytalk.lexical import token_spans, tokenize


@dataclass
class Fragment:
    start: int  # position in the answer tokens
    length: int
    source: int  # index of the source it was copied from
    source_start: int


@dataclass
class Extractiveness:
    coverage: float
    density: float
    fragments: list[Fragment]
    answer_tokens: int

    def to_json(self) -> dict[str, float | int]:
        return {
            "coverage": round(self.coverage, 4),
            "density": round(self.density, 3),
            "answer_tokens": self.answer_tokens,
            "fragments": len(self.fragments),
        }


def fragments(answer: Sequence[str], sources: Sequence[Sequence[str]]) -> list[Fragment]:
    """Greedy longest shared token runs of ``answer`` in any of ``sources``."""
    positions: dict[str, list[tuple[int, int]]] = defaultdict(list)
    for si, src in enumerate(sources):
        for j, tok in enumerate(src):
            positions[tok].append((si, j))
    out: list[Fragment] = []
    i = 0
    while i < len(answer):
        best = None
        for si, j in positions.get(answer[i], ()):
            src = sources[si]
            n = 0
            while i + n < len(answer) and j + n < len(src) and answer[i + n] == src[j + n]:
                n += 1
            if best is None or n > best.length:
                best = Fragment(i, n, si, j)
        if best is None:
            i += 1
            continue
        out.append(best)
        i += best.length
    return out


def extractiveness(answer: str, sources: Sequence[str]) -> Extractiveness:
    a = tokenize(answer)
    frags = fragments(a, [tokenize(s) for s in sources])
    if not a:
        return Extractiveness(0.0, 0.0, [], 0)
    coverage = sum(f.length for f in frags) / len(a)
    density = sum(f.length**2 for f in frags) / len(a)
    return Extractiveness(coverage, density, frags, len(a))


def copied_spans(answer: str, source: str, *, min_tokens: int = 2) -> list[tuple[int, int, int]]:
    """Character spans of ``source`` that ``answer`` copied: ``(start, end, run length in tokens)``.

    Runs shorter than ``min_tokens`` are left out (a lone shared word is chance).
    The run length lets a viewer shade long copies darker (a heat map of density).
    """
    spans = token_spans(source)
    out: list[tuple[int, int, int]] = []
    for f in fragments(tokenize(answer), [[tok for tok, _, _ in spans]]):
        if f.length >= min_tokens:
            first, last = spans[f.source_start], spans[f.source_start + f.length - 1]
            out.append((first[1], last[2], f.length))
    return sorted(out)
