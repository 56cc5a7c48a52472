"""`kidneytalk doctor` checks a library and repairs each corrupted state (issue 15).

One real library (two generated PDFs, the real embedder and chromadb) is built
once; each test damages a copy of it the way a crash, a full disk or a careless
clean-up would, and checks: one clear line from normal commands, the doctor's
report, the repair (after a backup), and a consistent, searchable library after.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest

from kidneytalk import doctor
from kidneytalk.cli import main
from kidneytalk.config import Paths, Settings
from kidneytalk.engine import Engine
from kidneytalk.errors import LibraryDamagedError
from tests.fixtures_pdf import library_problems, write_text_pdf

NAMES = ["metformin-guide.pdf", "anaemia-leaflet.pdf"]


@pytest.fixture(scope="module")
def built(tmp_path_factory, embedder) -> Path:
    root = tmp_path_factory.mktemp("doctor")
    originals = root / "originals"
    originals.mkdir()
    files = [
        write_text_pdf(originals / NAMES[0], topic="diabetic kidney disease", pages=3),
        write_text_pdf(originals / NAMES[1], topic="renal anaemia", pages=2),
    ]
    with Engine(root / "home", embedder=embedder) as eng:
        results = eng.add(files)
        assert [r.status for r in results] == ["added", "added"]
    return root


@pytest.fixture
def home(built: Path, tmp_path: Path) -> Iterator[Path]:
    """A fresh copy of the built library for one test to damage."""
    copy = tmp_path / "home"
    shutil.copytree(built / "home", copy)
    db = sqlite3.connect(
        Paths.resolve(copy).catalog
    )  # stored paths are absolute: point them at the copy
    db.execute(
        "UPDATE documents SET stored_path = replace(stored_path, ?, ?)",
        (str(built / "home"), str(copy)),
    )
    db.commit()
    db.close()
    yield copy


def paths(home: Path) -> Paths:
    return Paths.resolve(home)


def assert_consistent_and_searchable(home: Path, embedder, names=NAMES) -> None:
    with Engine(home, embedder=embedder) as eng:
        assert library_problems(eng.library) == []
        assert sorted(d.name for d in eng.library.documents()) == sorted(names)
        hits = eng.search("When should metformin be stopped?", k=3)
        assert hits and any("Metformin" in h.text for h in hits)
        assert eng.library.catalog.lexical_search("metformin", 3, eng.library.searchable_doc_ids())


def findings(report: doctor.Report, check: str) -> list[doctor.Finding]:
    return [f for f in report.findings if f.check == check]


def test_a_healthy_library_passes_every_check(home: Path, embedder, capsys):
    report = doctor.run(home, embedder=embedder)
    assert report.healthy and not report.backup
    assert {f.check for f in report.findings} == {
        "settings",
        "catalog",
        "vectors",
        "lexical index",
        "stored copies",
    }
    assert main(["--home", str(home), "doctor"]) == 0
    out = capsys.readouterr().out
    assert out.count("\n") == 5 and "PROBLEM" not in out


def test_a_damaged_catalog_gives_one_line_and_is_rebuilt_from_the_stored_copies(
    home: Path, embedder, capsys
):
    catalog = paths(home).catalog
    data = bytearray(catalog.read_bytes())
    data[:100] = b"\x00garbage" * 12 + b"\x00" * 4  # the header: no longer an SQLite file
    catalog.write_bytes(bytes(data))
    for side in ("-wal", "-shm"):
        Path(str(catalog) + side).unlink(missing_ok=True)
    with pytest.raises(LibraryDamagedError, match="doctor --repair"):
        Engine(home, embedder=embedder)
    assert main(["--home", str(home), "list"]) == 1
    err = capsys.readouterr().err
    assert (
        err.count("\n") == 1 and "damaged" in err and "doctor --repair" in err and "bug" not in err
    )

    report = doctor.run(home, embedder=embedder)
    assert not report.healthy and "cannot be read" in findings(report, "catalog")[0].message
    report = doctor.run(home, repair=True, embedder=embedder)
    assert report.healthy, doctor.dumps(report)
    backup = Path(report.backup)
    assert (backup / "catalog.sqlite3.damaged").is_file() and (backup / "chroma.damaged").is_dir()
    # the names lived in the damaged catalog: the documents come back under their stored file names
    with Engine(home, embedder=embedder) as eng:
        names = sorted(d.name for d in eng.library.documents())
    assert len(names) == 2
    assert_consistent_and_searchable(home, embedder, names)


def test_a_malformed_catalog_page_keeps_the_names_it_can(home: Path, embedder):
    """Damage past the documents table (the chunk pages): the names are salvaged for the rebuild."""
    catalog = paths(home).catalog
    db = sqlite3.connect(catalog)
    db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    db.close()
    data = bytearray(catalog.read_bytes())
    page = 4096
    for start in range(
        len(data) - 6 * page, len(data) - page, page
    ):  # garbage over late b-tree pages
        data[start : start + 64] = b"\xff" * 64
    catalog.write_bytes(bytes(data))
    report = doctor.run(home, embedder=embedder)
    if report.healthy:
        pytest.skip("this damage did not reach a page SQLite checks (layout differs)")
    report = doctor.run(home, repair=True, embedder=embedder)
    assert report.healthy, doctor.dumps(report)
    assert_consistent_and_searchable(home, embedder)


def test_a_deleted_chroma_folder_is_re_embedded(home: Path, embedder):
    shutil.rmtree(paths(home).chroma)
    report = doctor.run(home, embedder=embedder)
    [vectors] = findings(report, "vectors")
    assert (
        not vectors.ok and "without their vector" in vectors.message and NAMES[0] in vectors.message
    )
    report = doctor.run(home, repair=True, embedder=embedder)
    assert report.healthy and report.backup, doctor.dumps(report)
    assert doctor.run(home, embedder=embedder).healthy
    assert_consistent_and_searchable(home, embedder)


def test_a_damaged_chroma_folder_is_moved_aside_and_rebuilt(home: Path, embedder, capsys):
    chroma = paths(home).chroma
    (chroma / "chroma.sqlite3").write_bytes(b"not a database at all" * 100)
    assert main(["--home", str(home), "search", "metformin"]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "doctor --repair" in err, err
    report = doctor.run(home, repair=True, embedder=embedder)
    assert report.healthy, doctor.dumps(report)
    assert (Path(report.backup) / "chroma.damaged" / "chroma.sqlite3").is_file()
    assert_consistent_and_searchable(home, embedder)


def test_a_missing_stored_copy_is_restored_from_the_original(home: Path, embedder, built: Path):
    with Engine(home, embedder=embedder) as eng:
        [doc] = [d for d in eng.library.documents() if d.name == NAMES[0]]
    Path(doc.stored_path).unlink()
    report = doctor.run(home, embedder=embedder)
    assert not report.healthy and NAMES[0] in findings(report, "stored copies")[0].message
    report = doctor.run(home, repair=True, embedder=embedder)
    assert report.healthy and "restored from" in findings(report, "stored copies")[0].repaired
    assert Path(doc.stored_path).is_file()

    # the original is gone too: reported, nothing deleted, the document stays searchable
    Path(doc.stored_path).unlink()
    moved = built / "moved-away.pdf"
    (built / "originals" / NAMES[0]).rename(moved)
    try:
        report = doctor.run(home, repair=True, embedder=embedder)
    finally:
        moved.rename(built / "originals" / NAMES[0])
    assert not report.healthy
    assert "add the file again" in findings(report, "stored copies")[0].message
    with Engine(home, embedder=embedder) as eng:
        assert len(eng.library.documents()) == 2
        assert any(h.doc_name == NAMES[0] for h in eng.search("metformin eGFR", k=5))


def test_a_lexical_index_with_lost_entries_is_rebuilt(home: Path, embedder):
    db = sqlite3.connect(paths(home).catalog)
    db.execute("DELETE FROM chunks_fts WHERE rowid IN (SELECT rowid FROM chunks_fts LIMIT 3)")
    db.commit()
    db.close()
    report = doctor.run(home, embedder=embedder)
    assert not findings(report, "lexical index")[0].ok
    report = doctor.run(home, repair=True, embedder=embedder)
    assert report.healthy
    assert doctor.run(home, embedder=embedder).healthy
    assert_consistent_and_searchable(home, embedder)


def test_orphan_vectors_are_deleted_and_a_broken_settings_file_is_reported(home: Path, embedder):
    import numpy as np

    with Engine(home, embedder=embedder) as eng:
        eng.library.store.add(
            ["deadbeef0000:00000"], ["deadbeef0000"], np.ones((1, 384), dtype=np.float32)
        )
    (paths(home).config / "settings.json").write_text("{not json", encoding="utf-8")
    report = doctor.run(home, repair=True, embedder=embedder)
    assert report.healthy, doctor.dumps(report)
    assert findings(report, "settings")[0].repaired
    assert any(
        "belong to no document" in f.message and f.repaired == "deleted"
        for f in findings(report, "vectors")
    )
    assert doctor.run(home, embedder=embedder).healthy


def test_a_library_from_a_newer_version_gives_one_line_and_is_left_untouched(
    home: Path, embedder, capsys
):
    from kidneytalk.catalog import SCHEMA_VERSION

    catalog = paths(home).catalog
    db = sqlite3.connect(catalog)
    db.execute("UPDATE meta SET value=? WHERE key='schema_version'", (str(SCHEMA_VERSION + 1),))
    db.commit()
    db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    db.close()
    before = {p: p.read_bytes() for p in (catalog, *paths(home).documents.iterdir())}
    chroma_before = sorted(p.relative_to(home) for p in paths(home).chroma.rglob("*"))

    for command in (["list"], ["search", "metformin"], ["add", str(catalog)]):
        assert main(["--home", str(home), *command]) == 1, command
        out = capsys.readouterr()
        err = out.err
        assert err.count("\n") == 1 and "Traceback" not in out.out + err, (command, err)
        assert f"newer KidneyTalk (schema {SCHEMA_VERSION + 1})" in err and "update" in err

    assert main(["--home", str(home), "doctor"]) == 1
    out = capsys.readouterr().out
    [line] = [ln for ln in out.splitlines() if "catalog" in ln]
    assert line.startswith("PROBLEM") and "newer KidneyTalk" in line
    assert "Traceback" not in out and "doctor --repair" not in out  # nothing a repair could do
    report = doctor.run(home, repair=True, embedder=embedder)
    assert not report.healthy and not report.backup
    assert [f.repaired for f in findings(report, "catalog")] == [""]
    # never silent data loss: the newer library is exactly as it was
    assert {p: p.read_bytes() for p in before} == before
    assert sorted(p.relative_to(home) for p in paths(home).chroma.rglob("*")) == chroma_before


def test_a_settings_file_with_wrong_types_is_repaired_with_a_backup(home: Path, embedder):
    import json

    settings_file = paths(home).config / "settings.json"
    broken = {"top_k": "five", "retrieval": {"mode": "magic", "min_similarity": 7}, "chunk": 3}
    settings_file.write_text(json.dumps(broken), encoding="utf-8")
    report = doctor.run(home, embedder=embedder)
    [finding] = findings(report, "settings")
    assert "top_k" in finding.message and "retrieval.mode" in finding.message
    assert "\n" not in finding.message and finding.repaired
    saved = json.loads(settings_file.read_text(encoding="utf-8"))
    default = Settings()
    assert saved["top_k"] == default.top_k and saved["chunk"] == default.chunk.as_dict()
    assert saved["retrieval"]["mode"] == default.retrieval.mode
    assert saved["retrieval"]["min_similarity"] == default.retrieval.min_similarity
    [backup] = list(settings_file.parent.glob("settings.json.bad-*"))
    assert json.loads(backup.read_text(encoding="utf-8")) == broken
    assert doctor.run(home, embedder=embedder).healthy
    assert_consistent_and_searchable(home, embedder)


def test_a_truncated_catalog_gives_one_line_and_is_rebuilt(home: Path, embedder, capsys):
    catalog = paths(home).catalog
    db = sqlite3.connect(catalog)
    db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    db.close()
    os.truncate(catalog, catalog.stat().st_size // 2)  # a copy cut short, a disk that filled up
    code = main(["--home", str(home), "list"])
    err = capsys.readouterr().err
    assert code == 1 and err.count("\n") == 1 and "Traceback" not in err
    assert "doctor --repair" in err, err
    report = doctor.run(home, repair=True, embedder=embedder)
    assert report.healthy, doctor.dumps(report)
    assert (Path(report.backup) / "catalog.sqlite3.damaged").is_file()
    [catalog_finding] = findings(report, "catalog")
    assert "rebuilt from 2 stored copies (2 documents added" in catalog_finding.repaired
    # the cut took the schema with it: the names come back only where SQLite can still read them
    with Engine(home, embedder=embedder) as eng:
        names = sorted(d.name for d in eng.library.documents())
    assert len(names) == 2
    assert_consistent_and_searchable(home, embedder, names)
