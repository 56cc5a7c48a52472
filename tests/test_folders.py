"""Followed folders: new, changed, renamed and deleted files reach the library, across restarts.

Real PDFs (pymupdf, made here), the real embedder, chroma in a temp home.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from kidneytalk import folders
from kidneytalk.catalog import STATUS_READY
from kidneytalk.cli import main
from kidneytalk.engine import Engine
from kidneytalk.errors import KidneyTalkError
from tests.fixtures_pdf import library_problems, write_text_pdf


def names(engine: Engine) -> dict[str, str]:
    """File name -> doc id of the ready documents."""
    return {d.name: d.id for d in engine.library.documents() if d.status == STATUS_READY}


class CountingEmbed:
    """Counts the passages the embedder is asked for (a renamed file must cost none)."""

    def __init__(self, embedder):
        self.inner = embedder.embed
        self.passages = 0

    def __call__(self, texts, *args, **kwargs):
        self.passages += len(texts)
        return self.inner(texts, *args, **kwargs)


def test_follow_add_modify_rename_delete_across_a_restart(
    home: Path, tmp_path: Path, embedder, monkeypatch
):
    docs = tmp_path / "guidelines"
    (docs / "renal").mkdir(parents=True)
    write_text_pdf(docs / "anaemia.pdf", topic="anaemia of CKD", pages=2)
    write_text_pdf(docs / "renal" / "potassium.pdf", topic="hyperkalaemia", pages=2)
    (docs / ".hidden.pdf").write_bytes((docs / "anaemia.pdf").read_bytes())  # hidden: ignored
    (docs / "notes.xyz").write_text("not a document")  # unsupported: ignored
    counter = CountingEmbed(embedder)
    monkeypatch.setattr(embedder, "embed", counter)

    engine = Engine(home, embedder=embedder)
    try:
        # 1. follow: both documents are added
        folders.follow(engine.library, docs)
        [report] = folders.sync(engine.library, remove_deleted=None)
        assert sorted(report.added) == ["anaemia.pdf", "renal/potassium.pdf"] and not report.failed
        assert set(names(engine)) == {"anaemia.pdf", "potassium.pdf"}
        [state] = folders.followed(engine.library)
        assert state.status == folders.OK and state.files == 2
        first_embedded = counter.passages
        assert first_embedded > 0

        # nothing changed: nothing is read again
        [report] = folders.sync(engine.library, remove_deleted=None)
        assert report.unchanged == 2 and not (report.added or report.updated or report.moved)
        assert counter.passages == first_embedded

        # 2. modify: the new version replaces the old one
        old_anaemia = names(engine)["anaemia.pdf"]
        write_text_pdf(docs / "anaemia.pdf", topic="iron deficiency in dialysis", pages=2)
        [report] = folders.sync(engine.library, remove_deleted=None)
        assert report.updated == ["anaemia.pdf"]
        now = names(engine)
        assert set(now) == {"anaemia.pdf", "potassium.pdf"} and now["anaemia.pdf"] != old_anaemia
        assert engine.library.catalog.get(old_anaemia) is None
        hits = engine.search("iron deficiency in dialysis", 3)
        assert hits and hits[0].doc_id == now["anaemia.pdf"]
        embedded = counter.passages
        assert embedded > first_embedded
    finally:
        engine.close()

    # 3. while the app is closed: rename one file, add one, delete none
    (docs / "renal" / "potassium.pdf").rename(docs / "hyperkalaemia-2024.pdf")
    write_text_pdf(docs / "renal" / "sodium.pdf", topic="hyponatraemia", pages=2)

    engine = Engine(
        home, embedder=embedder
    )  # a restart: new engine, library and catalog connection
    try:
        potassium_id = names(engine)["potassium.pdf"]
        [report] = folders.sync(engine.library, remove_deleted=None)  # the catch-up scan at start
        assert report.moved == [("renal/potassium.pdf", "hyperkalaemia-2024.pdf")]
        assert report.added == ["renal/sodium.pdf"] and not report.updated
        now = names(engine)
        assert (
            now["hyperkalaemia-2024.pdf"] == potassium_id
        )  # same document, new name: not re-embedded
        assert "potassium.pdf" not in now
        doc = engine.library.catalog.get(potassium_id)
        assert doc is not None and doc.original_path == str(
            (docs / "hyperkalaemia-2024.pdf").resolve()
        )
        sodium_chunks = engine.library.catalog.get(now["sodium.pdf"]).chunks_kept  # type: ignore[union-attr]
        assert counter.passages == embedded + sodium_chunks  # only the new file was embedded

        # 4. delete: with "ask" it stays until confirmed, then goes
        (docs / "anaemia.pdf").unlink()
        [report] = folders.sync(engine.library, remove_deleted=None)
        assert report.pending == ["anaemia.pdf"] and "anaemia.pdf" in names(engine)
        [report] = folders.sync(engine.library, remove_deleted=True)
        assert report.removed == ["anaemia.pdf"]
        assert set(names(engine)) == {"hyperkalaemia-2024.pdf", "sodium.pdf"}
        assert library_problems(engine.library) == []
        [state] = folders.followed(engine.library)
        assert state.files == 2
    finally:
        engine.close()


def test_a_vanished_or_emptied_folder_removes_nothing(engine: Engine, tmp_path: Path):
    share = tmp_path / "share"
    share.mkdir()
    write_text_pdf(share / "a.pdf", topic="peritoneal dialysis", pages=1)
    write_text_pdf(share / "b.pdf", topic="kidney transplantation", pages=1)
    folders.follow(engine.library, share)
    folders.sync(engine.library, remove_deleted=True)
    assert len(names(engine)) == 2

    shutil.move(share, tmp_path / "elsewhere")  # the network drive disappears
    [report] = folders.sync(engine.library, remove_deleted=True)
    assert not report.available and "not found" in report.problem
    assert len(names(engine)) == 2
    [state] = folders.followed(engine.library)
    assert state.status == folders.UNAVAILABLE and state.files == 2

    share.mkdir()  # an empty mount point left behind by an unmounted drive
    [report] = folders.sync(engine.library, remove_deleted=True)
    assert not report.available and "nothing is removed" in report.problem
    assert len(names(engine)) == 2

    share.rmdir()
    shutil.move(tmp_path / "elsewhere", share)  # the drive is back: all is well, nothing re-added
    [report] = folders.sync(engine.library, remove_deleted=True)
    assert report.available and report.unchanged == 2 and not report.added
    assert folders.followed(engine.library)[0].status == folders.OK


def test_a_listing_that_fails_part_way_removes_nothing(engine: Engine, tmp_path: Path, monkeypatch):
    share = tmp_path / "share"
    (share / "sub").mkdir(parents=True)
    write_text_pdf(share / "sub" / "a.pdf", topic="lupus nephritis", pages=1)
    write_text_pdf(share / "b.pdf", topic="nephrotic syndrome", pages=1)
    folders.follow(engine.library, share)
    folders.sync(engine.library, remove_deleted=True)
    real_walk = os.walk

    def flaky_walk(top, onerror=None, **kw):  # the connection drops while listing "sub"
        for root, dirs, files in real_walk(top, onerror=onerror, **kw):
            if Path(root).name == "sub":
                onerror(OSError(5, "Input/output error", root))
                continue
            yield root, dirs, files

    monkeypatch.setattr(folders.os, "walk", flaky_walk)
    [report] = folders.sync(engine.library, remove_deleted=True)
    assert report.available and "nothing is removed" in report.problem
    assert not report.removed and len(names(engine)) == 2


def test_deleted_files_kept_by_policy_and_documents_added_by_hand_never_removed(
    engine: Engine, tmp_path: Path
):
    docs = tmp_path / "docs"
    docs.mkdir()
    mine = write_text_pdf(docs / "mine.pdf", topic="gout and CKD", pages=1)
    other = write_text_pdf(docs / "other.pdf", topic="renal stones", pages=1)
    engine.add([mine])  # in the library before the folder is followed
    folders.follow(engine.library, docs)
    [report] = folders.sync(engine.library, remove_deleted=True)
    assert report.added == ["other.pdf"] and report.existing == ["mine.pdf"]
    mine.unlink()
    other.unlink()
    write_text_pdf(
        docs / "third.pdf", topic="polycystic kidney disease", pages=1
    )  # the folder is not empty
    [report] = folders.sync(engine.library, remove_deleted=True)
    assert report.removed == ["other.pdf"] and report.forgotten == ["mine.pdf"]
    assert set(names(engine)) == {"mine.pdf", "third.pdf"}

    (docs / "third.pdf").rename(docs / "fourth.pdf")
    write_text_pdf(docs / "fifth.pdf", topic="contrast nephropathy", pages=1)
    [report] = folders.sync(engine.library, remove_deleted=None)
    (docs / "fifth.pdf").unlink()
    [report] = folders.sync(engine.library, remove_deleted=folders.policy("never"))
    assert report.forgotten == ["fifth.pdf"] and "fifth.pdf" in names(engine)
    [report] = folders.sync(engine.library, remove_deleted=True)
    assert not report.removed  # forgotten files are no longer the folder's business


def test_follow_refuses_overlaps_and_non_folders(engine: Engine, tmp_path: Path):
    (tmp_path / "a" / "b").mkdir(parents=True)
    folders.follow(engine.library, tmp_path / "a")
    assert folders.follow(engine.library, tmp_path / "a").path == str(
        (tmp_path / "a").resolve()
    )  # idempotent
    with pytest.raises(KidneyTalkError, match="overlaps"):
        folders.follow(engine.library, tmp_path / "a" / "b")
    with pytest.raises(KidneyTalkError, match="not a folder"):
        folders.follow(engine.library, tmp_path / "missing")
    with pytest.raises(KidneyTalkError, match="own library"):
        folders.follow(engine.library, engine.paths.data)
    with pytest.raises(KidneyTalkError, match="not a followed folder"):
        folders.unfollow(engine.library, tmp_path / "elsewhere")
    folders.unfollow(engine.library, tmp_path / "a")
    assert folders.followed(engine.library) == []


def test_cli_folders_and_sync(home: Path, tmp_path: Path, capsys):
    docs = tmp_path / "docs"
    docs.mkdir()
    write_text_pdf(docs / "a.pdf", topic="diabetic nephropathy", pages=1)

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        """``kidneytalk --home HOME ARGS`` in this process (a subprocess per step costs a torch import)."""
        code = main(["--home", str(home), *args])
        out = capsys.readouterr()
        return subprocess.CompletedProcess(args, code, out.out, out.err)

    added = run("folders", "add", str(docs))
    assert added.returncode == 0, added.stderr
    assert f"following {docs.resolve()}" in added.stdout and "1 added" in added.stderr
    listed = json.loads(run("folders", "list", "--json").stdout)
    assert (
        listed[0]["path"] == str(docs.resolve())
        and listed[0]["files"] == 1
        and listed[0]["status"] == "ok"
    )

    (docs / "a.pdf").rename(docs / "b.pdf")
    write_text_pdf(docs / "c.pdf", topic="IgA nephropathy", pages=1)
    synced = run("sync", "--json")
    assert synced.returncode == 0, synced.stderr
    [report] = json.loads(synced.stdout)
    assert report["moved"] == [["a.pdf", "b.pdf"]] and report["added"] == ["c.pdf"]

    (docs / "c.pdf").unlink()
    asked = run("sync")
    assert asked.returncode == 0 and "sync --remove-deleted" in asked.stderr
    assert "c.pdf" in run("list").stdout
    assert run("sync", "--remove-deleted").returncode == 0
    assert "c.pdf" not in run("list").stdout

    assert run("settings", "set", "folders.remove_deleted", "sometimes").returncode == 2
    assert run("settings", "set", "folders.remove_deleted", "always").returncode == 0
    write_text_pdf(docs / "d.pdf", topic="Alport syndrome", pages=1)
    (docs / "b.pdf").unlink()
    assert (
        "1 added, 0 updated, 0 renamed, 1 removed" in run("sync").stderr
    )  # the setting decides, no question
    listed_now = run("list").stdout
    assert "b.pdf" not in listed_now and "d.pdf" in listed_now
    assert run("sync", "/no/such/folder").returncode == 1

    gone = run("folders", "remove", str(docs))
    assert gone.returncode == 0 and "stay in the library" in gone.stdout
    assert "d.pdf" in run("list").stdout
    assert run("folders", "remove", str(docs)).returncode == 1


def test_no_room_to_read_a_file_is_reported_and_tried_again_not_held_against_it(
    engine: Engine, tmp_path: Path, monkeypatch
):
    """The page file a PDF is read into cannot be written (the disk is full): the file fails with a
    message about the space, nothing is recorded against it, and the next sync adds it."""
    import errno

    from kidneytalk import parse

    share = tmp_path / "share"
    share.mkdir()
    write_text_pdf(share / "ckd.pdf", topic="chronic kidney disease", pages=3)
    folders.follow(engine.library, share)
    dump = parse.pickle.dump
    calls: list[int] = []

    def full(*a, **k):
        calls.append(1)
        if len(calls) == 2:
            raise OSError(errno.ENOSPC, "No space left on device")
        return dump(*a, **k)

    monkeypatch.setattr(parse.pickle, "dump", full)
    [report] = folders.sync(engine.library, remove_deleted=None)
    assert not report.added and len(report.failed) == 1
    assert "ckd.pdf: not read" in report.failed[0] and "free some space" in report.failed[0]
    assert str(engine.library.paths.data) in report.failed[0]  # read in the library's folder
    assert engine.library.documents() == []  # not a failed document: nothing to hold against it

    monkeypatch.undo()
    [report] = folders.sync(engine.library, remove_deleted=None)
    assert report.added == ["ckd.pdf"] and not report.failed
