"""Exam question files: JSONL (the shared eval format) and CSV (``question, A…E, answer``).

A bad row never stops a run: it becomes a :class:`Problem` naming its line,
and the remaining rows are used. Answers are stored as a sorted tuple of
letters, so single- and multiple-answer questions are scored the same way.
"""

from __future__ import annotations

import csv
import json
import os
import re
from dataclasses import dataclass, field
from pathlib import Path

from kidneytalk.errors import KidneyTalkError

LETTERS = "ABCDEFGH"
CSV_CORE = ("id", "question", "answer", "gold_source", "gold_pages", "tags")


@dataclass(frozen=True)
class Question:
    """One exam question; ``answer`` holds one letter, or several for multiple-answer questions."""

    id: str
    question: str
    options: dict[str, str]
    answer: tuple[str, ...]
    gold_source: str = ""
    gold_pages: tuple[int, ...] = ()
    tags: tuple[str, ...] = ()
    line: int = 0

    @property
    def multiple(self) -> bool:
        return len(self.answer) > 1

    def prompt_text(self) -> str:
        """Question stem followed by its lettered options, as asked to the model."""
        opts = "\n".join(f"{k}. {v}" for k, v in self.options.items())
        return f"{self.question}\n{opts}"

    def to_json(self) -> dict[str, object]:
        return {
            "id": self.id,
            "question": self.question,
            "options": self.options,
            "answer": list(self.answer),
            "gold_source": self.gold_source,
            "gold_pages": list(self.gold_pages),
            "tags": list(self.tags),
        }


@dataclass(frozen=True)
class Problem:
    """A skipped row: where it is and why."""

    line: int
    message: str

    def __str__(self) -> str:
        return f"line {self.line}: {self.message}"


@dataclass
class _Row:
    line: int
    data: dict[str, object] = field(default_factory=dict)


def load_questions(path: str | os.PathLike[str]) -> tuple[list[Question], list[Problem]]:
    """Questions from a ``.jsonl``/``.json`` or ``.csv`` file, and the rows that were skipped.

    Raises :class:`KidneyTalkError` only when the file itself cannot be read.
    """
    file = Path(path)
    if not file.is_file():
        raise KidneyTalkError(f"Question file not found: {file}")
    try:
        text = file.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise KidneyTalkError(f"Cannot read question file {file}: {exc}") from exc
    rows, problems = _csv_rows(text) if file.suffix.lower() == ".csv" else _jsonl_rows(text)
    questions: list[Question] = []
    seen: set[str] = set()
    for row in rows:
        try:
            q = _question(row)
        except ValueError as exc:
            problems.append(Problem(row.line, str(exc)))
            continue
        if q.id in seen:
            problems.append(Problem(row.line, f"duplicate id '{q.id}'"))
            continue
        seen.add(q.id)
        questions.append(q)
    problems.sort(key=lambda p: p.line)
    return questions, problems


def _jsonl_rows(text: str) -> tuple[list[_Row], list[Problem]]:
    rows, problems = [], []
    for n, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            data = json.loads(line)
        except ValueError as exc:
            problems.append(Problem(n, f"not valid JSON ({exc.args[0].split(':')[0]})"))
            continue
        if not isinstance(data, dict):
            problems.append(Problem(n, "not a JSON object"))
            continue
        rows.append(_Row(n, data))
    return rows, problems


def _csv_rows(text: str) -> tuple[list[_Row], list[Problem]]:
    """Rows keyed by lower-cased header; columns that are neither core fields nor options become tags."""
    reader = csv.reader(text.splitlines(keepends=True))
    try:
        header = [h.strip() for h in next(reader)]
    except StopIteration:
        return [], [Problem(1, "empty CSV file")]
    except csv.Error as exc:
        return [], [Problem(1, f"unreadable CSV header ({exc})")]
    names = [h.lower() for h in header]
    if "question" not in names or "answer" not in names:
        return [], [Problem(1, "CSV header needs the columns question, A, B, …, answer")]
    rows, problems = [], []
    start = reader.line_num + 1
    while True:
        try:
            cells = next(reader)
        except StopIteration:
            break
        except csv.Error as exc:
            problems.append(Problem(start, f"unreadable CSV row ({exc})"))
            start = reader.line_num + 1
            continue
        line, start = start, reader.line_num + 1
        if not any(c.strip() for c in cells):
            continue
        if len(cells) > len(header):
            problems.append(
                Problem(line, f"{len(cells)} cells but the header has {len(header)} columns")
            )
            continue
        data: dict[str, object] = {"options": {}}
        tags = []
        for raw, name, value in zip(header, names, cells, strict=False):
            value = value.strip()
            if len(raw) == 1 and raw.upper() in LETTERS:
                if value:
                    data["options"][raw.upper()] = value  # type: ignore[index]
            elif name in CSV_CORE:
                data[name] = value
            elif value:
                tags.append(f"{raw}:{value}")
        data["tags"] = tags + _split_list(str(data.get("tags", "")))
        rows.append(_Row(line, data))
    return rows, problems


def _split_list(value: str) -> list[str]:
    return [p.strip() for p in re.split(r"[;,|]", value) if p.strip()]


def _question(row: _Row) -> Question:
    d = row.data
    question = d.get("question")
    if not isinstance(question, str) or not question.strip():
        raise ValueError("missing question text")
    options = d.get("options")
    if not isinstance(options, dict) or len(options) < 2:
        raise ValueError("needs at least two options (A, B, …)")
    opts: dict[str, str] = {}
    for key, value in options.items():
        letter = str(key).strip().upper()
        if len(letter) != 1 or letter not in LETTERS:
            raise ValueError(f"option key '{key}' is not a letter A–{LETTERS[-1]}")
        if not isinstance(value, str) or not value.strip():
            raise ValueError(f"option {letter} is empty")
        opts[letter] = value.strip()
    opts = dict(sorted(opts.items()))
    answer = _answer(d.get("answer"), opts)
    qid = str(d.get("id") or "").strip() or f"line-{row.line}"
    pages = d.get("gold_pages") or ()
    if isinstance(pages, str):
        pages = _split_list(pages)
    try:
        if not isinstance(pages, list | tuple):
            raise TypeError
        gold_pages = tuple(int(p) for p in pages)
    except (TypeError, ValueError) as exc:
        raise ValueError("gold_pages must be page numbers") from exc
    tags = d.get("tags") or ()
    if isinstance(tags, str):
        tags = _split_list(tags)
    if not isinstance(tags, list | tuple):
        raise ValueError("tags must be a list")
    return Question(
        id=qid,
        question=" ".join(question.split()),
        options=opts,
        answer=answer,
        gold_source=str(d.get("gold_source") or "").strip(),
        gold_pages=gold_pages,
        tags=tuple(str(t) for t in tags),
        line=row.line,
    )


def _answer(value: object, options: dict[str, str]) -> tuple[str, ...]:
    """``"A"``, ``["A", "C"]``, ``"A,C"`` or ``"AC"`` -> sorted letters, all of which must be options."""
    if isinstance(value, list):
        parts = [str(v).strip().upper() for v in value]
    elif isinstance(value, str):
        text = value.strip().upper()
        parts = _split_list(text) if re.search(r"[;,|]", text) else list(text.replace(" ", ""))
    else:
        parts = []
    if not parts:
        raise ValueError("missing answer")
    bad = [p for p in parts if p not in options]
    if bad:
        raise ValueError(
            f"answer '{', '.join(bad)}' is not one of the options {', '.join(options)}"
        )
    return tuple(sorted(set(parts)))
