"""Reading the chosen option letter(s) from a model that may be far too small to follow a format.

Free text is never parsed. Single-answer questions are decided by the
option letters' probabilities at the start of the reply (one forward pass);
multiple-answer questions by GBNF grammar-constrained decoding that can only
produce a non-empty, ascending list of existing letters. Either way the
result is always a valid answer.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from itertools import combinations

from kidneytalk.llm_base import LLM, Message
from kidneytalk.prompts import PromptBook

from .questions import Question

MAX_NOTES_TOKENS = 300


@dataclass
class Choice:
    letters: list[str]
    method: str  # "logprob" | "grammar"
    probabilities: dict[str, float] = field(default_factory=dict)


def subsets_grammar(letters: Sequence[str], *, multiple: bool) -> str:
    """GBNF accepting one letter, or (``multiple``) any non-empty ascending list like ``A, C``."""
    if not multiple:
        alts = [f'"{x}"' for x in letters]
    else:
        alts = [
            '"' + ", ".join(c) + '"'
            for n in range(len(letters), 0, -1)
            for c in combinations(letters, n)
        ]
    return "root ::= " + " | ".join(alts)


def choice_messages(
    book: PromptBook, llm: LLM, q: Question, *, notes: str = "", rag: bool = False
) -> list[Message]:
    """The final multiple-choice prompt: question, options and the mode's answer as notes.

    In the library modes the notes are the grounded answer (with ``cp-order``,
    evidence sentences copied verbatim), so the letter is chosen from what
    the library says; passages are not repeated, which keeps the prompt short.
    """
    notes = llm.truncate(" ".join(notes.split()), MAX_NOTES_TOKENS)
    fields = dict(
        question=q.question,
        options="\n".join(f"{k}. {v}" for k, v in q.options.items()),
        instruction=book.render("exam_all" if q.multiple else "exam_one"),
    )
    if rag:
        user = book.render("exam_user_rag", notes=notes, **fields)
    else:
        user = book.render(
            "exam_user", notes=book.render("exam_notes", notes=notes) if notes else "", **fields
        )
    return [
        {"role": "system", "content": book.render("exam_system")},
        {"role": "user", "content": user},
    ]


def choose(
    llm: LLM,
    book: PromptBook,
    messages: Sequence[Message],
    q: Question,
    *,
    method: str | None = None,
) -> Choice:
    """The option letter(s) the model picks after ``messages``.

    ``method`` is ``"logprob"`` (default for one answer) or ``"grammar"``
    (default, and the only choice, for multiple-answer questions).
    """
    letters = list(q.options)
    prefix = book.get("exam_prefix").strip()
    method = "grammar" if q.multiple else (method or "logprob")
    if method == "logprob":
        probs = llm.label_probabilities(messages, letters, answer_prefix=prefix)
        best = max(letters, key=lambda x: probs[x])
        return Choice([best], "logprob", {k: round(v, 4) for k, v in probs.items()})
    prompt = llm.format_prompt(messages) + prefix + " "
    raw = llm.continue_prompt(
        prompt,
        max_tokens=4 * len(letters),
        stop=["\n"],
        grammar=subsets_grammar(letters, multiple=q.multiple),
    )
    picked = sorted({p.strip() for p in raw.split(",") if p.strip() in letters})
    return Choice(picked or [letters[0]], "grammar")
