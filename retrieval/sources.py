"""Documents a question names: "the AHA fact sheet", "the E-DA kidney biopsy leaflet".

Clinicians often say which document they mean ("per the KDIGO 2024 pediatric
takeaways, …"). The passage that answers may not repeat those words, and a
passage of another document on the same topic can outrank it, so hybrid search
adds one more ranking to its fusion: the passages of the documents whose file
name or title the question's words match (:func:`named_documents`), ranked by
the question within those documents.

A document counts as named when at least :data:`MIN_NAMED_TERMS` of the
question's words occur in its name or title, each in at most half of the
library's documents: words every file name shares ("digest", "volume") name
none of them. Words match as whole terms, or as prefixes of at least
:data:`MIN_PREFIX` letters ("pediatric" meets "pediatricians"), after folding
British spellings ("haemodialysis" meets "hemodialysis").
"""

from __future__ import annotations

import functools
import math
import re
from collections.abc import Callable, Sequence, Set
from pathlib import PurePath

from kidneytalk.clean import CJK_CHARS
from kidneytalk.lexical import QUESTION_WORDS, STOPWORDS, fold, terms

MIN_NAMED_TERMS = 2  # distinct question words a document's name must hold
MIN_PREFIX = 6  # shortest word that matches as a prefix of a longer one
TOPICAL_SHARE = 0.25  # a naming word in this share of its document's passages is its topic too
TOPIC_SAMPLE = 200  # passages of a long document read to measure that share
CLOSE_TO_BEST = 0.75  # documents named at least this much as the best named one are kept
MAX_NAMED = 3  # documents one question can name (each adds a ranking to every search)
_SEPARATORS = re.compile(r"[_()\[\]{}+,;:]+")
_CJK_RUN = re.compile(f"(?:{CJK_CHARS.pattern})+")
_WORD = re.compile(r"[^\W_]+(?:[-'][^\W_]+)*")  # a word of the question as written
_LETTERS_DIGITS = re.compile(r"(?<=[A-Za-z])(?=\d)|(?<=\d)(?=[A-Za-z])")


def _fold_spelling(word: str) -> str:
    """British medical spellings as American ones, on both sides of a match (haem → hem, oedema → edema)."""
    return word.replace("ae", "e").replace("oe", "e") if word.isascii() else word


@functools.lru_cache(maxsize=4096)
def label_terms(text: str) -> frozenset[str]:
    """The words of a file name or title that can name it (file extension, separators and digits split off)."""
    text = _SEPARATORS.sub(" ", text)
    text = _LETTERS_DIGITS.sub(" ", text)
    return frozenset(_usable(terms(text) + [t.replace("-", "") for t in terms(text) if "-" in t]))


def question_terms(question: str) -> set[str]:
    """The question's words that may name a document (hyphens dropped too: "E-DA" → "eda")."""
    words = terms(_LETTERS_DIGITS.sub(" ", question))
    return _usable(words + [t.replace("-", "") for t in words if "-" in t]) - QUESTION_WORDS


def _usable(words: Sequence[str]) -> set[str]:
    out = set()
    for w in words:
        if w in STOPWORDS or "-" in w or "/" in w or "." in w:
            continue
        if CJK_CHARS.search(w):
            if len(w) >= 2:  # bigrams: single characters are shared by any two Chinese texts
                out.add(w)
        elif len(w) >= 3:
            out.add(_fold_spelling(w))
    return out


def _matches(word: str, label: Set[str]) -> bool:
    if word in label:
        return True
    if len(word) < MIN_PREFIX or not word.isascii():
        return False
    return any(len(t) >= MIN_PREFIX and (t.startswith(word) or word.startswith(t)) for t in label)


def document_label(name: str, title: str) -> str:
    """The text a document can be named by: its file name without the extension, and its title."""
    return f"{PurePath(name).stem} {title}"


def named_documents(question: str, labels: dict[str, tuple[str, str]]) -> list[str]:
    """Ids of the documents ``question`` names (best first), from each one's (file name, title)."""
    return list(_naming(question, labels))


def without_names(
    question: str,
    labels: dict[str, tuple[str, str]],
    passages: Callable[[str], Sequence[str]] | None = None,
) -> str:
    """``question`` without the words that only name documents ("the AHA … fact sheet").

    What is left asks for the content: evidence sentences are ranked by it, so
    that a document's own title line, which holds every naming word, is not
    taken for the answer. A naming word that is also the document's topic (it
    occurs in at least :data:`TOPICAL_SHARE` of the passages ``passages(doc_id)``
    gives, as "dementia" does in a study of dementia) stays; for a long document
    ``passages`` should give a sample (:data:`TOPIC_SAMPLE` passages). The question is
    kept whole when fewer than :data:`MIN_NAMED_TERMS` of its words would be left.
    """
    naming: set[str] = set()
    for doc_id, words in _naming(question, labels).items():
        texts = [_usable(terms(t)) for t in passages(doc_id)] if passages else []
        naming |= {
            w
            for w in words
            if not texts or sum(_matches(w, t) for t in texts) < TOPICAL_SHARE * len(texts)
        }
    if not naming:
        return question
    written = [m.group(0) for m in _WORD.finditer(question)]
    kept = [w for w in written if not (question_terms(w) and question_terms(w) <= naming)]
    rest = " ".join(kept)
    if len(kept) == len(written) or len(question_terms(rest) - naming) < MIN_NAMED_TERMS:
        return question
    return rest


# Words for a kind of document, which ask for no content ("per the leaflet", 「卫教单列为…」):
# passages do not hold them, whatever the library's file names. Longer forms first.
KIND_WORDS = re.compile(
    r"\b(?:leaflets?|booklets?|brochures?|pamphlets?|handouts?|infographics?|fact[ -]?sheets?)\b"
    r"|衛教單張|卫教单张|衛教單|卫教单|衛教手冊|卫教手册|小冊子|小册子|單張|单张|傳單|传单|手冊|手册"
    r"|摺頁|折页|折頁"
    r"|說明單|说明单|文宣|衛教|卫教",
    re.IGNORECASE,
)


def without_kind_words(question: str) -> str:
    """``question`` without the words for a kind of document (:data:`KIND_WORDS`); whole when
    nothing else would be left."""
    rest = KIND_WORDS.sub(" ", question)
    return rest if rest != question and question_terms(rest) else question


def _naming(question: str, labels: dict[str, tuple[str, str]]) -> dict[str, set[str]]:
    """The documents ``question`` names, best first, each with the question's words that name it."""
    if len(labels) < 2:
        return {}
    words = question_terms(question)
    if not words:
        return {}
    label_words = {
        doc_id: label_terms(document_label(name, title)) for doc_id, (name, title) in labels.items()
    }
    n = len(label_words)
    found: dict[str, set[str]] = {
        doc_id: {w for w in words if _matches(w, lw)} for doc_id, lw in label_words.items()
    }
    df: dict[str, int] = {}
    for hits in found.values():
        for w in hits:
            df[w] = df.get(w, 0) + 1
    # a word in more than half of the names tells them apart too little to name one
    scores: dict[str, float] = {}
    naming: dict[str, set[str]] = {}
    for doc_id, hits in found.items():
        rare = {w for w in hits if df[w] <= n / 2}
        if _word_count(question, rare) >= MIN_NAMED_TERMS:
            scores[doc_id] = sum(math.log((n + 1) / df[w]) for w in rare)
            naming[doc_id] = rare
    if not scores:
        return {}
    best = max(scores.values())
    kept = sorted(
        (d for d, s in scores.items() if s >= CLOSE_TO_BEST * best), key=lambda d: -scores[d]
    )[:MAX_NAMED]
    return {d: naming[d] for d in kept}


def _word_count(question: str, matched: set[str]) -> int:
    """How many of the question's words ``matched`` holds: "kidney-biopsy" counts its parts, not
    also their glued form, and overlapping Chinese bigrams (腎臟, 臟切, 切片) count as the
    two-character words they cover (腎臟, 切片)."""
    words = terms(_LETTERS_DIGITS.sub(" ", question))
    glued = {t.replace("-", ""): set(t.split("-")) for t in words if "-" in t}
    count = 0
    for w in matched:
        if CJK_CHARS.search(w):
            continue
        parts = glued.get(w)
        if parts and {_fold_spelling(p) for p in parts} & matched:
            continue
        count += 1
    for run in _CJK_RUN.findall(fold(question).lower()):
        i = 0
        while i < len(run) - 1:
            if run[i : i + 2] in matched:
                count += 1
                i += 2
            else:
                i += 1
    return count
