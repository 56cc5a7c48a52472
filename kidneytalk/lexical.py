"""The one tokenizer of KidneyTalk's text matching, in two named variants.

Everything that compares words — BM25 search, the relevance gate, the query
rewrite check, the dictionary bridge, citation support, extractiveness and the
assembly's duplicate test — cuts text into words here, with one word pattern
(letters and digits, joined through inner punctuation) and one rule for
Chinese (CJK runs have no spaces, so they are cut into characters). The two
variants differ where their jobs differ:

* :func:`terms` — **search terms**, as the FTS5 index stores them and queries
  ask for them. Medical abbreviations and drug names (eGFR, ACR, SGLT2,
  "SGLT2-inhibitor", "mg/dL") need exact matches that embeddings blur, so words
  join through ``-``, ``/`` and ``.`` and a joined word also indexes its parts.
  CJK runs give single characters *and* bigrams (a bigram is about a word, a
  character says little). Text is folded (below) and lowercased.
* :func:`tokenize` / :func:`token_spans` — **word tokens**, for asking whether
  an answer copied its source (extractive fragments, citation support). A
  token is one unit of copying: words join through ``-``, ``'`` and ``.``
  ("patient's" is one word), parts are not repeated, each CJK character is one
  token, nothing is folded, and every token keeps its character span in the
  original text so a viewer can highlight what was copied.

Traditional and Simplified Chinese are folded to one script (Simplified) with
OpenCC's ``t2s`` tables, for indexed text and queries alike, so a question in
either script finds passages written in the other. OpenCC ships its tables
inside the wheel (no download) and converts in C++, so folding a 5 MB text
takes a fraction of a second; text without CJK characters skips it. Full-width
and compatibility forms (``ＡＣＲ``, ``１２``) are folded with NFKC. Changing any
of the search variant changes :data:`LEXICAL_VERSION`, and a catalog indexed
with another version rebuilds its lexical index when opened.

Work is linear in the text: one regular-expression pass, and per word only
C-level checks.
"""

from __future__ import annotations

import functools
import logging
import re
import unicodedata
from collections.abc import Callable, Iterable

from kidneytalk.clean import CJK_CHARS, is_cjk

log = logging.getLogger(__name__)

LEXICAL_VERSION = "2"  # 1: no folding; 2: NFKC + OpenCC t2s folding of CJK text

# A word: letters and digits, joined through single inner punctuation marks (the variant's joiners).
_TERM = re.compile(r"[^\W_]+(?:[-/.][^\W_]+)*", re.UNICODE)  # search terms
JOINERS = re.compile(r"[-/.]")  # what joins a term's parts ("long-term", "mg/dl", "t.i.d")
_TOKEN = re.compile(r"[^\W_]+(?:[-'.][^\W_]+)*", re.UNICODE)  # word tokens
_CJK_RUN = re.compile(f"(?:{CJK_CHARS.pattern})+")
STOPWORDS = frozenset(
    """a an and are as at be been but by can could did do does for from had has have how i if in into is it its
    may might more most no not of on or should so than that the their then there these they this to was
    were what when where which who whom why will with would you your""".split()
)
# Question words that say nothing about the topic (on top of the BM25 stopwords).
QUESTION_WORDS = frozenset(
    """about according also among any best between both common commonly described did does done during each
    effect effects either else ever following found get give given good help known many much mean means
    often one other others patient patients per reported should showed shown study studies two used using
    usually versus vs well were whether """
    # what users type around a question: pronouns, contractions typed without the apostrophe,
    # fillers and courtesies
    # (not us, im, id, he, me, his, still: ultrasound, intramuscular, hepatic encephalopathy, ...)
    """my mine myself we our ours she her hers they them ive whats hows whos dont doesnt didnt
    cant isnt arent wont just already really actually ok okay please thanks thank anyone anybody
    someone somebody anything something""".split()
)


@functools.lru_cache(maxsize=1)
def _t2s() -> Callable[[str], str] | None:
    """OpenCC's Traditional-to-Simplified converter, or None (logged) if OpenCC is missing."""
    try:
        import opencc
    except ImportError:  # pragma: no cover - a declared dependency
        log.warning(
            "opencc is not installed: Traditional and Simplified Chinese are searched separately"
        )
        return None
    return opencc.OpenCC("t2s").convert


def fold(text: str) -> str:
    """``text`` with Chinese in one script and compatibility forms folded (as indexed and searched)."""
    if text.isascii():
        return text
    text = unicodedata.normalize("NFKC", text)
    if CJK_CHARS.search(text):
        convert = _t2s()
        if convert is not None:
            text = convert(text)
    return text


def terms(text: str) -> list[str]:
    """The lexical terms of ``text``: folded, lowercased words, word parts, CJK characters and bigrams."""
    text = fold(text).lower()
    has_cjk = not text.isascii() and CJK_CHARS.search(text) is not None
    out: list[str] = []
    for match in _TERM.finditer(text):
        word = match.group(0)
        if has_cjk and CJK_CHARS.search(word):
            out.extend(_cjk_terms(word))
            continue
        out.append(word)
        if JOINERS.search(word):
            out.extend(p for p in JOINERS.split(word) if p)
    return out


def found_terms(wanted: Iterable[str], texts: Iterable[str]) -> set[str]:
    """The terms of ``wanted`` that occur in ``texts``, as the FTS index finds them.

    A term joined by "-", "/" or "." (``mass-casualty``, ``t-cell``) is found where its parts
    stand in a row too ("Mass Casualty Incidents"): the index matches it as that phrase.
    """
    have: set[str] = set()
    runs: list[str] = []
    for text in texts:
        found = terms(text)
        have.update(found)
        # as the index reads them: a joined term's parts (the FTS tokenizer splits it)
        parts = (p for t in found for p in JOINERS.split(t) if p)
        runs.append(" " + " ".join(parts) + " ")
    out: set[str] = set()
    for term in wanted:
        if term in have:
            out.add(term)
        elif JOINERS.search(term):
            phrase = " " + " ".join(p for p in JOINERS.split(term) if p) + " "
            if any(phrase in run for run in runs):
                out.add(term)
    return out


def _cjk_terms(word: str) -> list[str]:
    """Single characters and bigrams of each CJK run; the other parts of the word as they are."""
    out: list[str] = []
    pos = 0
    for m in _CJK_RUN.finditer(word):
        if m.start() > pos:
            out.append(word[pos : m.start()])
        run = m.group(0)
        out.extend(run)
        out.extend(run[i : i + 2] for i in range(len(run) - 1))
        pos = m.end()
    if pos < len(word):
        out.append(word[pos:])
    return out


def index_text(text: str) -> str:
    """What goes into the FTS5 column: terms separated by spaces."""
    return " ".join(terms(text))


def match_query(text: str, *, max_terms: int = 48) -> str:
    """An FTS5 MATCH expression OR-ing the query's distinct content terms ('' if none)."""
    seen: dict[str, None] = {}
    for t in terms(text):
        if t not in STOPWORDS:
            seen.setdefault(t, None)
    return " OR ".join('"' + t.replace('"', '""') + '"' for t in list(seen)[:max_terms])


# ------------------------------------------------------------------ word tokens
def token_spans(text: str) -> list[tuple[str, int, int]]:
    """Tokens of ``text`` (as :func:`tokenize`) with their character span ``[start, end)``.

    The spans let a viewer highlight, in the source text, the runs an answer copied.
    """
    spans: list[tuple[str, int, int]] = []
    for match in _TOKEN.finditer(text):  # offsets in the original text; tokens lowercased
        word, base = match.group(0), match.start()
        if not any(is_cjk(ch) for ch in word):
            spans.append((word.lower(), base, match.end()))
            continue
        run_start = -1
        for k, ch in enumerate(word):
            if is_cjk(ch):
                if run_start >= 0:
                    spans.append((word[run_start:k].lower(), base + run_start, base + k))
                    run_start = -1
                spans.append((ch, base + k, base + k + 1))
            elif run_start < 0:
                run_start = k
        if run_start >= 0:
            spans.append((word[run_start:].lower(), base + run_start, match.end()))
    return spans


def tokenize(text: str) -> list[str]:
    """Lowercased word tokens; every CJK character is a token of its own."""
    return [tok for tok, _, _ in token_spans(text)]
