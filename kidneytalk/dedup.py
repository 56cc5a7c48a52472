"""When two passages are the same passage: the key that collapses copies at ingest (issue 17).

A passage whose :func:`passage_key` equals that of a passage already stored (in
the same document or any other of the library, same embedding model) is not
embedded or stored again: the catalog records it as a copy of the stored one,
with its own document, page and text, so it stays citable and can take the
stored passage's place when that one's document is disabled, removed or
re-indexed (``Catalog.promotion_plan``).

The key is the passage's text after:

1. Unicode NFKC (ligatures such as "ﬁ", full-width forms, compatibility spaces);
2. dropping soft hyphens and zero-width characters;
3. joining words hyphenated across a line end ("dia-\\nlysis" -> "dialysis") and
   dropping hyphens inside words ("anti-inflammatory" -> "antiinflammatory"), so
   the same paragraph wrapped at another width gives the same key;
4. case folding;
5. keeping only words, numbers with their decimal point ("1.5" stays apart from
   "15") and the symbols that change a clinical statement's meaning
   (``< > ≤ ≥ = + − ± % / °``); every other run of punctuation and whitespace is
   one separator.

Why an exact key and not a fuzzy similarity (MinHash, shingle Jaccard >= 0.9):
passages that differ in a few words are not interchangeable in medical text —
the few words are the dose, the threshold or a "not" — and a collapsed copy is
cited with the stored passage's text. A fuzzy merge would let one document's
sentence be quoted as another's. Near copies that differ in words (another
edition, an OCR slip, a running header cut into the passage) therefore stay two
stored passages, and search collapses them for display only, keeping both
texts (``retrieval/assemble.py``). Measured (``bench/dedup.py``): on realdocs-dev
(261 stored passages, OCR on) and the 30 PubMedQA digests (850), no two
documents' passages share even 70% of their word triples, so a fuzzy test would
have merged nothing more there.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata

# Soft hyphen, zero-width space/joiners, word joiner, BOM: invisible, never part of a word.
_INVISIBLE = dict.fromkeys(map(ord, "\u00ad\u200b\u200c\u200d\u2060\ufeff"), None)
# A hyphen right after a letter, then optional spaces/line breaks, then a letter: one word.
_HYPHEN_JOIN = re.compile(r"(?<=[^\W\d_])[-\u2010\u2011]\s*(?=[^\W\d_])")
# Words, numbers with decimals, and the symbols kept (the rest is separator).
_TOKENS = re.compile(r"\d+(?:[.,]\d+)+|\w+|[<>≤≥=+−±%/°]")


def passage_key(text: str) -> str:
    """The normalised text two copies of a passage share ('' when it has no words: never a copy)."""
    text = unicodedata.normalize("NFKC", text).translate(_INVISIBLE)
    text = _HYPHEN_JOIN.sub("", text).casefold()
    tokens = _TOKENS.findall(text)
    if not any(t[0].isalnum() or t[0] == "_" for t in tokens):
        return ""
    return " ".join(tokens)


def key_digest(key: str) -> str:
    """What the catalog indexes for a key (a fixed-size digest; '' stays '')."""
    return hashlib.blake2b(key.encode("utf-8"), digest_size=16).hexdigest() if key else ""


def passage_digest(text: str) -> str:
    """``key_digest(passage_key(text))``: the catalog's ``dup_key`` of a passage."""
    return key_digest(passage_key(text))
