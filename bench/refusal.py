"""Refusal benchmark: does KidneyTalk refuse questions its library does not cover, and only those?

Data (shared dev sets, used locally, never copied into the repository):

* PubMedQA dev: the library holds the **odd-numbered** digests (001, 003, …,
  029); questions whose abstract is in an even-numbered digest are off-library.
  The questions (sorted by id) alternate between a *fitting* split (even
  positions) and a *test* split (odd positions).
* Off-topic questions bundled with the gate: ``offtopic-fit.txt`` (fitting)
  and ``offtopic-test.txt`` (test), asked of both libraries.
* realdocs-dev: its 11 PDFs as a second library, all 52 questions (test only);
  the two scanned leaflets have no text layer, so their 8 questions are
  reported separately.

``--fit`` fits the gate (:func:`kidneytalk.retrieval.gate.fit`) on the fitting
split and writes the shipped calibration; without it the current calibration
is tested. ``--fit-main`` fits only the main rule (its features, on the fitting split) into
the shipped calibration (:func:`fit_main`); with ``--fit-avx2-work DIR``, on the rows of this
CPU's embedder and of an AVX2-only CPU's int8 one (libraries in ``DIR``) together.
``--fit-chinese`` fits only the rules on Chinese questions (their words, their topical words)
into the shipped calibration (:func:`fit_chinese`), ``--fit-cross`` the rule on bridged words
(:func:`fit_cross`). ``--fit-libraries odd,even`` also asks the
fitting split of a second library, of the **even-numbered** digests (built under ``--work``, fitting
only), where the questions count the other way round (in-library when their
abstract is in an even digest). The test split runs through the evaluation
harness in retrieval-only mode (gate included) and the numbers go to
``bench/results/refusal.json``.

    python bench/refusal.py [--fit [--fit-libraries odd,even]] [--fit-main [--fit-avx2-work DIR]] [--fit-chinese] [--fit-cross] [--work DIR] [--addrep-limit N] [--avx2 --out FILE]

``--avx2`` embeds as an AVX2-only CPU would (int8 ONNX): use a work folder of its own, so
its libraries are built with those vectors.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import random
import shutil
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from kidneytalk.engine import Engine

REPO = Path(__file__).resolve().parents[1]
# The shared data sits beside the repository (../shared), or beside a worktree's parent folder.
SHARED = next(
    (p / "shared" / "eval" for p in (REPO.parent, REPO.parent.parent) if (p / "shared").exists()),
    REPO.parent / "shared" / "eval",
)
PUBMEDQA = SHARED / "pubmedqa-dev"
REALDOCS = SHARED / "realdocs-dev"
RESULTS = REPO / "bench" / "results"
# The PubMedQA libraries: the odd-digest one is tested (and fitted on); the even-digest one can be fitted on.
PUBMEDQA_LIBRARIES = {"odd": "pubmedqa", "even": "pubmedqa-even"}
# Fitting on both did not pass the test split (2026-12-05: PubMedQA 4/72 in-library refused, as with odd only).
FIT_LIBRARIES = ("odd",)
SCANNED = (
    "zh-TW_leaflet-SCANNED_EDA_hemodialysis.pdf",
    "zh-TW_leaflet-SCANNED_EDA_CKD-diet-exchange-table.pdf",
)


def cpu_info() -> dict[str, object]:
    """CPU model, cores and speed-relevant flags (the app's own probe)."""
    from kidneytalk.cpu import cpu_summary

    return cpu_summary()


def embedder_precision(home: Path) -> str:
    """The embedding backend this machine (or ``--avx2``) runs: int8, bf16 or fp32."""
    from kidneytalk.engine import Engine

    with Engine(home) as engine:
        return engine.library.embedder.precision


def digest_number(name: str) -> int:
    return int(name.rsplit("-", 1)[1].split(".")[0])


def build_library(home: Path, sources: list[Path]) -> None:
    """Ingest ``sources`` into ``home`` once (kept between runs)."""
    from kidneytalk.engine import Engine

    with Engine(home) as engine:
        have = {d.name for d in engine.library.documents() if d.status == "ready"}
        todo = [p for p in sources if p.name not in have]
        if todo:
            print(f"ingesting {len(todo)} documents into {home}", file=sys.stderr)
            engine.add(todo)


def question_sets(work: Path) -> dict[str, tuple[str, Path]]:
    """Question files of every set: name -> (library, file)."""
    from kidneytalk.retrieval.gate import offtopic_questions

    out: dict[str, tuple[str, Path]] = {}
    qs = sorted(
        (
            json.loads(line)
            for line in (PUBMEDQA / "questions.jsonl").read_text().splitlines()
            if line.strip()
        ),
        key=lambda q: q["id"],
    )
    for split, rows in (("fit", qs[0::2]), ("test", qs[1::2])):
        lines = []
        for q in rows:
            q = dict(q)
            if digest_number(q["gold_source"]) % 2 == 0:  # abstract not in the library
                q["tags"] = [
                    *q.get("tags", []),
                    "off-library",
                    "medical",
                    f"was:{q['gold_source']}",
                ]
                q["gold_source"], q["gold_pages"] = None, []
            lines.append(json.dumps(q))
        path = work / f"pubmedqa-{split}.jsonl"
        path.write_text("\n".join(lines) + "\n")
        out[f"pubmedqa-{split}"] = ("pubmedqa", path)
    for split in ("fit", "test"):
        rows = [
            {
                "id": f"offtopic-{split}-{i:03d}",
                "question": q,
                "options": {"A": "yes", "B": "no"},
                "answer": "A",
                "gold_source": None,
                "gold_pages": [],
                "tags": ["off-library", "off-topic"],
            }
            for i, q in enumerate(offtopic_questions(split), start=1)
        ]
        path = work / f"offtopic-{split}.jsonl"
        path.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in rows) + "\n")
        out[f"offtopic-{split}@pubmedqa"] = ("pubmedqa", path)
        if split == "test":
            out[f"offtopic-{split}@realdocs"] = ("realdocs", path)
    out["realdocs"] = ("realdocs", REALDOCS / "questions.jsonl")
    return out


def fitting_rows(
    homes: dict[str, Path], sets: dict[str, tuple[str, Path]], libraries: tuple[str, ...]
) -> list[tuple[str, str, dict[str, float], int]]:
    """(library, question, features, answerable) of the fitting split in each PubMedQA library.

    ``libraries`` names the digests each library holds: ``odd`` (the test library) and/or ``even``
    (fitting only, so the same fitting-split questions also count the other way round: in-library
    there when their abstract is in an even digest). The off-topic fitting questions are asked of
    each; CJK questions are left out (the CJK rule decides them).
    """
    from kidneytalk.engine import Engine
    from kidneytalk.evaluation.questions import load_questions
    from kidneytalk.evaluation.runner import off_library
    from kidneytalk.retrieval.gate import CJK_MAJORITY, cjk_share

    out = []
    for parity in libraries:
        with Engine(homes[PUBMEDQA_LIBRARIES[parity]]) as engine:
            for name in ("pubmedqa-fit", "offtopic-fit@pubmedqa"):
                questions, _ = load_questions(sets[name][1])
                for q in questions:
                    if cjk_share(q.question) >= CJK_MAJORITY:
                        continue
                    features, _, _ = engine.gate.measure(q.question)
                    # the question files mark what the odd-digest library holds
                    answerable = not off_library(q)
                    if parity == "even" and name == "pubmedqa-fit":
                        answerable = not answerable
                    out.append((parity, q.question, features, int(answerable)))
    return out


def fit_calibration(
    homes: dict[str, Path],
    sets: dict[str, tuple[str, Path]],
    libraries: tuple[str, ...] = FIT_LIBRARIES,
) -> dict[str, object]:
    """Fit the gate on the fitting split and write the shipped calibration file."""
    from kidneytalk.engine import Engine
    from kidneytalk.retrieval.gate import (
        DEFAULT_CALIBRATION,
        fit,
    )

    measured = fitting_rows(homes, sets, libraries)
    rows = [features for _, _, features, _ in measured]
    labels = [label for _, _, _, label in measured]
    counts = {
        parity: {
            "answerable": sum(y for lib, _, _, y in measured if lib == parity),
            "unanswerable": sum(1 - y for lib, _, _, y in measured if lib == parity),
        }
        for parity in libraries
    }
    with Engine(homes["pubmedqa"]) as engine:
        model = engine.library.embed_model_id
    cross_rows, cross_labels, n_cross = cross_data(homes)
    # The lexical-only rule for CJK questions: the fitting data has no Chinese documents, so it is fitted in the
    # realdocs library on questions written from its own Chinese passages (as `kidneytalk calibrate` does; the
    # realdocs-dev questions are not used) against the Chinese questions of offtopic-fit.txt.
    with Engine(homes["realdocs"]) as engine:
        cjk_rows, cjk_labels = chinese_data(engine, "cjk")
        topical_rows, topical_labels = chinese_data(engine, "topical")
    cal = fit(
        rows,
        labels,
        embed_model=model,
        cjk_rows=cjk_rows,
        cjk_labels=cjk_labels,
        cross_rows=cross_rows,
        cross_labels=cross_labels,
        topical_rows=topical_rows,
        topical_labels=topical_labels,
        fitted_on={
            "how": "bench/refusal.py --fit",
            "data": "PubMedQA dev fitting split + offtopic-fit.txt, asked of "
            + " and of ".join(f"the {p}-digest library" for p in libraries),
            "libraries": counts,
            "cjk_data": CJK_DATA.format(sum(cjk_labels)),
            "topical_data": TOPICAL_DATA.format(sum(topical_labels)),
            "cross_data": CROSS_DATA.format(n_cross),
        },
    )
    cal.save(DEFAULT_CALIBRATION)
    print(f"calibration written to {DEFAULT_CALIBRATION}: {cal.to_json()}", file=sys.stderr)
    return cal.to_json()


CROSS_DATA = (
    "{} questions written with the dictionary from the realdocs library's passages in the other "
    "language (seed 0) + offtopic-fit.txt in both libraries"
)


def cross_data(homes: dict[str, Path]) -> tuple[list[dict[str, float]], list[int], int]:
    """Rows and labels of the rule on bridged words, and its number of positives: questions
    written with the dictionary in one language from the realdocs library's passages in the other
    (the realdocs-dev questions are not used), against every offtopic-fit question asked of both
    libraries."""
    from kidneytalk.engine import Engine
    from kidneytalk.retrieval.gate import cross_pseudo_questions, offtopic_questions

    with Engine(homes["pubmedqa"]) as engine:
        negatives = [engine.gate.measure(q)[0] for q in offtopic_questions("fit")]
    with Engine(homes["realdocs"]) as engine:
        positives = [
            engine.gate.measure(q)[0] for q in cross_pseudo_questions(engine.library, 40, seed=0)
        ]
        negatives += [engine.gate.measure(q)[0] for q in offtopic_questions("fit")]
    rows = positives + negatives
    return rows, [1] * len(positives) + [0] * len(negatives), len(positives)


def _rule_info(rule: str, data: str, flag: str, labels: list[int]) -> dict[str, object]:
    """What a calibration records of how one of its rules was fitted."""
    return {
        f"{rule}_data": data,
        f"{rule}_how": f"bench/refusal.py {flag}",
        f"{rule}_date": dt.date.today().isoformat(),
        f"n_{rule}_answerable": sum(labels),
        f"n_{rule}_unanswerable": len(labels) - sum(labels),
    }


def _save_rules(
    what: str, rules: dict[str, float | None], info: dict[str, object]
) -> dict[str, object]:
    """The shipped calibration with ``rules`` (its fields) and ``info`` replaced, saved."""
    import dataclasses

    from kidneytalk.retrieval.gate import DEFAULT_CALIBRATION, Calibration

    shipped = Calibration.load(DEFAULT_CALIBRATION)
    if shipped is None:
        raise SystemExit(f"{DEFAULT_CALIBRATION}: no calibration to add {what} to (run --fit)")
    cal = dataclasses.replace(shipped, **rules, fitted_on={**shipped.fitted_on, **info})  # type: ignore[arg-type]
    cal.save(DEFAULT_CALIBRATION)
    print(f"{what} written to {DEFAULT_CALIBRATION}", file=sys.stderr)
    return cal.to_json()


def fit_cross(homes: dict[str, Path]) -> dict[str, object]:
    """Fit only the rule on bridged words (:func:`cross_data`) into the shipped calibration; the
    others stay as they are."""
    from kidneytalk.retrieval.gate import CROSS_MARGIN, ITERATIONS, L2, answering_rule

    rows, labels, n_pos = cross_data(homes)
    weight, bias = answering_rule(rows, labels, "bridged", CROSS_MARGIN, L2, ITERATIONS)
    info = _rule_info("cross", CROSS_DATA.format(n_pos), "--fit-cross", labels)
    return _save_rules(
        "the rule on bridged words", {"cross_weight": weight, "cross_bias": bias}, info
    )


CJK_DATA = (
    "{} questions from the realdocs library's Chinese passages (seed 0) + the Chinese questions "
    "of offtopic-fit.txt"
)
TOPICAL_DATA = (
    "{} questions from the words of the realdocs library's Chinese passages (seed 0) + the "
    "Chinese questions of offtopic-fit.txt"
)


def chinese_data(engine: Engine, rule: str) -> tuple[list[dict[str, float]], list[int]]:
    """Rows and labels of a rule on Chinese questions, in the realdocs library (the realdocs-dev
    questions are not used): questions written from its Chinese passages (``rule`` "cjk", as
    `kidneytalk calibrate` does) or from their words ("topical"), against the Chinese questions
    of offtopic-fit.txt."""
    from kidneytalk.retrieval.gate import (
        CJK_MAJORITY,
        cjk_pseudo_questions,
        cjk_share,
        cjk_word_pseudo_questions,
        offtopic_questions,
    )

    write = cjk_pseudo_questions if rule == "cjk" else cjk_word_pseudo_questions
    positives = write(engine.library, 40, seed=0)
    negatives = [q for q in offtopic_questions("fit") if cjk_share(q) >= CJK_MAJORITY]
    rows = [engine.gate.measure(q)[0] for q in positives + negatives]
    return rows, [1] * len(positives) + [0] * len(negatives)


def fit_chinese(homes: dict[str, Path]) -> dict[str, object]:
    """Fit only the rules on Chinese questions the embedder cannot read (their words, their
    topical words) into the shipped calibration.

    The main and bridged rules stay as they are, so that what changes is what these rules answer
    (a full ``--fit`` also refits the others on the library as it now is). Their data are
    ``--fit``'s (:func:`chinese_data`). Such a question's features come from
    BM25's best passages alone, so they are the same with either embedder.
    """
    import numpy as np

    from kidneytalk.engine import Engine
    from kidneytalk.retrieval.gate import ITERATIONS, L2, TOPICAL_MARGIN, _logistic, answering_rule

    with Engine(homes["realdocs"]) as engine:
        rows, labels = chinese_data(engine, "cjk")
        topical_rows, topical_labels = chinese_data(engine, "topical")
    cjk_weight, cjk_bias = _logistic(
        np.array([[r["lexical"]] for r in rows], dtype=float), labels, L2, ITERATIONS
    )
    weight, bias = answering_rule(
        topical_rows, topical_labels, "topical", TOPICAL_MARGIN, L2, ITERATIONS
    )
    info = {
        **_rule_info("cjk", CJK_DATA.format(sum(labels)), "--fit-chinese", labels),
        **_rule_info(
            "topical", TOPICAL_DATA.format(sum(topical_labels)), "--fit-chinese", topical_labels
        ),
    }
    rules = {
        "cjk_weight": cjk_weight,
        "cjk_bias": cjk_bias,
        "topical_weight": weight,
        "topical_bias": bias,
    }
    return _save_rules("the rules on Chinese questions", rules, info)


def fit_main(
    homes: dict[str, Path],
    sets: dict[str, tuple[str, Path]],
    libraries: tuple[str, ...],
    avx2_work: Path | None = None,
) -> dict[str, object]:
    """Fit only the main rule (:data:`~kidneytalk.retrieval.gate.FEATURES`) into the shipped
    calibration, on ``--fit``'s data for it (the fitting split in the PubMedQA libraries); the
    rules on Chinese, topical and bridged words stay as they are (a full ``--fit`` refits them on
    the realdocs library as it now is).

    With ``avx2_work`` the same questions are also measured as an AVX2-only CPU embeds them (int8
    ONNX, libraries built in that folder, in a process of its own: the CPU flags are read when
    PyTorch loads), and the rule is fitted on both sets of rows: one calibration for the two
    embedders users' CPUs run.
    """
    import dataclasses
    import subprocess
    import tempfile

    from kidneytalk.retrieval.gate import DEFAULT_CALIBRATION, Calibration, fit

    shipped = Calibration.load(DEFAULT_CALIBRATION)
    if shipped is None:
        raise SystemExit(f"{DEFAULT_CALIBRATION}: no calibration to refit (run --fit)")
    measured = [(f, y) for _, _, f, y in fitting_rows(homes, sets, libraries)]
    precisions = [embedder_precision(homes["pubmedqa"])]
    if avx2_work is not None:
        with tempfile.TemporaryDirectory() as tmp:
            rows = Path(tmp) / "rows.json"
            command = [sys.executable, __file__, "--avx2", "--work", str(avx2_work)]
            command += ["--fit-libraries", ",".join(libraries), "--dump-fitting-rows", str(rows)]
            subprocess.run(command, check=True)
            dumped = json.loads(rows.read_text())
        measured += [(f, y) for f, y in dumped["rows"]]
        precisions.append(f"{dumped['embedder']} (AVX2-only)")
    labels = [label for _, label in measured]
    main = fit([f for f, _ in measured], labels, embed_model=shipped.embed_model)
    cal = dataclasses.replace(
        shipped,
        weights=main.weights,
        bias=main.bias,
        features=main.features,
        fitted_on={
            **shipped.fitted_on,
            "main_how": "bench/refusal.py --fit-main"
            + (f" --fit-avx2-work {avx2_work}" if avx2_work else ""),
            "main_date": dt.date.today().isoformat(),
            "main_embedders": precisions,
            "n_answerable": sum(labels),
            "n_unanswerable": len(labels) - sum(labels),
        },
    )
    cal.save(DEFAULT_CALIBRATION)
    print(
        f"main rule ({', '.join(cal.features)}) written to {DEFAULT_CALIBRATION}", file=sys.stderr
    )
    return cal.to_json()


def run_tests(
    homes: dict[str, Path],
    sets: dict[str, tuple[str, Path]],
    work: Path,
    addrep_limit: int | None,
    modes: list[str],
    report_only: set[str] = frozenset(),
) -> dict[str, object]:  # type: ignore[assignment]
    from kidneytalk.engine import Engine
    from kidneytalk.evaluation.metrics import refusal_metrics
    from kidneytalk.evaluation.runner import load_results, run_eval

    out: dict[str, object] = {}
    for name, (lib, path) in sets.items():
        if "fit" in name:
            continue
        per_mode: dict[str, object] = {}
        with Engine(homes[lib]) as engine:
            for mode in modes:
                limit = addrep_limit if mode == "addrep" else None
                run_dir = (
                    work
                    / "runs"
                    / (f"{name}-{mode}" + ("" if limit is None else f"-sample{limit}"))
                )
                start = time.monotonic()
                if mode in report_only:  # what an earlier (interrupted) run finished, run nothing
                    if not run_dir.exists():
                        continue
                else:
                    run_eval(
                        engine,
                        path,
                        modes=[mode],
                        retrieval_only=True,
                        out_dir=run_dir,
                        limit=None,
                        sample=limit,
                        seed=1,
                    )
                records = load_results(run_dir)
                entry: dict[str, object] = refusal_metrics(records)
                entry["seconds"] = round(time.monotonic() - start, 1)
                if limit is not None:
                    entry["subset"] = (
                        f"the first {len(records)} of a random sample of {limit} questions (seed 1)"
                        if mode in report_only
                        else f"random sample of {limit} questions (seed 1)"
                    )
                if name == "realdocs":
                    text = [
                        r
                        for r in records
                        if not set(r.get("tags", [])) & {"scanned", "off-library"}
                    ]
                    scanned = [r for r in records if "scanned" in r.get("tags", [])]
                    entry["text_layer_only"] = refusal_metrics(text)
                    entry["scanned_only"] = refusal_metrics(scanned)
                entry["refused_ids"] = sorted(
                    r["id"] for r in records if r.get("refused") and not r.get("off_library")
                )
                entry["answered_off_library_ids"] = sorted(
                    r["id"] for r in records if r.get("off_library") and not r.get("refused")
                )
                per_mode[mode] = entry
                print(
                    f"{name} {mode}: off refused {entry['correct_refusal_rate']}, "
                    f"in refused {entry['false_refusal_rate']}",
                    file=sys.stderr,
                )
        out[name] = per_mode
    return out


def totals(results: dict[str, object], modes: list[str]) -> dict[str, object]:
    """Pooled test-split rates per mode (realdocs scanned questions counted as in-library)."""
    out: dict[str, object] = {}
    for mode in modes:
        off = off_n = inl = inl_n = 0
        for per_mode in results.values():
            r = per_mode.get(mode) if isinstance(per_mode, dict) else None  # type: ignore[union-attr]
            if not r:
                continue
            off += r["off_library_refused"]
            off_n += r["off_library"]
            inl += r["in_library_refused"]
            inl_n += r["in_library"]
        out[mode] = {
            "off_library_refused": off,
            "off_library": off_n,
            "off_library_refused_pct": round(100 * off / off_n, 1) if off_n else None,
            "in_library_refused": inl,
            "in_library": inl_n,
            "in_library_falsely_refused_pct": round(100 * inl / inl_n, 1) if inl_n else None,
        }
    return out


def argument_parser(doc: str | None) -> argparse.ArgumentParser:
    """A parser with ``--work``: the folder of the refusal benchmark's libraries and runs."""
    parser = argparse.ArgumentParser(
        description=doc, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--work", type=Path, default=Path(os.environ.get("TMPDIR", "/tmp")) / "kidneytalk-refusal"
    )
    return parser


def main() -> None:
    parser = argument_parser(__doc__)
    parser.add_argument(
        "--fit", action="store_true", help="fit and write the shipped calibration first"
    )
    parser.add_argument(
        "--fit-main",
        action="store_true",
        help="fit only the main rule (margin, lexical, soft) into the shipped calibration",
    )
    parser.add_argument(
        "--fit-avx2-work",
        type=Path,
        default=None,
        help="with --fit-main: also fit on the rows measured with the int8 embedder of an "
        "AVX2-only CPU, in this folder's libraries (built there when missing)",
    )
    parser.add_argument("--dump-fitting-rows", type=Path, default=None, help=argparse.SUPPRESS)
    parser.add_argument(
        "--fit-cross",
        action="store_true",
        help="fit only the rule on bridged words into the shipped calibration",
    )
    parser.add_argument(
        "--fit-chinese",
        action="store_true",
        help="fit only the rules on Chinese questions (their words, their topical words) into the "
        "shipped calibration",
    )
    parser.add_argument(
        "--fit-libraries",
        default=",".join(FIT_LIBRARIES),
        help="PubMedQA libraries the fitting split is asked of: odd (the test library), even (fitting only)",
    )
    parser.add_argument("--modes", default="hybrid,addrep")
    parser.add_argument(
        "--addrep-limit", type=int, default=None, help="AddRep on a random sample of N per set"
    )
    parser.add_argument(
        "--fresh", action="store_true", help="delete earlier runs (libraries are kept)"
    )
    parser.add_argument(
        "--report-only", default="", help="modes not run now: report what earlier runs finished"
    )
    parser.add_argument(
        "--avx2",
        action="store_true",
        help="embed as on an AVX2-only CPU (int8 ONNX; PyTorch capped at AVX2), as bench/ingest.py --avx2",
    )
    parser.add_argument("--out", type=Path, default=RESULTS / "refusal.json")
    args = parser.parse_args()
    if args.avx2:  # before kidneytalk (and torch) are imported
        from ingest import AVX2_ENV

        os.environ.update(AVX2_ENV)
    work = args.work
    work.mkdir(parents=True, exist_ok=True)
    if args.fresh and (work / "runs").exists():
        shutil.rmtree(work / "runs")
    homes = {
        "pubmedqa": work / "lib-pubmedqa-odd",
        "pubmedqa-even": work / "lib-pubmedqa-even",
        "realdocs": work / "lib-realdocs",
    }
    fit_libraries = tuple(p.strip() for p in args.fit_libraries.split(",") if p.strip())
    if not fit_libraries or not set(fit_libraries) <= set(PUBMEDQA_LIBRARIES):
        parser.error("--fit-libraries: odd, even or odd,even")
    digests = sorted((PUBMEDQA / "corpus").glob("dev-digest-*.pdf"))
    build_library(homes["pubmedqa"], [p for p in digests if digest_number(p.name) % 2 == 1])
    fitting = args.fit or args.fit_main or args.dump_fitting_rows
    if fitting and "even" in fit_libraries:
        build_library(
            homes["pubmedqa-even"], [p for p in digests if digest_number(p.name) % 2 == 0]
        )
    if args.dump_fitting_rows:  # for --fit-avx2-work: this process embeds as an AVX2-only CPU
        rows = fitting_rows(homes, question_sets(work), fit_libraries)
        args.dump_fitting_rows.write_text(
            json.dumps(
                {
                    "embedder": embedder_precision(homes["pubmedqa"]),
                    "rows": [[f, y] for _, _, f, y in rows],
                }
            )
        )
        return
    build_library(homes["realdocs"], sorted((REALDOCS / "pdfs").glob("*.pdf")))
    sets = question_sets(work)
    calibration = fit_calibration(homes, sets, fit_libraries) if args.fit else None
    if args.fit_main:
        calibration = fit_main(homes, sets, fit_libraries, args.fit_avx2_work)
    if args.fit_cross:
        calibration = fit_cross(homes)
    if args.fit_chinese:
        calibration = fit_chinese(homes)
    modes = [m.strip() for m in args.modes.split(",") if m.strip()]
    random.seed(1)
    report_only = {m.strip() for m in args.report_only.split(",") if m.strip()}
    results = run_tests(homes, sets, work, args.addrep_limit, modes, report_only)
    from kidneytalk.retrieval.gate import DEFAULT_CALIBRATION

    report = {
        "date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "machine": f"load average {os.getloadavg()[0]:.1f} at the end on {os.cpu_count()} CPUs "
        + ("(busy)" if os.getloadavg()[0] > 0.75 * (os.cpu_count() or 1) else "(quiet)"),
        "cpu": cpu_info(),
        "embedder": embedder_precision(homes["pubmedqa"]),
        "command": "python bench/refusal.py " + " ".join(sys.argv[1:]),
        "calibration": calibration or json.loads(DEFAULT_CALIBRATION.read_text()),
        "targets": {"off_library_refused_pct": ">= 95", "in_library_falsely_refused_pct": "<= 5"},
        "test_split": {
            "pubmedqa-test": "PubMedQA dev questions at odd positions (sorted by id); library = odd digests",
            "offtopic-test": "bundled offtopic-test.txt, asked of both libraries",
            "realdocs": "realdocs-dev, 40 in-library (8 on scanned leaflets without text) + 12 off-library",
        },
        "totals": totals(results, modes),
        "sets": results,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2, ensure_ascii=False) + "\n")
    print(json.dumps(report["totals"], indent=2))


if __name__ == "__main__":
    main()
