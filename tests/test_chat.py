"""Conversations: persisted in the data dir, exported to Markdown, driven from the terminal chat."""

from __future__ import annotations

import dataclasses
import io
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from kidneytalk.answer import Answer, Evidence
from kidneytalk.cli import main
from kidneytalk.config import LLMSettings, Paths, RetrievalSettings, Settings
from kidneytalk.conversations import (
    Conversation,
    ConversationStore,
    Message,
    SavedAnswer,
    to_markdown,
)
from kidneytalk.engine import Engine, sample_document
from kidneytalk.errors import KidneyTalkError
from kidneytalk.records import Hit

QUESTION = "When should metformin be stopped in chronic kidney disease?"
FOLLOW_UP = "What about in children?"
INVENTED = "Dialysis is required for every patient with hypertension [1]."
REFUSAL = "The library does not contain the answer to this question."


def answer_details() -> dict[str, object]:
    """``Answer.to_json()`` of an answer with a supported, an unsupported and an inferred-citation sentence."""
    evidence = [
        Hit(
            "doc1:00001",
            "doc1",
            "ckd-guideline.pdf",
            "Metformin should be stopped when the eGFR falls below 30 mL/min/1.73 m2.",
            4,
            4,
            (),
            0.8,
        ),
        Hit(
            "doc2:00002",
            "doc2",
            "sglt2-review.pdf",
            "SGLT2 inhibitors reduce the risk of kidney failure in people with CKD.",
            7,
            8,
            (),
            0.7,
        ),
    ]
    text = (
        f"Metformin should be stopped when the eGFR falls below 30 mL/min/1.73 m2 [1]. {INVENTED} "
        "SGLT2 inhibitors reduce the risk of kidney failure."
    )
    answer = Answer.from_evidence(
        Evidence(
            QUESTION,
            passages=tuple(evidence),
            retrieved=tuple(evidence),
            mode="hybrid",
            refusal=REFUSAL,
        ),
        [text],
        model="fake",
        style="off",
    )
    return answer.to_json()


# ---------------------------------------------------------------- the store


def test_conversations_persist_across_engines(home: Path):
    with Engine(home) as eng:
        store = eng.conversations
        conv = store.create(mode="addrep", style="cp-order")
        assert conv.title == "New conversation"
        store.append(conv, Message("user", QUESTION))
        store.append(
            conv, Message("assistant", "Stop it below 30 [1].", details={"refused": False, "n": 1})
        )
        store.append(conv, Message("user", "二甲双胍在儿童中如何使用？"))
        assert conv.title == QUESTION  # the first question names the conversation
        other = store.create()
        store.rename(other.id, "  Potassium binders  ")
        cid, other_id = conv.id, other.id

    with Engine(home) as eng:  # a new process would see the same
        store = eng.conversations
        again = store.get(cid)
        assert (again.title, again.mode, again.style) == (QUESTION, "addrep", "cp-order")
        assert [(m.role, m.content) for m in again.messages] == [
            ("user", QUESTION),
            ("assistant", "Stop it below 30 [1]."),
            ("user", "二甲双胍在儿童中如何使用？"),
        ]
        assert again.messages[1].details == {"refused": False, "n": 1}
        assert all(m.created_at for m in again.messages)
        assert again.history()[0] == {"role": "user", "content": QUESTION}
        assert {c.id: c.title for c in store.list()} == {
            cid: QUESTION,
            other_id: "Potassium binders",
        }

        store.delete(other_id)
        assert [c.id for c in store.list()] == [cid]
        with pytest.raises(KidneyTalkError, match=other_id):
            store.get(other_id)

    with Engine(home) as eng:
        assert [c.id for c in eng.conversations.list()] == [cid]
        assert len(eng.conversations.get(cid).messages) == 3


def test_list_shows_the_most_recently_used_conversation_first(home: Path):
    with Engine(home) as eng:
        store = eng.conversations
        old, new = store.create(), store.create()
        store.append(old, Message("user", "old question", created_at="2030-01-01T00:00:00+00:00"))
        store.append(new, Message("user", "new question", created_at="2030-01-02T00:00:00+00:00"))
        assert [c.title for c in store.list()] == ["new question", "old question"]
        store.append(old, Message("assistant", "answer", created_at="2030-01-03T00:00:00+00:00"))
        assert [c.title for c in store.list()] == ["old question", "new question"]


def test_renaming_to_blank_keeps_a_title(home: Path):
    with Engine(home) as eng:
        conv = eng.conversations.create()
        eng.conversations.rename(conv.id, "   ")
        assert eng.conversations.get(conv.id).title == "Untitled"


# ---------------------------------------------------------------- Markdown export


def test_markdown_export_has_questions_answers_sources_and_warnings():
    details = answer_details()
    conv = Conversation(
        "abc123",
        "Metformin in CKD",
        "2030-01-01T00:00:00+00:00",
        "2030-01-01T00:00:00+00:00",
        messages=[
            Message("user", QUESTION),
            Message("assistant", str(details["answer"]), details=details),
            Message("user", "What is the capital of France?"),
            Message(
                "assistant", REFUSAL, details={"refused": True, "mode": "naive", "style": "off"}
            ),
        ],
    )
    md = to_markdown(conv)
    assert md.startswith("# Metformin in CKD\n")
    assert f"**Question:** {QUESTION}" in md
    assert "**Answer** (hybrid, off):" in md
    assert str(details["answer"]) in md
    assert "Not supported by the cited passages:" in md
    assert f"- ⚠ {INVENTED}" in md
    assert "Sources:" in md
    assert "- [1] ckd-guideline.pdf p.4" in md
    assert "- [2] sglt2-review.pdf pp.7-8" in md  # the inferred citation is listed too
    assert re.search(r"_Extractiveness: coverage 0\.\d\d, density \d+\.\d\._", md)
    assert "**Question:** What is the capital of France?" in md
    assert "_The library did not contain the answer._" in md
    assert md.endswith("\n") and not md.endswith("\n\n")


def test_a_saved_answer_reads_back_as_a_typed_record(home: Path):
    details = answer_details()
    paths = Paths.resolve(home).ensure()
    store = ConversationStore(paths.conversations)
    try:
        conv = store.create()
        store.add_turn(conv, QUESTION, str(details["answer"]), details)  # one transaction
        again = store.get(conv.id)
        saved = again.messages[1].answer
    finally:
        store.close()
    assert again.title == conv.title == QUESTION[:60]
    assert [(m.role, m.content) for m in again.messages] == [
        ("user", QUESTION),
        ("assistant", str(details["answer"])),
    ]
    assert again.messages[0].answer == SavedAnswer()  # a question has no answer fields
    assert (saved.mode, saved.style, saved.model) == ("hybrid", "off", "fake")
    assert not saved.refused and not saved.stopped
    assert saved.citations == saved.passages  # both passages are cited
    assert [c.label for c in saved.citations] == [
        "ckd-guideline.pdf p.4",
        "sglt2-review.pdf pp.7-8",
    ]
    assert [f.text for f in saved.flagged] == [INVENTED] and saved.unsupported == (INVENTED,)
    assert [p.pages for p in saved.passages] == [(4,), (7, 8)]
    assert saved.passage(2) is saved.passages[1] and saved.passage(3) is None
    assert saved.passages[0].data["id"] == "doc1:00001"  # the saved JSON, for the evidence view
    assert saved.coverage is not None and 0 < saved.coverage < 1 and saved.answer_tokens > 0
    with pytest.raises(dataclasses.FrozenInstanceError):
        saved.refused = True  # type: ignore[misc]
    # a message saved by an older version, with fewer keys, reads as empty rather than failing
    old = SavedAnswer.from_json({"refused": True})
    assert old.refused and old.passages == () and old.coverage is None and old.mode == ""


# ---------------------------------------------------------------- the terminal chat


@pytest.fixture
def chat_home(tmp_path: Path, embedder) -> Path:
    """A home with the sample document and cheap answer settings (AddRep without divergent/judge)."""
    home = tmp_path / "chat-home"
    paths = Paths.resolve(home).ensure()
    Settings(
        top_k=3,
        llm=LLMSettings(n_ctx=2048, max_answer_tokens=48),
        retrieval=RetrievalSettings(
            mode="addrep", style="cp-order", divergent=False, judge=False, k_first=3, max_evidence=3
        ),
    ).save(paths)
    with Engine(home, embedder=embedder) as eng:
        [added] = eng.add([sample_document()])
        assert added.status == "added", added.message
    return home


@pytest.mark.model  # the CLI subprocess loads it
def test_terminal_chat_answers_a_follow_up_and_exports_the_conversation(
    chat_home: Path, tmp_path: Path, capsys
):
    export = tmp_path / "chat.md"
    env = {k: v for k, v in os.environ.items() if k != "KIDNEYTALK_HOME"}
    res = subprocess.run(
        [sys.executable, "-m", "kidneytalk.cli", "--home", str(chat_home), "chat"],
        input=f"{QUESTION}\n{FOLLOW_UP}\n/export {export}\n/quit\n",
        capture_output=True,
        text=True,
        timeout=600,
        env=env,
    )
    assert res.returncode == 0, res.stderr
    assert "Traceback" not in res.stderr
    cid = re.search(r"conversation ([0-9a-f]{12})\)", res.stdout).group(1)
    assert res.stdout.count("kidneytalk> ") == 2
    assert "ckd-primer.md p.1" in res.stdout  # the first answer lists its source
    assert f"exported to {export}" in res.stdout
    assert f"Saved as conversation {cid}" in res.stdout

    md = export.read_text(encoding="utf-8")
    assert md.startswith(f"# {QUESTION}\n")
    assert f"**Question:** {QUESTION}" in md and f"**Question:** {FOLLOW_UP}" in md
    assert md.count("**Answer** (addrep, cp-order):") == 2
    assert "- [1] ckd-primer.md p.1" in md

    assert main(["--home", str(chat_home), "conversations", "list"]) == 0
    listed = capsys.readouterr().out
    assert cid in listed and QUESTION in listed

    assert main(["--home", str(chat_home), "conversations", "export", cid]) == 0
    printed = capsys.readouterr().out
    assert printed == md

    with Engine(chat_home) as eng:
        conv = eng.conversations.get(cid)
        assert [m.role for m in conv.messages] == ["user", "assistant", "user", "assistant"]
        first, second = conv.messages[1].details, conv.messages[3].details
        assert first["question"] == QUESTION and first["citations"]
        assert second["question"] == FOLLOW_UP
        refine = [s for s in second["trace"] if s["stage"] == "refine"]
        assert refine and not refine[0]["skipped"]  # the follow-up was asked with the history

    assert main(["--home", str(chat_home), "conversations", "delete", cid]) == 0
    capsys.readouterr()
    assert main(["--home", str(chat_home), "conversations", "export", cid]) == 1
    assert f"No conversation '{cid}'" in capsys.readouterr().err


@pytest.mark.model  # the CLI subprocess loads it
def test_chat_resume_continues_a_saved_conversation(home: Path, capsys, monkeypatch):
    with Engine(home) as eng:
        conv = eng.conversations.create(mode="naive", style="cp-order")
        eng.conversations.append(conv, Message("user", QUESTION))
        eng.conversations.append(conv, Message("assistant", "Stop it below 30 [1]."))
    monkeypatch.setattr("sys.stdin", io.StringIO("/quit\n"))
    assert main(["--home", str(home), "chat", "--resume", conv.id]) == 0
    assert f"conversation {conv.id}" in capsys.readouterr().out
    assert main(["--home", str(home), "chat", "--resume", "nope"]) == 1
    assert "No conversation 'nope'" in capsys.readouterr().err
