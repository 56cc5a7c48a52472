"""``kidneytalk doctor``: check a library and, with ``repair``, put it right.

Checks, each reported on one line:

* **settings** — ``settings.json`` readable and valid (a broken one is replaced
  by defaults with a backup when it is loaded; the doctor reports that).
* **catalog** — ``catalog.sqlite3`` opens and passes SQLite's integrity check,
  and was not written by a newer KidneyTalk.
* **vectors** — the ``chroma/`` store opens; every ready document has one
  vector per passage; no vector belongs to no document.
* **lexical index** — one full-text entry per passage.
* **stored copies** — every ready document's stored copy exists.

Repair first copies the catalog and settings into
``<data>/backups/doctor-<time>/``, then: a damaged catalog is moved there and
the library rebuilt from the stored copies (names recovered from the damaged
catalog where it can still be read); a damaged vector store is moved there
and every document re-indexed from its stored copy; documents with missing
vectors are re-indexed; orphan vectors are deleted; the lexical index is
rebuilt from the passages' text; a missing stored copy is restored from the
original file when that still has the same content, else reported (the
document stays searchable, but cannot be re-indexed until it is added again).
Damaged files and folders are moved into the backup, never deleted; only
vectors of no document are deleted (they can be rebuilt by re-indexing).
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import shutil
import sqlite3
import tempfile
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from kidneytalk.config import SETTINGS_FILE, Paths, Settings, read_only_reason
from kidneytalk.errors import KidneyTalkError
from kidneytalk.ocr import WORDS_SUFFIX

if TYPE_CHECKING:
    from kidneytalk.catalog import Document
    from kidneytalk.embed import Embedder

log = logging.getLogger(__name__)


@dataclass
class Finding:
    check: str
    ok: bool
    message: str
    repaired: str = ""  # what --repair did about it
    repairable: bool = True  # False: --repair cannot help (e.g. a library from a newer KidneyTalk)

    def line(self) -> str:
        state = "ok" if self.ok else ("repaired" if self.repaired else "PROBLEM")
        text = f"{state:8} {self.check}: {self.message}"
        return text + (f" -> {self.repaired}" if self.repaired else "")

    def to_json(self) -> dict[str, object]:
        return {
            "check": self.check,
            "ok": self.ok,
            "message": self.message,
            "repaired": self.repaired,
            "repairable": self.repairable,
        }


@dataclass
class Report:
    findings: list[Finding] = field(default_factory=list)
    backup: str = ""

    @property
    def healthy(self) -> bool:
        """True when nothing is left broken (all checks passed or were repaired)."""
        return all(f.ok or f.repaired for f in self.findings)

    @property
    def repairable(self) -> bool:
        """True when ``--repair`` could fix something still wrong."""
        return any(not (f.ok or f.repaired) and f.repairable for f in self.findings)

    def add(self, check: str, ok: bool, message: str) -> Finding:
        finding = Finding(check, ok, message)
        self.findings.append(finding)
        return finding

    def to_json(self) -> dict[str, object]:
        return {
            "healthy": self.healthy,
            "backup": self.backup,
            "findings": [f.to_json() for f in self.findings],
        }


def _catalog_problem(path: Path) -> str:
    """Why the catalog file cannot be used ('' when it is sound or absent)."""
    if not path.exists():
        return ""
    try:
        db = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=30)
        try:
            rows = db.execute("PRAGMA integrity_check").fetchall()
            db.execute("SELECT count(*) FROM documents").fetchone()
        finally:
            db.close()
    except sqlite3.DatabaseError as exc:
        return f"cannot be read ({exc})"
    result = "; ".join(str(r[0]) for r in rows[:3])
    return "" if result == "ok" else f"integrity check failed ({result})"


def _salvage_names(path: Path) -> dict[str, str]:
    """Document id -> name from a damaged catalog, as far as it can still be read."""
    names: dict[str, str] = {}
    with contextlib.suppress(sqlite3.DatabaseError):
        db = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=5)
        try:
            for doc_id, name in db.execute("SELECT id, name FROM documents"):
                names[str(doc_id)] = str(name)
        except sqlite3.DatabaseError:
            pass
        finally:
            db.close()
    return names


class Doctor:
    def __init__(
        self, home: str | os.PathLike[str] | None = None, *, embedder: Embedder | None = None
    ):
        self.paths = Paths.resolve(home).ensure()
        self.embedder = embedder
        self.report = Report()
        self._backup: Path | None = None

    # ------------------------------------------------------------ backup
    def backup_dir(self) -> Path:
        """Created on first use: the catalog and settings as they were before any repair."""
        if self._backup is None:
            stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S")
            target = self.paths.data / "backups" / f"doctor-{stamp}"
            n = 1
            while target.exists():
                n += 1
                target = target.with_name(f"doctor-{stamp}-{n}")
            target.mkdir(parents=True, mode=0o700)
            for file in (self.paths.catalog, self.paths.config / SETTINGS_FILE):
                if file.exists():
                    shutil.copy2(file, target / file.name)
            self._backup = target
            self.report.backup = str(target)
        return self._backup

    def move_aside(self, path: Path) -> Path:
        """Move a damaged file or folder into the backup (never deleted)."""
        target = self.backup_dir() / (path.name + ".damaged")
        os.replace(path, target) if path.is_dir() else shutil.move(str(path), str(target))
        return target

    # ------------------------------------------------------------ run
    def run(self, repair: bool = False) -> Report:
        notices: list[str] = []
        settings = Settings.load(self.paths, notices)
        if notices:
            f = self.report.add("settings", False, " ".join(notices))
            f.repaired = "defaults restored for the bad values (the broken file is kept beside it)"
        else:
            self.report.add("settings", True, "valid")
        read_only = read_only_reason(self.paths.data)
        if (
            read_only and repair
        ):  # a repair writes backups and rebuilds: never on a read-only library
            raise KidneyTalkError(
                f"The library folder {self.paths.data} is read-only ({read_only}): repairs refused; "
                "copy the folder to a writable place and run 'kidneytalk doctor --repair' there."
            )
        # A read-only catalog is checked through the library's own read-only opening (below).
        problem = "" if read_only else _catalog_problem(self.paths.catalog)
        if problem:
            f = self.report.add("catalog", False, f"{self.paths.catalog.name} {problem}")
            if repair:
                f.repaired = self.rebuild_catalog(settings)
            return self.report
        self.check_library(settings, repair)
        return self.report

    def rebuild_catalog(self, settings: Settings) -> str:
        """Move the damaged catalog (and the vectors it indexed) aside; add every stored copy again."""
        names = _salvage_names(self.paths.catalog)
        self.backup_dir()
        for suffix in ("", "-wal", "-shm"):
            side = Path(str(self.paths.catalog) + suffix)
            if side.exists():
                self.move_aside(side)
        if self.paths.chroma.exists():
            self.move_aside(self.paths.chroma)
        stored = sorted(
            p
            for p in self.paths.documents.glob("*")
            if p.is_file() and not p.name.endswith((".part", WORDS_SUFFIX)) and "." in p.name
        )
        from kidneytalk.library import Library

        with (
            tempfile.TemporaryDirectory(prefix="kidneytalk-doctor-") as tmp,
            Library(self.paths, settings, embedder=self.embedder) as lib,
        ):
            inputs = []
            for p in stored:
                name = names.get(p.stem, p.name)
                named = Path(tmp) / p.stem / Path(name).name
                named.parent.mkdir()
                os.link(p, named) if _same_device(p, Path(tmp)) else shutil.copy2(p, named)
                inputs.append(named)
            results = lib.add(inputs)
        added = sum(1 for r in results if r.status == "added")
        failed = [r.message for r in results if r.failed]
        note = f"; {len(failed)} failed: {'; '.join(failed[:3])}" if failed else ""
        return (
            f"moved to {self.backup_dir()} and rebuilt from {len(stored)} stored copies "
            f"({added} documents added{note}); names recovered: {len(names)}"
        )

    def check_library(self, settings: Settings, repair: bool) -> None:
        from kidneytalk import catalog as cat
        from kidneytalk.library import Library

        try:
            lib = Library(self.paths, settings, embedder=self.embedder)
        except KidneyTalkError as exc:  # e.g. written by a newer KidneyTalk: nothing to repair here
            self.report.add("catalog", False, str(exc)).repairable = False
            return
        with lib:
            docs = lib.documents()
            ready = [d for d in docs if d.status == cat.STATUS_READY]
            self.report.add("catalog", True, f"{len(docs)} documents, {len(ready)} ready")
            reindex: dict[str, str] = {}
            # ---- vector store
            try:
                ids = set(lib.store.ids())
                store_ok = True
            except Exception as exc:  # chromadb raises many types for a damaged folder
                store_ok = False
                f = self.report.add(
                    "vectors",
                    False,
                    f"the vector store in {self.paths.chroma} cannot be read "
                    f"({type(exc).__name__}: {' '.join(str(exc).split())[:160]})",
                )
                if repair:
                    lib.close_store()
                    self.move_aside(self.paths.chroma)
                    reindex.update({d.id: d.name for d in ready})
                    f.repaired = f"moved aside; {len(ready)} documents re-indexed"
            if store_ok:
                missing = []
                for d in ready:
                    have = sum(1 for i in ids if i.startswith(d.id + ":"))
                    want = lib.catalog.chunk_count(d.id)
                    if have != want:
                        missing.append(f"{d.name} has {have} of {want}")
                        reindex[d.id] = d.name
                ready_ids = {d.id for d in ready}
                orphans = [i for i in ids if i.split(":", 1)[0] not in ready_ids]
                if missing:
                    f = self.report.add(
                        "vectors", False, "passages without their vector: " + "; ".join(missing[:5])
                    )
                    if repair:
                        f.repaired = f"{len(missing)} documents re-indexed"
                else:
                    self.report.add(
                        "vectors", True, f"{len(ids) - len(orphans)} vectors, one per passage"
                    )
                if orphans:
                    f = self.report.add(
                        "vectors", False, f"{len(orphans)} vectors belong to no document"
                    )
                    if repair:
                        self.backup_dir()
                        with lib.writing("doctor"):
                            lib.store.delete_ids(orphans)
                        f.repaired = "deleted"
            # ---- lexical index
            db = lib.catalog.db
            chunks = db.execute("SELECT count(*) FROM chunks").fetchone()[0]
            lexical = db.execute("SELECT count(*) FROM chunks_fts").fetchone()[0]
            if chunks != lexical:
                f = self.report.add(
                    "lexical index", False, f"{lexical} entries for {chunks} passages"
                )
                if repair:
                    self.backup_dir()
                    with lib.writing("doctor"), lib.catalog.transaction():
                        db.execute("DELETE FROM meta WHERE key='lexical_version'")
                        lib.catalog._backfill_fts()
                    f.repaired = "rebuilt from the passages' text"
            else:
                self.report.add("lexical index", True, f"{lexical} entries")
            # ---- stored copies
            lost = [d for d in ready if not (d.stored_path and Path(d.stored_path).exists())]
            for d in lost:
                f = self.report.add(
                    "stored copies", False, f"{d.name}: stored copy {d.stored_path} is missing"
                )
                reindex.pop(d.id, None)
                if repair:
                    f.repaired = self.restore_copy(d)
                    if not f.repaired:
                        f.message += (
                            "; the original is gone or changed: the document stays searchable, "
                            "but add the file again to re-index it"
                        )
            if not lost:
                self.report.add("stored copies", True, f"{len(ready)} present")
            if repair and reindex:
                self.backup_dir()
                runnable = [i for i in reindex if Path(lib.catalog.get(i).stored_path).exists()]  # type: ignore[union-attr]
                results = lib.reindex(runnable)
                failed = [r.message for r in results if r.failed]
                if failed:
                    self.report.add("re-index", False, "; ".join(failed[:3]))

    def restore_copy(self, doc: Document) -> str:
        """'restored from …' when the original file still has the same content, else ''."""
        from kidneytalk.ingest import file_sha256

        original = Path(doc.original_path)
        try:
            if original.is_file() and file_sha256(original) == doc.sha256:
                Path(doc.stored_path).parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(original, doc.stored_path)
                return f"restored from {original}"
        except OSError:
            log.warning("cannot restore %s from %s", doc.stored_path, original, exc_info=True)
        return ""


def _same_device(a: Path, b: Path) -> bool:
    try:
        return a.stat().st_dev == b.stat().st_dev
    except OSError:
        return False


def run(
    home: str | os.PathLike[str] | None = None,
    *,
    repair: bool = False,
    embedder: Embedder | None = None,
) -> Report:
    return Doctor(home, embedder=embedder).run(repair=repair)


def dumps(report: Report) -> str:
    return json.dumps(report.to_json(), ensure_ascii=False, indent=2)
