"""Lexical terms for BM25 (SQLite FTS5), in English and Chinese.

Medical abbreviations and drug names (eGFR, ACR, SGLT2, "SGLT2-inhibitor")
need exact matches that embeddings blur. Words are lowercased; hyphenated
words also index their parts; CJK runs index single characters and bigrams,
since Chinese has no spaces between words.
"""

from __future__ import annotations

import re

from kidneytalk.clean import is_cjk

_TOKEN = re.compile(r"[^\W_]+(?:[-/.][^\W_]+)*", re.UNICODE)
STOPWORDS = frozenset(
    """a an and are as at be been but by can could did do does for from had has have how i if in into is it its
    may might more most no not of on or should so than that the their then there these they this to was
    were what when where which who whom why will with would you your""".split()
)


def terms(text: str) -> list[str]:
    out: list[str] = []
    for match in _TOKEN.finditer(text.lower()):
        word = match.group(0)
        if any(is_cjk(ch) for ch in word):
            out.extend(_cjk_terms(word))
            continue
        out.append(word)
        if re.search(r"[-/.]", word):
            out.extend(p for p in re.split(r"[-/.]", word) if p)
    return out


def _cjk_terms(word: str) -> list[str]:
    out: list[str] = []
    run = ""
    latin = ""
    for ch in word + " ":
        if is_cjk(ch):
            if latin:
                out.append(latin)
                latin = ""
            run += ch
            continue
        if run:
            out.extend(run)
            out.extend(run[i : i + 2] for i in range(len(run) - 1))
            run = ""
        if ch.strip():
            latin += ch
        elif latin:
            out.append(latin)
            latin = ""
    return out


def index_text(text: str) -> str:
    """What goes into the FTS5 column: terms separated by spaces."""
    return " ".join(terms(text))


def match_query(text: str, *, max_terms: int = 48) -> str:
    """An FTS5 MATCH expression OR-ing the query's distinct content terms ('' if none)."""
    seen: list[str] = []
    for t in terms(text):
        if t in STOPWORDS or t in seen:
            continue
        seen.append(t)
    return " OR ".join('"' + t.replace('"', '""') + '"' for t in seen[:max_terms])
