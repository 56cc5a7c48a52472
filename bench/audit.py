"""Content-loss audit: substantive text of a PDF that reached no stored passage.

    .venv/bin/python bench/audit.py                 # realdocs-dev + PubMedQA digests, writes the JSON
    .venv/bin/python bench/audit.py --show 20       # also print up to 20 lost lines per document
    .venv/bin/python bench/audit.py --timing-only --code DIR --label before
                                                     # parse+clean seconds of another checkout (DIR
                                                     # holds its kidneytalk/ package), for before/after

What is counted (per document):

* **Page text** is read independently of KidneyTalk's parser: every text line of
  ``page.get_text("dict")`` (pymupdf), NFKC-normalised. A line is *substantive*
  when it has at least 2 letters or digits.
* **Stored passages** are the chunks the pipeline keeps, exactly as
  ``Library.prepare`` makes them (parse, clean, chunk with the bundled
  embedder's tokenizer and default chunk settings, rule filter); no embedding,
  since vectors do not change the text. Each passage counts with its section
  headings (they are stored and searched with it).
* A line **reached** a passage when its letters and digits (lower-cased, every
  other character removed, so hyphenation, joined lines, ligatures and Markdown
  table pipes do not matter) appear in one passage, or the line can be cut in
  two parts at a space (between characters for a short line without spaces,
  e.g. Chinese) that each appear in a passage (a line split between two
  chunks). Very short lines match easily; that errs towards "reached".
* Excluded as legitimate boilerplate, and reported separately:
  - **furniture**: lines the cleaner removed as a running header/footer/stamp or
    page number, *and* that the audit can confirm: the same text (numbers
    ignored) is on at least 2 pages, or it is a page number. A line removed as
    furniture that appears on one page only counts as lost.
  - **notices**: lines inside the sentences the cleaner cut as copyright/licence
    notices, when those carry one of the audit's own narrow markers (©, "All
    rights reserved", "licensee", "Creative Commons", ...; see ``_NOTICE_MARKER``).
  - **back matter**: every line after a "References" / "Bibliography" /
    "参考文献" heading line to the end of the document (reference lists and the
    publisher's boxes after them), which the filter drops as reference lists.
* **lost_chars** = non-space characters of substantive, not-excluded lines that
  reached no passage. The target is 0 on every document.

Also measured: parse+clean seconds per corpus, wall clock and CPU time of the
process (the CPU time is the steadier number on a shared machine; the part of
ingestion this change touches) and the pages on which table detection (``find_tables``) ran,
with its seconds. Results: ``bench/results/audit.json`` (merged by ``--label``
for timing runs), with the date, the CPU model and flags, and "machine": "busy"
(the 2-core machine was shared by several engineers; timings are indicative).
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import time
import unicodedata
from datetime import UTC, datetime
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SHARED = next(
    (p / "shared" for p in REPO.parents if (p / "shared" / "eval").is_dir()), REPO.parent / "shared"
)
REALDOCS = SHARED / "eval" / "realdocs-dev" / "pdfs"
DIGESTS = SHARED / "eval" / "pubmedqa-dev" / "corpus"
RESULTS = REPO / "bench" / "results" / "audit.json"

_NON_ALNUM = re.compile(r"[\W_]+")
_BACK_MATTER = re.compile(
    r"^\s*(?:\d+\.?\s*)?(references|bibliography|literature cited|参考文献|參考文獻)\s*$", re.I
)
_DIGITS = re.compile(r"\d+")
# The audit's own, narrow idea of a notice (not the cleaner's pattern): a cut sentence counts as
# boilerplate only with one of these.
_NOTICE_MARKER = re.compile(
    r"©|\u20dd|all rights reserved|licensee|creative commons|distributed under the terms"
    r"|unauthori[sz]ed use|notice of rights|版權所有|版权所有|著作權|著作权",
    re.I,
)
_PAGE_NUMBER = re.compile(r"^\s*(?:page\s*)?\d{1,4}(?:\s*(?:of|/)\s*\d{1,4})?\s*$", re.I)


def cpu_info() -> dict[str, object]:
    """CPU model, cores and speed-relevant flags (the app's own probe)."""
    from kidneytalk.cpu import cpu_summary

    return cpu_summary()


def squash(text: str) -> str:
    text = text.replace("<br>", " ").replace("\u20dd", "©")  # Markdown cell breaks; a drawn ©
    return _NON_ALNUM.sub("", unicodedata.normalize("NFKC", text).lower())


def raw_lines(path: Path) -> list[tuple[int, str]]:
    """(page, line text) of every text line, in pymupdf's order."""
    import pymupdf

    out: list[tuple[int, str]] = []
    with pymupdf.open(path) as doc:
        for page in doc:
            data = page.get_text("dict", flags=pymupdf.TEXT_MEDIABOX_CLIP)
            for block in data.get("blocks", []):
                for line in block.get("lines", []):
                    text = unicodedata.normalize(
                        "NFKC", "".join(s["text"] for s in line["spans"])
                    ).strip()
                    if text:
                        out.append((page.number + 1, text))
    return out


class Corpus:
    """The stored passages of one document, searchable by squashed substring."""

    def __init__(self, passages: list[str]):
        self.joined = "|".join(squash(p) for p in passages)

    def has(self, key: str, extra: str = "") -> bool:
        return key in self.joined or (bool(extra) and key in extra)

    def reached(self, line: str, extra: str = "") -> bool:
        """The line is in a passage (or in ``extra``), whole or cut in two at a space."""
        if self.has(squash(line), extra):
            return True
        words = line.split()
        if len(words) == 1 and len(line) <= 80:
            words = list(line)  # CJK lines have no spaces: cut between characters
        for i in range(1, len(words)):
            left, right = squash(" ".join(words[:i])), squash(" ".join(words[i:]))
            if left and right and self.has(left, extra) and self.has(right, extra):
                return True
        return False


def audit_document(path: Path, chunker, show: int) -> dict:
    from kidneytalk.clean import clean_document
    from kidneytalk.filter import filter_chunks
    from kidneytalk.parse import parse_file

    t0 = time.perf_counter()
    doc = clean_document(parse_file(path))
    parse_clean_s = time.perf_counter() - t0
    chunks, dropped = filter_chunks(chunker.chunk("audit", doc))
    corpus = Corpus([" ".join(c.section) + "\n" + c.text for c in chunks])

    lines = raw_lines(path)
    pages_of_key: dict[str, set[int]] = {}
    for page, text in lines:
        pages_of_key.setdefault(_DIGITS.sub("#", squash(text)), set()).add(page)
    furniture = {squash(r.text) for r in doc.removed if r.code in ("furniture", "page-number")}
    # consecutive cut sentences of one page, joined: a printed line often spans two of them
    notices: dict[int, str] = {}
    for r in doc.removed:
        if r.code == "notice" and _NOTICE_MARKER.search(r.text):
            notices[r.page] = notices.get(r.page, "") + squash(r.text)

    stats = {
        "substantive_chars": 0,
        "furniture_chars": 0,
        "notice_chars": 0,
        "back_matter_chars": 0,
        "lost_chars": 0,
    }
    lost: list[dict] = []
    back_matter = False
    for page, text in lines:
        key = squash(text)
        size = len("".join(text.split()))
        if len(key) < 2:
            continue
        if _BACK_MATTER.match(text):
            back_matter = True
        if back_matter:
            stats["back_matter_chars"] += size
            continue
        confirmed_furniture = key in furniture and (
            len(pages_of_key.get(_DIGITS.sub("#", key), ())) >= 2 or _PAGE_NUMBER.match(text)
        )
        if confirmed_furniture:
            stats["furniture_chars"] += size
            continue
        reached = corpus.reached(text)
        if not reached and notices.get(page) and corpus.reached(text, notices[page]):
            stats["notice_chars"] += size
            continue
        stats["substantive_chars"] += size
        if not reached:
            stats["lost_chars"] += size
            lost.append({"page": page, "text": text})
    removed_by_code: dict[str, int] = {}
    for r in doc.removed:
        removed_by_code[r.code] = removed_by_code.get(r.code, 0) + 1
    dropped_by_reason: dict[str, int] = {}
    for d in dropped:
        dropped_by_reason[d.reason] = dropped_by_reason.get(d.reason, 0) + 1
    return {
        "file": path.name,
        "pages": doc.page_count,
        **stats,
        "lost_share": round(stats["lost_chars"] / max(1, stats["substantive_chars"]), 4),
        "passages_kept": len(chunks),
        "passages_dropped": dropped_by_reason,
        "lines_removed": removed_by_code,
        "parse_clean_seconds": round(parse_clean_s, 3),
        "lost_lines": lost if show < 0 else lost[: max(show, 50)],
    }


def timing(files: list[Path], repeat: int) -> dict:
    """Best-of-``repeat`` parse+clean seconds over ``files`` (and table-detection stats if known)."""
    import kidneytalk.parse as parse_mod
    from kidneytalk.clean import clean_document

    best = best_cpu = float("inf")
    pages = 0
    table_stats: dict = {}
    for _ in range(repeat):
        stats = getattr(parse_mod, "TABLE_STATS", None)
        if stats is not None:
            stats.update(pages=0, seconds=0.0, tables=0)
        t0, c0 = time.perf_counter(), time.process_time()
        pages = 0
        for f in files:
            pages += clean_document(parse_mod.parse_file(f)).page_count
        elapsed = time.perf_counter() - t0
        best_cpu = min(best_cpu, time.process_time() - c0)
        if elapsed < best:
            best = elapsed
            table_stats = dict(stats) if stats is not None else {}
    return {
        "files": len(files),
        "pages": pages,
        "parse_clean_seconds": round(best, 3),
        "parse_clean_cpu_seconds": round(best_cpu, 3),
        "pages_per_second": round(pages / best, 2),
        "repeat": repeat,
        "table_detection": {
            k: round(v, 3) if isinstance(v, float) else v for k, v in table_stats.items()
        },
    }


def main() -> int:
    ap = argparse.ArgumentParser(description="content-loss audit of the ingestion pipeline")
    ap.add_argument("--show", type=int, default=0, help="print up to N lost lines per document")
    ap.add_argument("--timing-only", action="store_true")
    ap.add_argument("--code", help="import kidneytalk from this checkout (for a 'before' timing)")
    ap.add_argument("--label", default="after")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument(
        "--only", choices=["realdocs-dev", "pubmedqa-digests"], help="time/audit one corpus"
    )
    args = ap.parse_args()
    sys.path.insert(0, str(Path(args.code).resolve()) if args.code else str(REPO))

    corpora = {
        "realdocs-dev": sorted(REALDOCS.glob("*.pdf")),
        "pubmedqa-digests": sorted(DIGESTS.glob("*.pdf")),
    }
    if args.only:
        corpora = {args.only: corpora[args.only]}
    if not any(corpora.values()):
        print(f"no evaluation PDFs under {SHARED}", file=sys.stderr)
        return 2
    data = json.loads(RESULTS.read_text()) if RESULTS.exists() else {}
    data.update(
        {
            "date": datetime.now(UTC).isoformat(timespec="seconds"),
            "cpu": cpu_info(),
            "machine": "busy",
        }
    )
    timings = data.setdefault("timing", {})
    timings.setdefault(args.label, {}).update(
        {name: timing(files, args.repeat) for name, files in corpora.items() if files}
    )
    for name in corpora:
        t = timings[args.label][name]
        print(
            f"{args.label} {name}: parse+clean {t['parse_clean_seconds']} s wall, "
            f"{t['parse_clean_cpu_seconds']} s CPU for {t['pages']} pages "
            f"(best of {t['repeat']}); tables: {t['table_detection']}"
        )
    if not args.timing_only:
        from kidneytalk.chunk import Chunker
        from kidneytalk.config import ChunkSettings
        from kidneytalk.embed import Embedder

        embedder = Embedder()
        chunker = Chunker(embedder.token_counter(), ChunkSettings(), embedder.max_tokens)
        audit: dict[str, dict] = {}
        for name, files in corpora.items():
            docs = [audit_document(f, chunker, args.show) for f in files]
            audit[name] = {
                "lost_chars": sum(d["lost_chars"] for d in docs),
                "substantive_chars": sum(d["substantive_chars"] for d in docs),
                "documents": docs,
            }
            print(
                f"{name}: lost {audit[name]['lost_chars']} of {audit[name]['substantive_chars']} "
                "substantive characters"
            )
            for d in docs:
                print(
                    f"  {d['file'][:60]:60} lost {d['lost_chars']:5} / {d['substantive_chars']:6}  "
                    f"furniture {d['furniture_chars']:5}  notices {d['notice_chars']:4}  "
                    f"back matter {d['back_matter_chars']:6}"
                )
                for item in d["lost_lines"][: args.show]:
                    print(f"      p.{item['page']}: {item['text'][:120]}")
        embedder.close()
        data["audit"] = audit
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(data, indent=1, ensure_ascii=False) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
