"""Bibliographic references inside a passage: where a reference list's entries lie.

A journal article ends with its reference list, and a passage cut from it holds several entries
run together: "… 2004;9:112e15 (in chinese). 12. Wang Q, Li HM. Oral iron in adults on
haemodialysis: a randomised trial. Chin J Nephrol 2004;9:201e4. 13. …". Split into sentences,
an entry's title reads like a finding, so a reference list must be recognised as a whole: the
filter drops passages that are mostly references, and a copy-paste answer never quotes a
sentence from one.

An *entry* runs from its number ("12. ", "[12] ") to the next one, and counts when it has a
*locator* (a journal's year, volume and pages in Vancouver, BMC or APA style, a DOI or PMID, an
ISBN, web address or "accessed" date) or begins with an author list of two or more ("Wang Q,
Li HM." or "Okafor J, Banda A:") or one with "et al". Text before the first entry number
is the end of an entry begun in the previous passage when it is short, has a journal locator and
is a paragraph of its own (with the entries after it, if any).
"""

from __future__ import annotations

import re

# "12. Wang", "[12] Wang", "12) Wang": an entry number before a capitalised word.
_ENTRY = re.compile(r"(?:^|(?<=\s))\[?\d{1,3}[.\])]\s+(?=[A-Z\u00c0-\u024f])")
_JOURNAL = re.compile(
    # Vancouver: 2005;7:429e31, 2010;21(3):123-9, 2005; 15: 2969
    r"\b(?:19|20)\d{2}[a-z]?\s*;\s*\d+[A-Za-z]?\s*(?:\(\s*[\w-]+\s*\))?\s*:\s*[A-Za-z]?\d+"
    # BMC: 2006, 19:516-532 / 2007, 7(1):78
    r"|\b(?:19|20)\d{2}[a-z]?\s*,\s*\d+\s*(?:\(\s*[\w-]+\s*\))?\s*:\s*[A-Za-z]?\d+"
    r"|\bdoi\s*[:：]?\s*10\.\d{4,}|\bPMID\b",
    re.IGNORECASE,
)
# Locators that could also occur in a document's own text ("visit www.…", "aged 12, 13–18"): they
# count only after an entry number. APA's volume and pages: Journal, 298, 1685–1688 / 27(3), 301–310.
_OTHER = re.compile(
    r",\s*\d{1,4}\s*(?:\(\s*[\w-]+\s*\))?\s*,\s*[A-Za-z]?\d+\s*[-–]\s*[A-Za-z]?\d+"
    r"|\bISBN\b|https?://|\bwww\.|\baccessed\b",
    re.IGNORECASE,
)
_NAME = r"[A-Z][\w'’-]+(?:\s[A-Z][\w'’-]+)?\s[A-Z]{1,3}"  # Wang Q, Van Dijk W
# An author list of two or more, or one with "et al": "Wang Q, Li HM." / "Okafor J, Banda A:" /
# "Wang Q, Li HM, et al."
_AUTHORS = re.compile(rf"{_NAME}(?:,\s*{_NAME})+(?:,?\s+et al)?\s*[.:]|{_NAME},?\s+et al\b")
MAX_CARRIED = 400  # characters of an entry's end carried over from the previous passage


def reference_spans(text: str) -> list[tuple[int, int]]:
    """(start, end) of each run of reference-list entries in ``text``, in order."""
    starts = [m.start() for m in _ENTRY.finditer(text)]
    entries = []
    for i, start in enumerate(starts):
        end = starts[i + 1] if i + 1 < len(starts) else len(text)
        entry = _ENTRY.sub("", text[start:end], count=1)
        if _JOURNAL.search(entry) or _OTHER.search(entry) or _AUTHORS.match(entry):
            entries.append((start, end))
    first = starts[0] if starts else len(text)
    paragraph = text.rfind("\n\n", 0, first) + 1  # 0 when none
    paragraph += len(text[paragraph:first]) - len(text[paragraph:first].lstrip())
    carried = 0 < first - paragraph <= MAX_CARRIED and _JOURNAL.search(text, paragraph, first)
    if carried and (not starts or (entries and entries[0][0] == first)):
        entries.insert(0, (paragraph, first))
    spans: list[tuple[int, int]] = []
    for start, end in entries:  # adjacent entries form one run
        if spans and spans[-1][1] == start:
            spans[-1] = (spans[-1][0], end)
        else:
            spans.append((start, end))
    return spans


def reference_text(text: str) -> list[str]:
    """The reference-list entries of ``text``, one string per run."""
    return [text[a:b] for a, b in reference_spans(text)]
