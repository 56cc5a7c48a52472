"""Conversations persist in the data dir (SQLite) and export to Markdown with citations."""

from __future__ import annotations

import json
import sqlite3
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from kidneytalk.catalog import now
from kidneytalk.errors import KidneyTalkError
from kidneytalk.records import pages_label

# Kept in SQLite's user_version; a file from a newer KidneyTalk is refused, not misread.
SCHEMA_VERSION = 1
_SCHEMA = """
CREATE TABLE IF NOT EXISTS conversations (
    id TEXT PRIMARY KEY, title TEXT NOT NULL, created_at TEXT NOT NULL, updated_at TEXT NOT NULL,
    mode TEXT NOT NULL DEFAULT '', style TEXT NOT NULL DEFAULT '');
CREATE TABLE IF NOT EXISTS messages (
    conversation_id TEXT NOT NULL REFERENCES conversations(id) ON DELETE CASCADE,
    seq INTEGER NOT NULL, role TEXT NOT NULL, content TEXT NOT NULL, created_at TEXT NOT NULL,
    details TEXT NOT NULL DEFAULT '{}', PRIMARY KEY (conversation_id, seq));
"""


def _pages(value: object) -> tuple[int, ...]:
    pages = tuple(int(p) for p in value) if isinstance(value, list | tuple) else ()
    return pages or (1,)


@dataclass(frozen=True)
class SavedPassage:
    """Passage ``[n]`` an answer was given, as saved; ``data`` is the saved JSON (for the evidence view)."""

    n: int
    source: str
    doc_id: str
    pages: tuple[int, ...]  # every page it spans, at least one
    text: str
    data: Mapping[str, Any]

    @property
    def label(self) -> str:
        """``source p. 3–4``."""
        return f"{self.source} {pages_label(self.pages[0], self.pages[-1])}"


@dataclass(frozen=True)
class SavedCheck:
    """One answer sentence and whether its cited passage supports it."""

    text: str
    supported: bool
    support: float  # share of its content words found in the cited passage


@dataclass(frozen=True)
class SavedAnswer:
    """What a conversation keeps about an answer (``Answer.to_json()``), read back as a typed record.

    Files written by older versions lack some keys: they read as empty/false.
    """

    mode: str = ""
    style: str = ""
    model: str = ""
    refused: bool = False
    stopped: bool = False
    reasoning: str = ""
    citations: tuple[SavedPassage, ...] = ()  # the passages the answer cites, in citation order
    sentences: tuple[SavedCheck, ...] = ()
    unsupported: tuple[str, ...] = ()
    passages: tuple[SavedPassage, ...] = ()
    coverage: float | None = None  # extractiveness; None for a refusal
    density: float | None = None
    answer_tokens: int = 0  # words the extractiveness was measured on
    gate_reason: str = ""  # the relevance gate's explanation (why a question was refused)
    missing_terms: tuple[str, ...] = ()  # question words absent from the closest passages

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> SavedAnswer:
        ext = data.get("extractiveness")
        ext = ext if isinstance(ext, Mapping) and ext else None
        gate = data.get("gate")
        gate = gate if isinstance(gate, Mapping) else {}
        passages = tuple(
            SavedPassage(
                int(c.get("n", i)),
                str(c.get("source", "")),
                str(c.get("doc_id", "")),
                _pages(c.get("pages")),
                str(c.get("text", "")),
                c,
            )
            for i, c in enumerate(data.get("chunks") or (), start=1)
        )
        by_n = {p.n: p for p in passages}
        return cls(
            mode=str(data.get("mode") or ""),
            style=str(data.get("style") or ""),
            model=str(data.get("model") or ""),
            refused=bool(data.get("refused")),
            stopped=bool(data.get("stopped")),
            reasoning=str(data.get("reasoning") or ""),
            citations=tuple(
                by_n.get(int(c["n"]))
                or SavedPassage(  # the passage itself was not saved: what the citation says
                    int(c["n"]), str(c.get("source", "")), "", _pages(c.get("pages")), "", c
                )
                for c in data.get("citations") or ()
            ),
            sentences=tuple(
                SavedCheck(
                    str(s.get("text", "")),
                    bool(s.get("supported", True)),
                    float(s.get("support") or 0.0),
                )
                for s in data.get("sentences") or ()
            ),
            unsupported=tuple(str(u) for u in data.get("unsupported") or ()),
            passages=passages,
            coverage=None if ext is None else float(ext["coverage"]),
            density=None if ext is None else float(ext["density"]),
            answer_tokens=0 if ext is None else int(ext.get("answer_tokens") or 0),
            gate_reason=str(gate.get("reason") or ""),
            missing_terms=tuple(str(t) for t in gate.get("missing_terms") or ()),
        )

    @property
    def flagged(self) -> list[SavedCheck]:
        """The sentences their cited passages do not support."""
        return [s for s in self.sentences if not s.supported]

    def passage(self, n: int) -> SavedPassage | None:
        """Passage ``[n]`` (1-based), None when the answer was not given one."""
        return self.passages[n - 1] if 1 <= n <= len(self.passages) else None


@dataclass
class Message:
    role: str  # user | assistant
    content: str
    created_at: str = ""
    details: dict[str, Any] = field(
        default_factory=dict
    )  # answer JSON: citations, evidence, checks…

    @property
    def answer(self) -> SavedAnswer:
        """An assistant message's saved answer as a typed record (empty for a question)."""
        return SavedAnswer.from_json(self.details)


@dataclass
class Conversation:
    id: str
    title: str
    created_at: str
    updated_at: str
    mode: str = ""
    style: str = ""
    messages: list[Message] = field(default_factory=list)

    def history(self) -> list[dict[str, str]]:
        return [{"role": m.role, "content": m.content} for m in self.messages]


class ConversationStore:
    def __init__(self, path: Path):
        path.parent.mkdir(parents=True, exist_ok=True)
        self.db = sqlite3.connect(
            str(path), timeout=30, isolation_level=None, check_same_thread=False
        )
        self.db.row_factory = sqlite3.Row
        self.db.execute("PRAGMA foreign_keys=ON")
        version = int(self.db.execute("PRAGMA user_version").fetchone()[0])
        if version > SCHEMA_VERSION:
            self.db.close()
            raise KidneyTalkError(
                f"Conversations file {path} was written by a newer KidneyTalk "
                f"(schema {version}); please update KidneyTalk."
            )
        for statement in _SCHEMA.split(";"):
            if statement.strip():
                self.db.execute(statement)
        if version < SCHEMA_VERSION:  # 0: a new file, or one from before the version was kept
            self.db.execute(f"PRAGMA user_version={SCHEMA_VERSION}")

    def create(
        self, title: str = "New conversation", *, mode: str = "", style: str = ""
    ) -> Conversation:
        cid = uuid.uuid4().hex[:12]
        t = now()
        self.db.execute(
            "INSERT INTO conversations VALUES (?, ?, ?, ?, ?, ?)", (cid, title, t, t, mode, style)
        )
        return Conversation(cid, title, t, t, mode, style)

    def list(self) -> list[Conversation]:
        rows = self.db.execute(
            "SELECT * FROM conversations ORDER BY updated_at DESC, rowid DESC"
        ).fetchall()
        return [Conversation(**dict(r)) for r in rows]

    def get(self, cid: str) -> Conversation:
        row = self.db.execute("SELECT * FROM conversations WHERE id=?", (cid,)).fetchone()
        if row is None:
            raise KidneyTalkError(f"No conversation '{cid}'.")
        conv = Conversation(**dict(row))
        for m in self.db.execute(
            "SELECT * FROM messages WHERE conversation_id=? ORDER BY seq", (cid,)
        ):
            conv.messages.append(
                Message(m["role"], m["content"], m["created_at"], json.loads(m["details"]))
            )
        return conv

    def append(self, conv: Conversation, message: Message) -> None:
        self._append(conv, [message])

    def add_turn(
        self, conv: Conversation, question: str, answer: str, details: Mapping[str, Any]
    ) -> None:
        """A question and its answer (``Answer.to_json()``), saved in one transaction: a
        conversation never keeps a question without the answer it got."""
        self._append(
            conv, [Message("user", question), Message("assistant", answer, details=dict(details))]
        )

    def _append(self, conv: Conversation, messages: Sequence[Message]) -> None:
        title = conv.title
        self.db.execute("BEGIN IMMEDIATE")
        try:
            for seq, message in enumerate(messages, start=len(conv.messages)):
                message.created_at = message.created_at or now()
                self.db.execute(
                    "INSERT INTO messages VALUES (?, ?, ?, ?, ?, ?)",
                    (
                        conv.id,
                        seq,
                        message.role,
                        message.content,
                        message.created_at,
                        json.dumps(message.details, ensure_ascii=False),
                    ),
                )
                if seq == 0 and message.role == "user" and title == "New conversation":
                    title = " ".join(message.content.split())[:60]
            self.db.execute(
                "UPDATE conversations SET updated_at=?, title=? WHERE id=?",
                (messages[-1].created_at, title, conv.id),
            )
            self.db.execute("COMMIT")
        except BaseException:
            self.db.execute("ROLLBACK")
            raise
        conv.title = title
        conv.messages.extend(messages)

    def rename(self, cid: str, title: str) -> None:
        self.db.execute(
            "UPDATE conversations SET title=? WHERE id=?", (title.strip() or "Untitled", cid)
        )

    def set_options(self, cid: str, *, mode: str, style: str) -> None:
        """The retrieval mode and answer style this conversation asks with ("" = the settings' default)."""
        self.db.execute("UPDATE conversations SET mode=?, style=? WHERE id=?", (mode, style, cid))

    def delete(self, cid: str) -> None:
        self.db.execute("DELETE FROM conversations WHERE id=?", (cid,))

    def close(self) -> None:
        self.db.close()


def to_markdown(conv: Conversation, *, reasoning: bool = False) -> str:
    """The conversation with each answer's sources and flagged sentences.

    A reasoning model's thinking is left out unless ``reasoning`` is asked for:
    it was not checked against the sources.
    """
    lines = [f"# {conv.title}", "", f"_Exported from KidneyTalk; started {conv.created_at}._", ""]
    for m in conv.messages:
        if m.role == "user":
            lines += [f"**Question:** {m.content}", ""]
            continue
        saved = m.answer
        thought = saved.reasoning.strip()
        if reasoning and thought:
            lines += ["_The model's reasoning (not checked against the sources):_", ""]
            lines += ["> " + line if line else ">" for line in thought.splitlines()] + [""]
        lines += [f"**Answer** ({saved.mode}, {saved.style}):", "", m.content, ""]
        if saved.refused:
            lines += ["_The library did not contain the answer._", ""]
        if saved.unsupported:
            lines += (
                ["Not supported by the cited passages:"]
                + [f"- ⚠ {s}" for s in saved.unsupported]
                + [""]
            )
        if saved.citations:
            lines += ["Sources:", *(f"- [{c.n}] {c.label}" for c in saved.citations), ""]
        if saved.coverage is not None and saved.density is not None:
            lines += [
                f"_Extractiveness: coverage {saved.coverage:.2f}, density {saved.density:.1f}._",
                "",
            ]
    return "\n".join(lines).rstrip() + "\n"
