"""Do copied sentences answer the question? cp-order on 20 PubMedQA dev questions and the demo.

With ``--natural N``, also the first N in-library English questions of the natural probe sets
(``bench/data/natural-realdocs-a/b.jsonl``, as users type them) in the realdocs library of
``bench/refusal.py``: real booklets, infographics and journal articles, where a copied sentence
can also be a reference-list entry's title, a list's lead-in alone ("A biopsy is advised
when:") or a sentence a passage boundary cut off ("… is not advised for"); each is
counted, and so are the answers whose first sentence is cited from the question's gold page
(the probe sets name it): the most direct answer should come first.

For every answer: the sentences the model chose, which the relevance filter
kept (``Writer.keep_relevant``: the question's focus word with cosine >= 0.3,
or cosine within 0.04 of the closest evidence sentence), and whether any
copied sentence is document meta-text. Uses the refusal benchmark's library
(odd PubMedQA digests; run ``bench/refusal.py`` first) and a fresh sample
library for the demo question.

    python bench/copied.py [--work DIR] [-n 20] [--mode hybrid] [--natural N] [--out FILE]
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import re
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from bench.refusal import PUBMEDQA, RESULTS, cpu_info, digest_number  # noqa: E402


def measure(
    engine, question: str, mode: str, gold: tuple[str, list[int]] | None = None
) -> dict[str, object]:
    from kidneytalk.bibliography import reference_text
    from kidneytalk.citations import DANGLING, MARKER, split_sentences
    from kidneytalk.copypaste import is_meta_text
    from kidneytalk.lexical import tokenize

    answer = engine.ask(question, mode=mode, style="cp-order")
    text = answer.body()
    relevance = [s.outputs for s in answer.trace.steps if s.stage == "relevance"]
    chosen = relevance[-1]["chosen"] if relevance else []
    copied = (
        [MARKER.sub("", s).strip() for s in split_sentences(text)] if not answer.refused else []
    )
    entries = [
        f" {' '.join(tokenize(e))} " for hit in answer.evidence for e in reference_text(hit.text)
    ]
    first = MARKER.search(split_sentences(text)[0]) if copied else None
    n = int(re.split(r"\D+", first.group(1))[0]) if first else 0
    cited = answer.evidence[n - 1] if 1 <= n <= len(answer.evidence) else None
    return {
        "question": question,
        "refused": answer.refused,
        # the first copied sentence is cited from the question's gold page (natural questions)
        **(
            {
                "first_on_gold_page": cited is not None
                and cited.doc_name == gold[0]
                and any(cited.page_start <= p <= cited.page_end for p in gold[1])
            }
            if gold
            else {}
        ),
        "answer": text,
        "chosen_by_model": len(chosen),
        "chosen_relevant": sum(1 for c in chosen if c["kept"]),
        "copied": len(copied),
        "copied_meta": sum(1 for s in copied if is_meta_text(s)),
        "copied_reference": sum(
            1 for s in copied if any(f" {' '.join(tokenize(s))} " in e for e in entries)
        ),
        "copied_lead_in_alone": sum(1 for s in copied if s.rstrip(" .").endswith((":", "："))),
        "copied_cut_off": sum(1 for s in copied if DANGLING.search(s.rstrip(" ."))),
        # no chosen sentence passed: the closest one was kept anyway (the gate had let the question through)
        "fallback": bool(copied) and not any(c["kept"] for c in chosen),
    }


def _natural_summary(rows: list[dict[str, object]]) -> dict[str, object]:
    """The natural questions' answers, counted: copied sentences and each kind of bad copy."""
    copied = sum(int(r["copied"]) for r in rows)  # type: ignore[call-overload]
    out: dict[str, object] = {
        "questions": len(rows),
        "refused": sum(1 for r in rows if r["refused"]),
        "copied_sentences": copied,
    }
    for key in ("copied_meta", "copied_reference", "copied_lead_in_alone", "copied_cut_off"):
        out[key] = sum(int(r[key]) for r in rows)  # type: ignore[call-overload]
    out["first_on_gold_page"] = sum(1 for r in rows if r.get("first_on_gold_page"))
    out["copied_relevant_pct"] = (
        round(100 * (copied - sum(1 for r in rows if r["fallback"])) / copied, 1)
        if copied
        else None
    )
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument(
        "--work", type=Path, default=Path(os.environ.get("TMPDIR", "/tmp")) / "kidneytalk-refusal"
    )
    parser.add_argument("-n", type=int, default=20)
    parser.add_argument("--mode", default="hybrid")
    parser.add_argument(
        "--natural", type=int, default=0, help="in-library English natural questions on realdocs"
    )
    parser.add_argument("--out", type=Path, default=RESULTS / "copied.json")
    args = parser.parse_args()
    from kidneytalk.cli import DEMO_QUESTION
    from kidneytalk.engine import Engine, sample_document

    qs = sorted(
        (
            json.loads(line)
            for line in (PUBMEDQA / "questions.jsonl").read_text().splitlines()
            if line.strip()
        ),
        key=lambda q: q["id"],
    )
    inlib = [q for q in qs[1::2] if digest_number(q["gold_source"]) % 2 == 1][: args.n]
    rows = []
    demo_home = args.work / "lib-demo"
    with Engine(demo_home) as engine:
        if not engine.library.documents():
            engine.add([sample_document()])
        rows.append({"set": "demo", **measure(engine, DEMO_QUESTION, "addrep")})
        print(rows[-1], file=sys.stderr)
    with Engine(args.work / "lib-pubmedqa-odd") as engine:
        for q in inlib:
            rows.append(
                {"set": "pubmedqa-dev", "id": q["id"], **measure(engine, q["question"], args.mode)}
            )
            print(
                rows[-1]["id"],
                rows[-1]["chosen_relevant"],
                "/",
                rows[-1]["chosen_by_model"],
                file=sys.stderr,
            )
    natural = [
        q
        for name in ("a", "b")
        for line in (REPO / "bench" / "data" / f"natural-realdocs-{name}.jsonl").open()
        if (q := json.loads(line))["in_library"] and q["lang"] == "en"
    ][: args.natural]
    if natural:
        with Engine(args.work / "lib-realdocs") as engine:
            for q in natural:
                row = measure(engine, q["question"], args.mode, (q["source"], q["pages"]))
                print(q["id"], str(row.pop("answer"))[:160], file=sys.stderr)
                # realdocs-dev's text stays out of the results (shared for local evaluation only)
                rows.append({"set": "natural", "id": q["id"], **row})
    dev = [r for r in rows if r["set"] == "pubmedqa-dev"]
    chosen = sum(int(r["chosen_by_model"]) for r in dev)
    copied = sum(int(r["copied"]) for r in rows)
    report = {
        "date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "machine": "busy",
        "cpu": cpu_info(),
        "command": "python bench/copied.py " + " ".join(sys.argv[1:]),
        "measure": "relevant = has the question's focus word (rarest content word among the evidence sentences) "
        "and cosine >= 0.3 to the question, or cosine within 0.04 of the closest evidence sentence; "
        "meta-text = kidneytalk.copypaste.is_meta_text",
        "dev_questions": len(dev),
        "mode": args.mode,
        "style": "cp-order",
        "model_choices_relevant_pct": round(
            100 * sum(int(r["chosen_relevant"]) for r in dev) / chosen, 1
        )
        if chosen
        else None,
        "copied_sentences": copied,
        "copied_relevant_pct": round(
            100 * (copied - sum(1 for r in rows if r["fallback"])) / copied, 1
        )
        if copied
        else None,
        "copied_meta_text": sum(int(r["copied_meta"]) for r in rows),
        "refused": sum(1 for r in dev if r["refused"]),
        "natural": _natural_summary([r for r in rows if r["set"] == "natural"]),
        "demo": rows[0],
        "answers": rows,
    }
    args.out.write_text(json.dumps(report, indent=2, ensure_ascii=False) + "\n")
    print(
        json.dumps(
            {k: v for k, v in report.items() if k not in ("answers", "cpu")},
            indent=2,
            ensure_ascii=False,
        )
    )


if __name__ == "__main__":
    main()
