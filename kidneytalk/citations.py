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

from kidneytalk.extractive import fragments
from kidneytalk.lexical import STOPWORDS, tokenize
from kidneytalk.records import Hit

MARKER = re.compile(r"\[(\d{1,2}(?:\s*[,，、]\s*\d{1,2})*)\]")
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[\"'(\[]?[A-Z0-9])")
# Chinese: a run of sentence-ending marks (。！？；, or ASCII !? before a Han character) and the
# closing quotes or brackets after it end a sentence: "「請停藥。」然後" splits after 」, "真的嗎？！" once.
# So does an English full stop after a word before Chinese ("… mg/dL. 低血鉀是…"), not a numbered
# item's ("1.術後…") or a decimal point.
_CLOSERS = "」』”’）)】〕》"
# Markdown tables as parsing writes them: a line that starts and ends with "|", or a row a passage
# boundary cut (it starts or ends with "|" and holds another one).
_TABLE_LINE = re.compile(r"^(?:\|.*\|.*|.*\|.*\|)$", re.MULTILINE)
_RULE_CELL = re.compile(r"\s*:?-{3,}:?\s*")
_BR = re.compile(r"<br\s*/?>", re.IGNORECASE)
_CJK_CHAR = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]")
# A list item whose lines were joined into one paragraph: each bullet starts a new sentence
# ("… absorption • Repeat blood tests will need to be checked in 6 to 8 weeks • Once …").
# "<" followed by a word is a bullet font read as text ("… dialysis. < Check ferritin …").
_BULLET = re.compile(r"\s+(?=[•●▪■◆►➢]\s)|\s+(?=<\s[A-Z](?:[a-z]|\s))")
# A line of a paragraph that ends on a word no sentence ends with ("… screening every adult
# for") goes on in the next paragraph: a box or a column broke the sentence, not the author.
DANGLING = re.compile(
    r"(?<![\w-])(?:a|an|the|of|for|to|in|on|at|by|with|from|into|and|or|nor|but|than|as|that|"
    r"which|whose|between|among|including|such|per|via|is|are|was|were|be|been|has|have|had|not)"
    r"\s*$"  # lower case only: "Vitamin A" or "Type A" end a heading
)
_ABBREVIATION = re.compile(
    r"(?<![\w.])(?:vs|e\.g|i\.e|cf|viz|approx|resp|incl|Figs?|Eqs?|Refs?|Dr|Drs|Prof|Mr|Mrs|Ms|St)\.$",
    re.IGNORECASE,
)
_NUMBERED = re.compile(r"(?<![\w.])(?:No|Nos|Vol|pp?)\.$")  # before a number: "Grant No. 30770599"
# A list item's mark at the start of a sentence or paragraph: a bullet ("•", a sub-list's "o" or
# "-", "<" where a bullet font was read as text), "1." or "(1)"/"（一）".
LIST_ITEM = re.compile(
    r"^\s*(?:[•●▪■◆►➢◦‣∙·*]|[-–o<](?=\s)|\d{1,2}[.)、](?!\d)|[(（][\d一二三四五六七八九十]{1,2}[)）])\s*"
)
# CJK characters with CJK punctuation (a line break between two of them joins without a space)
_CJK_TEXT = re.compile(r"[\u3000-\u303f\u3400-\u9fff\uf900-\ufaff\uff00-\uffef]")
_ENUMERATOR = re.compile(r"(?:[(（][一二三四五六七八九十\d]+[)）]|\d{1,2}[.、)]|[•·●▪■-] ?)")
_CJK_SENTENCE_END = re.compile(
    f"[。！？；]+[{_CLOSERS}]*|[!?]+[{_CLOSERS}]*(?=[\u3400-\u9fff])"
    f"|(?<=[^\\W\\d_])\\.[{_CLOSERS}]*(?=\\s*[\u3400-\u9fff])"
)


def _heading(cell: str) -> bool:
    """Whether a cell is short enough to name a row or column (else it is content)."""
    return len(cell) <= 40 and len(_CJK_CHAR.findall(cell)) <= 12 and not re.search(r"[;；]", cell)


def split_sentences(text: str) -> list[str]:
    """Sentences of English or Chinese text; a trailing citation stays with its sentence.

    A blank line always ends a sentence (a heading or a keyword line has no full stop), and
    so does a bullet ("•") inside a paragraph: list items often have no full stop either.
    A Markdown table (as parsing writes tables) gives one sentence per cell, led by its
    row and column headings (:func:`table_sentences`), never a row of pipes.
    """
    if "|" in text and _TABLE_LINE.search(text):
        return _split_around_tables(text)
    paragraphs = _join_broken(re.split(r"\n\s*\n", text))
    if len(paragraphs) > 1:
        return [s for p in paragraphs for s in split_sentences(p)]
    text = " ".join(text.split()) if not re.search(r"[\u3000-\u9fff]", text) else text.strip()
    # keep "[1]" after the full stop with the sentence it follows
    text = re.sub(
        r"([.!?。！？])\s*((?:\[\d{1,2}(?:\s*[,，、]\s*\d{1,2})*\]\s*)+)",
        lambda m: f" {' '.join(m.group(2).split())}{m.group(1)} ",
        text,
    )
    parts = [
        q.strip()
        for part in _after_abbreviations(_SENTENCE_END.split(text))
        for p in _split_cjk(part)
        for q in _BULLET.split(p)
    ]
    return [p for p in parts if p and re.search(r"\w", p)]


def _after_abbreviations(pieces: list[str]) -> list[str]:
    """``pieces`` of a paragraph split at full stops, each one that ends on an abbreviation ("12%
    vs.", "e.g.", "Fig.", "Dr.", "et al." before "(2010)") joined to the next: "started in 41 vs.
    63 patients" is one sentence, not a quote cut after "vs."."""
    out: list[str] = []
    for piece in pieces:
        if out and (
            _ABBREVIATION.search(out[-1])
            or (_NUMBERED.search(out[-1]) and piece[:1].isdigit())
            or (out[-1].endswith("et al.") and piece[:1] in "([0123456789")
        ):
            out[-1] += " " + piece
        else:
            out.append(piece)
    return out


def _join_broken(paragraphs: list[str]) -> list[str]:
    """``paragraphs``, each one that ends on a :data:`DANGLING` word joined to the next."""
    out: list[str] = []
    for p in paragraphs:
        if out and DANGLING.search(out[-1]) and p.strip() and not LIST_ITEM.match(p):
            out[-1] = out[-1].rstrip() + " " + p.lstrip()
        else:
            out.append(p)
    return out


def _split_around_tables(text: str) -> list[str]:
    """:func:`split_sentences` for text holding Markdown tables: prose as usual, tables cell by cell."""
    out: list[str] = []
    prose: list[str] = []
    table: list[str] = []
    for line in text.split("\n"):
        if _TABLE_LINE.fullmatch(line.strip()):
            if prose:
                out += split_sentences("\n".join(prose))
                prose = []
            table.append(line.strip())
            continue
        if table:
            out += table_sentences(table)
            table = []
        prose.append(line)
    out += table_sentences(table) if table else []
    out += split_sentences("\n".join(prose)) if prose else []
    return out


def _cells(line: str) -> list[str]:
    line = line.strip()
    inner = line[1 if line.startswith("|") else 0 : -1 if line.endswith("|") else None]
    return [_join_cell_lines(c) for c in inner.split("|")]


def _join_cell_lines(cell: str) -> str:
    """A cell's text on one line: its ``<br>`` breaks become "; " before an enumerator ("(二)", "2.",
    "•"), nothing inside a CJK word ("某<br>些" -> "某些"), a space otherwise."""
    pieces = [p.strip() for p in _BR.split(cell) if p.strip()]
    if not pieces:
        return ""
    text = pieces[0]
    for piece in pieces[1:]:
        cjk_join = _CJK_TEXT.match(piece[0]) and _CJK_TEXT.match(text[-1])
        if _ENUMERATOR.match(piece) and text[-1] not in ":：":
            text += ("；" if cjk_join or _CJK_CHAR.search(text) else "; ") + piece
        elif cjk_join:
            text += piece
        else:
            text += " " + piece
    return text


def table_sentences(lines: Sequence[str]) -> list[str]:
    """One sentence per non-empty cell of a Markdown table, led by its headings.

    "|原因|(一)攝取過多…|" under "||高血鉀|低血鉀|" gives "原因（高血鉀）：(一)攝取過多…": the row's
    first cell and the column heading, so a copied cell still says what it is. A heading row is the
    first row when a ``|---|`` rule follows it and its cells are short (a long one is content the
    parser put there); without one, a cell is led by its row's first cell when that is short. A row
    cut by a passage boundary (no leading or trailing "|") is read the same way.
    """
    rows = [_cells(line) for line in lines]
    rule = {i for i, row in enumerate(rows) if row and all(_RULE_CELL.fullmatch(c) for c in row)}
    header: list[str] = []
    if 1 in rule and any(rows[0]) and all(_heading(c) for c in rows[0]):
        header = rows[0]
        body = [r for i, r in enumerate(rows) if i > 0 and i not in rule]
    else:
        body = [r for i, r in enumerate(rows) if i not in rule]
    out: list[str] = []
    for row in body:
        label = row[0] if len(row) > 1 and _heading(row[0]) else ""
        for j, cell in enumerate(row):
            if not cell or (j == 0 and label):
                continue
            heading = header[j] if j < len(header) else ""
            names = [n for n in (label, heading) if n]
            if not names:
                out.append(cell)
                continue
            cjk = _CJK_CHAR.search(cell + "".join(names))
            lead = names[0]
            if len(names) > 1:
                lead += f"（{names[1]}）" if cjk else f" ({names[1]})"
            out.append(f"{lead}{'：' if cjk else ': '}{cell}")
    return [s for s in out if re.search(r"\w", s)]


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
