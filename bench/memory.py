"""Memory: peak RSS of ingest and of ask on the default settings, and RSS over time while a
1,000-page PDF is ingested (it must stay flat: pages are not all held at once).

Each measurement runs in its own process, so its peak RSS (``ru_maxrss``: imports and models
included) is its own:

* **ingest** — ``Engine.add`` of the PubMedQA digests into a fresh library (defaults: the
  embedder the CPU gets, chunking, filter);
* **ask** — ``Engine.ask`` (defaults: AddRep, the bundled model) of a few dev questions on that
  library, answers read to the end;
* **big** — a generated PDF of ``--pages`` pages of clinical-style text (headings, running
  header and footer, a page number, a ruled table on every ``--tables-every`` page) added to
  a fresh library while a thread samples VmRSS every ``--interval`` seconds, with the pages
  embedded so far (from the progress events). "Flat": RSS once the first tenth of the pages
  is done vs. the peak; a document whose text and pages were all held would grow with the
  page count. Table pages are read by a helper process (``kidneytalk.tables``): its RSS is
  sampled beside this process's (``KIDNEYTALK_TABLES_INPROCESS=1`` reads them here, as
  before, to compare).

    .venv/bin/python bench/memory.py [--pages 1000] [--out bench/results/memory.json]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from ingest import (
    AVX2_ENV,
    DEFAULT_CORPUS,
    DEFAULT_QUESTIONS,
    RESULTS,
    _share_embed_cache,
    cpu_info,
)

TARGET_PEAK_RSS_MIB = 1536  # 1.5 GiB
ASK_QUESTIONS = 2

_WORDS = (
    "kidney renal glomerular filtration rate albuminuria creatinine dialysis haemodialysis "
    "peritoneal transplant tacrolimus proteinuria nephropathy hypertension diabetes "
    "potassium phosphate anaemia erythropoietin fistula biopsy nephrotic syndrome acute "
    "injury chronic disease progression outcome cohort randomised trial placebo patients "
    "treatment dose mortality risk ratio interval baseline follow-up months serum urine "
    "blood pressure inhibitor angiotensin receptor blocker sodium glucose cotransporter"
).split()


def _peak_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _rss_mib(pid: str = "self") -> float:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:  # a child that has just exited
        return 0.0
    return float("nan")


def _children_rss_mib() -> float:
    """Resident MiB of this process's children now (the table helper while it runs).

    ``ru_maxrss`` of the children cannot say it: a child started by fork and exec keeps the
    high-water mark of the parent's image it was forked from."""
    total = 0.0
    for task in Path("/proc/self/task").iterdir():
        try:
            pids = (task / "children").read_text().split()
        except OSError:
            continue
        total += sum(_rss_mib(pid) for pid in pids)
    return total


def _rollup_mib() -> dict[str, float]:
    """Anonymous (heap, arenas, tensors) and file-backed (libraries, mapped model) resident MiB."""
    out: dict[str, float] = {}
    try:
        text = Path("/proc/self/smaps_rollup").read_text()
    except OSError:
        return out
    for line in text.splitlines():
        key, _, rest = line.partition(":")
        if key in ("Anonymous", "Private_Dirty", "Shared_Clean", "Private_Clean"):
            out[key.lower() + "_mib"] = round(int(rest.split()[0]) / 1024, 1)
    return out


def make_pdf(path: Path, pages: int, seed: int = 7, tables_every: int = 0) -> None:
    """A text PDF: every page a section heading now and then, four paragraphs, a running
    header and a page-number footer (as guidelines have); with ``tables_every`` N, every Nth
    page has a captioned, ruled table of 12 rows instead of its last paragraph (table
    detection runs on those pages, as on a guideline's evidence tables)."""
    import pymupdf

    rng = random.Random(seed)
    doc = pymupdf.open()
    for number in range(1, pages + 1):
        page = doc.new_page(width=595, height=842)
        page.insert_text(
            (50, 40), "KDIGO-style Clinical Practice Guideline (generated)", fontsize=8
        )
        y = 70.0
        if number % 5 == 1:
            page.insert_text((50, y), f"Chapter {number // 5 + 1}: Management", fontsize=16)
            y += 30
        table = tables_every > 0 and number % tables_every == 0
        for _ in range(3 if table else 4):
            words = [rng.choice(_WORDS) for _ in range(rng.randint(70, 110))]
            text = (" ".join(words) + ".").capitalize()
            rect = pymupdf.Rect(50, y, 545, y + 170)
            page.insert_textbox(rect, text, fontsize=10)
            y += 175
        if table:
            page.insert_text((50, y + 10), f"Table {number}. Outcomes by stage", fontsize=10)
            for r in range(12):
                for c in range(4):
                    cell = pymupdf.Rect(
                        50 + c * 120, y + 20 + r * 14, 170 + c * 120, y + 34 + r * 14
                    )
                    page.draw_rect(cell, color=(0, 0, 0), width=0.5)
                    label = rng.choice(_WORDS) if c == 0 else f"{rng.uniform(0, 99):.1f}"
                    page.insert_text((cell.x0 + 3, cell.y1 - 3), label, fontsize=8)
        page.insert_text((290, 815), str(number), fontsize=8)
    doc.save(path)
    doc.close()


def _engine(home: Path) -> Any:
    from kidneytalk.engine import Engine

    return Engine(home=home)


def phase_ingest(args: argparse.Namespace) -> dict[str, Any]:
    engine = _engine(Path(args.home))
    try:
        started = time.perf_counter()
        results = engine.add([args.corpus])
        seconds = time.perf_counter() - started
    finally:
        engine.close()
    return {
        "files": len(results),
        "pages": sum(r.pages for r in results),
        "chunks": sum(r.chunks_kept for r in results),
        "seconds": seconds,
        "peak_rss_mib": _peak_rss_mib(),
    }


def phase_ask(args: argparse.Namespace) -> dict[str, Any]:
    questions = [
        json.loads(line)["question"]
        for line in Path(args.questions).read_text().splitlines()
        if line.strip()
    ][:ASK_QUESTIONS]
    engine = _engine(Path(args.home))
    runs = []
    try:
        for question in questions:
            started = time.perf_counter()
            answer = engine.ask(question)
            text = answer.text()
            runs.append(
                {
                    "seconds": time.perf_counter() - started,
                    "chars": len(text),
                    "rss_mib": _rss_mib(),
                }
            )
        mode, model = engine.settings.retrieval.mode, engine.model_name
    finally:
        engine.close()
    return {
        "questions": len(runs),
        "mode": mode,
        "model": model,
        "runs": runs,
        "peak_rss_mib": _peak_rss_mib(),
    }


def phase_big(args: argparse.Namespace) -> dict[str, Any]:
    pdf = Path(args.home).parent / f"generated-{args.pages}-pages.pdf"
    started = time.perf_counter()
    make_pdf(pdf, args.pages, tables_every=args.tables_every)
    made = time.perf_counter() - started
    _share_embed_cache(Path(args.home), args.embed_cache)
    engine = _engine(Path(args.home))
    _ = engine.library.embedder  # model loaded before sampling starts: its RSS is the baseline
    baseline = _rss_mib()
    precision = getattr(engine.library.embedder, "precision", "")
    samples: list[dict[str, float]] = []
    state = {"pages": 0.0, "stage": ""}
    stop = threading.Event()

    def progress(event: Any) -> None:
        state["stage"] = event.stage
        if event.stage == "embed" and event.pages_done:
            state["pages"] = float(event.pages_done)

    def sample() -> None:
        t0 = time.perf_counter()
        while not stop.is_set():
            samples.append(
                {
                    "t": round(time.perf_counter() - t0, 2),
                    "rss_mib": round(_rss_mib(), 1),
                    "children_rss_mib": round(_children_rss_mib(), 1),
                    **_rollup_mib(),
                    "pages_embedded": state["pages"],
                    "stage": state["stage"],
                }
            )
            stop.wait(args.interval)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    try:
        t0 = time.perf_counter()
        results = engine.add([pdf], progress=progress)
        seconds = time.perf_counter() - t0
    finally:
        stop.set()
        sampler.join()
        engine.close()
    rss = [s["rss_mib"] for s in samples]
    tenth = next((s["rss_mib"] for s in samples if s["pages_embedded"] >= args.pages / 10), rss[-1])
    prepared = [s["rss_mib"] for s in samples if s["pages_embedded"] == 0]
    # the document read, cleaned and cut before its first passage is embedded (pages streamed:
    # flat apart from the passages themselves)
    preparing = [s for s in samples if s["stage"] == "start"]
    return {
        "precision": precision,
        "pages": args.pages,
        "pdf_mib": pdf.stat().st_size / 2**20,
        "seconds_to_make_pdf": made,
        "status": [r.status for r in results],
        "chunks": sum(r.chunks_kept for r in results),
        "seconds": seconds,
        "rss_after_model_load_mib": baseline,
        "rss_max_before_first_embedded_mib": max(prepared) if prepared else float("nan"),
        "while_preparing": {
            "seconds": preparing[-1]["t"] if preparing else float("nan"),
            "rss_first_mib": preparing[0]["rss_mib"] if preparing else float("nan"),
            "rss_last_mib": preparing[-1]["rss_mib"] if preparing else float("nan"),
            "rss_max_mib": max(s["rss_mib"] for s in preparing) if preparing else float("nan"),
        },
        "rss_at_first_tenth_embedded_mib": tenth,
        "rss_max_sampled_mib": max(rss),
        "growth_after_first_tenth_mib": max(rss) - tenth,
        "rss_by_tenth_mib": by_tenth(samples, args.pages),
        "peak_rss_mib": _peak_rss_mib(),
        "tables_every": args.tables_every,
        "table_process": os.environ.get("KIDNEYTALK_TABLES_INPROCESS") != "1",
        # the table helper processes (kidneytalk.tables), sampled beside this one
        "table_process_rss_max_sampled_mib": max(s["children_rss_mib"] for s in samples),
        "with_table_process_rss_max_sampled_mib": max(
            s["rss_mib"] + s["children_rss_mib"] for s in samples
        ),
        "samples": samples,
    }


def by_tenth(samples: list[dict[str, Any]], pages: int) -> list[dict[str, float]]:
    """The curve's shape in ten rows: lowest and highest RSS while each tenth of the pages was
    embedded (the lowest is the floor between embedding calls; a flat run has flat floors)."""
    rows = []
    for tenth in range(10):
        lo, hi = pages * tenth / 10, pages * (tenth + 1) / 10
        rss = [s["rss_mib"] for s in samples if lo < s["pages_embedded"] <= hi]
        if rss:
            rows.append({"pages": hi, "min_rss_mib": min(rss), "max_rss_mib": max(rss)})
    return rows


PHASES = {"ingest": phase_ingest, "ask": phase_ask, "big": phase_big}


def run_phase(
    name: str, args: argparse.Namespace, home: Path, pages: int | None = None
) -> dict[str, Any]:
    out = home.parent / f"{name}.json"
    cmd = [
        sys.executable,
        str(Path(__file__).resolve()),
        "--phase",
        name,
        "--home",
        str(home),
        "--phase-out",
        str(out),
        "--corpus",
        str(args.corpus),
        "--questions",
        str(args.questions),
        "--pages",
        str(args.pages),
        "--interval",
        str(args.interval),
        "--tables-every",
        str(args.tables_every),
        "--embed-cache",
        args.embed_cache,
    ]
    if pages is not None:
        cmd[cmd.index("--pages") + 1] = str(pages)
    print(f"[memory] {name} {pages or ''}...", flush=True)
    env = dict(os.environ, HF_HUB_OFFLINE="1")
    if subprocess.run(cmd, env=env).returncode != 0:
        raise SystemExit(f"phase {name} failed")
    result: dict[str, Any] = json.loads(out.read_text())
    print(f"[memory] {name}: peak RSS {result['peak_rss_mib']:.0f} MiB", flush=True)
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", default=str(DEFAULT_CORPUS))
    parser.add_argument("--questions", default=str(DEFAULT_QUESTIONS))
    parser.add_argument("--pages", type=int, default=1000)
    parser.add_argument("--interval", type=float, default=0.5)
    parser.add_argument(
        "--tables-every",
        type=int,
        default=4,
        help="a ruled table on every Nth page of the generated PDF (0: none)",
    )
    parser.add_argument("--skip", default="", help="comma-separated phases not to run")
    parser.add_argument(
        "--sweep", default="", help="comma-separated page counts for the page-count sweep"
    )
    parser.add_argument(
        "--avx2",
        action="store_true",
        help="run as an AVX2-only CPU (the int8 ONNX embedder most laptops get)",
    )
    parser.add_argument(
        "--embed-cache", default="", help="shared int8 export cache (made once, not per phase)"
    )
    parser.add_argument("--note", default="", help="how busy the machine was (recorded)")
    parser.add_argument("--out", default=str(RESULTS / "memory.json"))
    parser.add_argument("--phase", choices=sorted(PHASES), help=argparse.SUPPRESS)
    parser.add_argument("--home", help=argparse.SUPPRESS)
    parser.add_argument("--phase-out", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.phase:
        Path(args.phase_out).write_text(json.dumps(PHASES[args.phase](args), indent=2))
        return 0

    if args.avx2:
        os.environ.update(AVX2_ENV)  # inherited by every phase, recorded by cpu_info()
    skip = set(filter(None, args.skip.split(",")))
    results: dict[str, Any] = {}
    with tempfile.TemporaryDirectory(prefix="kt-memory-") as tmp:
        work = Path(tmp)
        if "ingest" not in skip:
            results["ingest"] = run_phase("ingest", args, work / "home-digests")
        if "ask" not in skip and "ingest" not in skip:
            results["ask"] = run_phase("ask", args, work / "home-digests")
        if "big" not in skip:
            (work / "big").mkdir()
            results["big"] = run_phase("big", args, work / "big" / "home")
        sweep = [int(n) for n in args.sweep.split(",") if n.strip()]
        for n in sweep:
            (work / f"sweep-{n}").mkdir()
            one = run_phase("big", args, work / f"sweep-{n}" / "home", pages=n)
            one.pop("samples", None)
            results.setdefault("sweep", {"runs": []})["runs"].append(one)
    if "sweep" in results:
        results["sweep"]["slope_mib_per_1000_pages"] = slope(
            [(r["pages"], r["peak_rss_mib"]) for r in results["sweep"]["runs"]]
        )
    peaks = {k: v["peak_rss_mib"] for k, v in results.items() if "peak_rss_mib" in v}
    report = {
        "benchmark": "memory",
        "date": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "machine": {"cpu": cpu_info()},
        "busy_note": args.note or "RSS does not depend on how busy the machine is; the seconds do",
        "target_peak_rss_mib": TARGET_PEAK_RSS_MIB,
        **results,
        "targets": {
            k: {"peak_rss_mib": v, "ok": v <= TARGET_PEAK_RSS_MIB}
            for k, v in peaks.items()
            if k in ("ingest", "ask")
        },
    }
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(report, indent=2) + "\n")
    for key, value in peaks.items():
        print(f"{key:7} peak RSS {value:7.0f} MiB")
    if "big" in results:
        big = results["big"]
        print(
            f"{big['pages']}-page PDF: RSS {big['rss_after_model_load_mib']:.0f} MiB after model load, "
            f"{big['rss_at_first_tenth_embedded_mib']:.0f} at the first tenth embedded, "
            f"max {big['rss_max_sampled_mib']:.0f} (growth after the first tenth "
            f"{big['growth_after_first_tenth_mib']:.0f} MiB) -> {out}"
        )
    if "sweep" in results:
        sw = results["sweep"]
        runs = ", ".join(f"{r['pages']} pages {r['peak_rss_mib']:.0f}" for r in sw["runs"])
        print(
            f"sweep: peak RSS (MiB) {runs}; slope {sw['slope_mib_per_1000_pages']:.0f} MiB/1000 pages"
        )
    return 0


def slope(points: list[tuple[float, float]]) -> float:
    """Least-squares slope of peak RSS (MiB) against pages, per 1,000 pages (nan below 2 points)."""
    if len(points) < 2:
        return float("nan")
    mx = sum(x for x, _ in points) / len(points)
    my = sum(y for _, y in points) / len(points)
    var = sum((x - mx) ** 2 for x, _ in points)
    return 1000 * sum((x - mx) * (y - my) for x, y in points) / var if var else float("nan")


if __name__ == "__main__":
    sys.exit(main())
