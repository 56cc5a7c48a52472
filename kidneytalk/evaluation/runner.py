"""Running an exam file through the engine: every question in every mode, resumable.

Each finished (question, mode) pair is appended to ``results.jsonl`` at once,
so an interrupted run loses at most the pair in progress, and the same
command continues where it stopped. ``run.json`` records what the results
depend on (questions, model, style, settings, library); continuing with
anything else is refused with a clear message instead of mixing results.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import random
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from kidneytalk.errors import Cancelled, KidneyTalkError
from kidneytalk.reasoning import split_reasoning
from kidneytalk.records import Hit
from kidneytalk.retrieval import addrep
from kidneytalk.trace import Trace
from kidneytalk.vocabulary import EVAL_MODES

from . import extract
from .questions import Problem, Question, load_questions

if TYPE_CHECKING:
    from kidneytalk.engine import Engine
    from kidneytalk.retrieval.gate import GateDecision

log = logging.getLogger(__name__)

RUN_FILE = "run.json"
RESULTS_FILE = "results.jsonl"
RUN_VERSION = 1
RETRIEVAL_DEPTH = 10  # passages scored per question in --retrieval-only (naive, hybrid)
REASON_TOKENS = 128  # no-rag draft answer length in style "off"


@dataclass
class EvalProgress:
    """One step of a run, for progress bars: ``done`` of ``total`` (question, mode) pairs."""

    done: int
    total: int
    mode: str = ""
    question_id: str = ""
    eta_seconds: float | None = None
    elapsed: float = 0.0
    resumed: int = 0  # pairs already in results.jsonl when the run started
    correct: bool | None = None
    refused: bool = False
    message: str = ""


@dataclass
class EvalSummary:
    """What a run produced; ``summary`` is the content of ``summary.json``."""

    out_dir: Path
    per_mode: dict[str, dict[str, Any]]
    summary: dict[str, Any] = field(default_factory=dict)
    report_md: Path | None = None
    report_html: Path | None = None
    problems: list[Problem] = field(default_factory=list)
    complete: bool = True

    def to_json(self) -> dict[str, Any]:
        return {
            "out_dir": str(self.out_dir),
            "complete": self.complete,
            "report_md": str(self.report_md or ""),
            "report_html": str(self.report_html or ""),
            "problems": [{"line": p.line, "message": p.message} for p in self.problems],
            **self.summary,
        }


def parse_modes(text: str | Sequence[str]) -> list[str]:
    """``"no-rag,naive"`` -> ``["no-rag", "naive"]``, checked against :data:`EVAL_MODES`."""
    items = [m.strip() for m in (text.split(",") if isinstance(text, str) else text) if m.strip()]
    bad = [m for m in items if m not in EVAL_MODES]
    if bad or not items:
        raise KidneyTalkError(
            f"Unknown evaluation mode '{', '.join(bad)}' (choose from: {', '.join(EVAL_MODES)})."
        )
    return list(dict.fromkeys(items))


def select(
    questions: Sequence[Question],
    *,
    limit: int | None = None,
    sample: int | None = None,
    seed: int = 0,
) -> list[Question]:
    """The first ``limit`` questions, or ``sample`` of them in a seeded shuffle.

    Both are prefixes of a fixed order, so a larger ``--limit``/``--sample``
    with the same seed extends a finished run instead of starting another.
    """
    order = list(questions)
    n = limit
    if sample is not None:
        random.Random(seed).shuffle(order)
        n = sample if limit is None else min(sample, limit)
    return order[:n] if n is not None else order


def load_results(out_dir: Path) -> list[dict[str, Any]]:
    """Records in ``results.jsonl``; a line cut off by a crash is ignored."""
    file = out_dir / RESULTS_FILE
    if not file.exists():
        return []
    out = []
    for line in file.read_text(encoding="utf-8").splitlines():
        try:
            rec = json.loads(line)
        except ValueError:
            continue
        if isinstance(rec, dict) and "id" in rec and "mode" in rec:
            out.append(rec)
    return out


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _run_key(
    engine: Engine,
    questions_path: Path,
    *,
    style: str,
    model: str,
    retrieval_only: bool,
    sampled: bool,
    seed: int,
    k: int,
) -> dict[str, Any]:
    s = engine.settings
    docs = sorted(engine.library.searchable_doc_ids())
    return {
        "version": RUN_VERSION,
        "questions_sha256": _sha256(questions_path),
        "retrieval_only": retrieval_only,
        "style": "" if retrieval_only else style,
        "model": model,
        "order": _SHUFFLED.format(seed=seed) if sampled else "file order",
        "k": k,
        "settings": {
            "retrieval": dict(vars(replace(s.retrieval, judge_reasons="none"))),
            "n_ctx": s.llm.n_ctx,
            "temperature": s.llm.temperature,
            "max_answer_tokens": s.llm.max_answer_tokens,
            "chunk": s.chunk.as_dict(),
            "embedding_model": s.embedding_model,
        },
        "library": hashlib.sha256(",".join(docs).encode()).hexdigest()[:16],
        "documents": len(docs),
        # the relevance gate's rule: a refit (bench/refusal.py --fit, kidneytalk calibrate) makes
        # other refusals, so the records of the old one must not be counted with the new
        "gate": hashlib.sha256(
            json.dumps(engine.gate.calibration.to_json(), sort_keys=True).encode()
        ).hexdigest()[:16],
    }


_SHUFFLED = "shuffled (seed {seed})"  # run.json's "order" of a sampled run


def order_seed(run: dict[str, Any]) -> int | None:
    """The seed of a sampled run from its ``run.json`` record; None for a run in file order."""
    order = str(run.get("order", ""))
    head, _, tail = _SHUFFLED.partition("{seed}")
    number = order.removeprefix(head).removesuffix(tail)
    if order.startswith(head) and order.endswith(tail) and number.isdigit():
        return int(number)
    return None


def _check_run(out_dir: Path, key: dict[str, Any]) -> None:
    """Write ``run.json``, or refuse to continue a run that was made with something else."""
    file = out_dir / RUN_FILE
    if file.exists():
        try:
            old = json.loads(file.read_text(encoding="utf-8"))
        except ValueError:
            old = {}
        diff = _changed(old, key)
        if diff:
            raise KidneyTalkError(
                f"{out_dir} holds results of a different run (changed: {', '.join(diff)}). "
                "Use another --out folder, or delete that folder to start again."
            )
        return
    out_dir.mkdir(parents=True, exist_ok=True)
    file.write_text(json.dumps(key, indent=2), encoding="utf-8")


def _changed(old: dict[str, Any], new: dict[str, Any], prefix: str = "") -> list[str]:
    """Dotted names of the values that differ, e.g. ``settings.retrieval.k_first``."""
    out = []
    for k in sorted(set(old) | set(new)):
        a, b = old.get(k), new.get(k)
        if isinstance(a, dict) and isinstance(b, dict):
            out += _changed(a, b, f"{prefix}{k}.")
        elif a != b:
            out.append(prefix + k)
    return out


def off_library(q: Question) -> bool:
    """True for a question the library does not cover: tagged ``off-library``, or without a gold source."""
    return "off-library" in q.tags or not q.gold_source


def gold_ranks(q: Question, hits: Sequence[Hit]) -> tuple[int | None, int | None]:
    """1-based rank of the first hit on a gold page, and of the first hit in the gold document."""
    page = source = None
    for rank, h in enumerate(hits, start=1):
        # a passage stored once for several documents counts for each place it is in
        spans = [pages for name, pages in h.places if name == q.gold_source]
        if not spans:
            continue
        source = source or rank
        if not q.gold_pages or any(set(pages) & set(q.gold_pages) for pages in spans):
            page = rank
            break
    return page, source


class _Runner:
    def __init__(
        self,
        engine: Engine,
        *,
        style: str,
        model: str | None,
        retrieval_only: bool,
        k: int,
        cancel: threading.Event,
    ):
        self.engine, self.style, self.model = engine, style, model
        # The judge's one-line reasons are for display only: skipping them changes no answer, saves minutes.
        self.retrieval = replace(engine.settings.retrieval, judge_reasons="none")
        self.retrieval_only, self.k, self.cancel = retrieval_only, k, cancel

    def one(self, q: Question, mode: str) -> dict[str, Any] | None:
        """The record for ``q`` in ``mode``; None when cancelled before it finished."""
        t0 = time.monotonic()
        rec: dict[str, Any] = {
            "id": q.id,
            "mode": mode,
            "answer": list(q.answer),
            "tags": list(q.tags),
            "has_gold": bool(q.gold_source),
            "off_library": off_library(q),
        }
        try:
            finished = (
                self._retrieve(q, mode, rec) if self.retrieval_only else self._answer(q, mode, rec)
            )
        except Cancelled:  # the user's Cancel, carried up from inside a search or a judge
            return None
        except (
            KidneyTalkError
        ) as exc:  # e.g. a prompt too long for the model: scored as wrong, run goes on
            if self.cancel.is_set():
                return None
            log.warning("question %s (%s) failed: %s", q.id, mode, exc)
            rec.update(error=str(exc), prediction=None, correct=False, refused=False)
        if not finished or self.cancel.is_set():
            return None
        rec["latency"] = round(time.monotonic() - t0, 3)
        return rec

    def _evidence(self, q: Question, rec: dict[str, Any], hits: Sequence[Hit]) -> None:
        rec["evidence"] = [h.chunk_id for h in hits]
        rec["sources"] = [[h.doc_name, h.page_start, h.page_end] for h in hits]
        if q.gold_source:
            rec["gold_rank"], rec["source_rank"] = gold_ranks(q, hits)

    def _stages(self, q: Question, rec: dict[str, Any], trace: Trace) -> None:
        """Gold passages present after each AddRep stage (``stage_gold``), for the per-stage report."""
        if not q.gold_source:
            return
        ids = addrep.stage_ids(trace)
        with self.engine.library.reading():
            found = self.engine.library.catalog.passages(
                sorted({c for v in ids.values() for c in v})
            )
        gold = {
            cid
            for cid, p in found.items()
            if p.doc_name == q.gold_source
            and (not q.gold_pages or set(p.pages) & set(q.gold_pages))
        }
        rec["stage_gold"] = {stage: len(set(v) & gold) for stage, v in ids.items()}

    @staticmethod
    def _gate(rec: dict[str, Any], decision: GateDecision | None) -> None:
        """Record the relevance gate's decision on the question stem."""
        if decision is not None:
            rec["gate"] = {
                "answerable": decision.answerable,
                "probability": round(decision.probability, 4),
                "features": {k: round(v, 4) for k, v in decision.features.items()},
            }

    def _retrieve(self, q: Question, mode: str, rec: dict[str, Any]) -> bool:
        """Retrieval as ``ask`` does it, gate included: ``refused`` when no evidence would reach the writer.

        False when cancelled meanwhile (``rec`` is then incomplete and not kept).
        """
        ev = self.engine.retrieve(
            q.prompt_text(),
            mode=mode,
            model=self.model,
            k=self.k,
            retrieval=self.retrieval,
            cancel=self.cancel,
            gate_question=q.question,
        )
        if self.cancel.is_set():
            return False
        self._gate(rec, ev.gate)
        if mode == "addrep" and ev.trace is not None:
            self._stages(q, rec, ev.trace)
        rec["refused"] = not ev.passages
        self._evidence(q, rec, ev.retrieved)
        return True

    def _answer(self, q: Question, mode: str, rec: dict[str, Any]) -> bool:
        """Answer ``q`` into ``rec``; False when cancelled meanwhile (``rec`` is not kept)."""
        engine = self.engine
        text = q.prompt_text()
        llm = engine.llm(self.model)
        book = engine.prompt_book(text)
        timings: dict[str, float] = {}
        refused = False
        if mode == "no-rag":
            notes = ""
            if self.style == "off":
                t = time.monotonic()
                msgs = [
                    {
                        "role": "user",
                        "content": book.render(
                            "exam_reason",
                            question=q.question,
                            options="\n".join(f"{k}. {v}" for k, v in q.options.items()),
                        ),
                    }
                ]
                raw = "".join(
                    llm.stream(
                        msgs,
                        max_tokens=REASON_TOKENS,
                        temperature=engine.settings.llm.temperature,
                        cancel=self.cancel,
                    )
                )
                reasoning, notes = split_reasoning(
                    raw
                )  # the option is chosen from the answer, not the thought
                if reasoning:
                    rec["reasoning"] = reasoning
                timings["write"] = round(time.monotonic() - t, 3)
        else:
            ans = engine.ask(
                text,
                mode=mode,
                style=self.style,
                model=self.model,
                k=self.k,
                retrieval=self.retrieval,
                cancel=self.cancel,
                gate_question=q.question,
            )
            self._gate(rec, ans.gate)
            notes = ans.text()
            if ans.reasoning:
                rec["reasoning"] = ans.reasoning
            if self.cancel.is_set():
                return False
            evidence = list(ans.evidence)
            timings.update(ans.timings)
            if mode == "addrep":
                self._stages(q, rec, ans.trace)
            refused = ans.refused
            self._evidence(q, rec, evidence)
            if not refused:
                ext = ans.extractiveness()
                rec["extractiveness"] = round(ext.coverage, 4)
                rec["density"] = round(ext.density, 3)
        rec["text"] = notes
        rec["tokens"] = llm.count_tokens(notes) if notes and not refused else 0
        if refused:  # right only for a question the library does not cover
            rec.update(prediction=None, correct=off_library(q), refused=True, timings=timings)
            return True
        if (
            off_library(q) and mode != "no-rag"
        ):  # an answer to an off-library question is wrong, whatever it says
            rec.update(prediction=None, correct=False, refused=False, timings=timings)
            return True
        t = time.monotonic()
        msgs = extract.choice_messages(book, llm, q, notes=notes, rag=mode != "no-rag")
        choice = extract.choose(llm, book, msgs, q)
        timings["choose"] = round(time.monotonic() - t, 3)
        rec.update(
            prediction=choice.letters,
            correct=tuple(choice.letters) == q.answer,
            refused=False,
            method=choice.method,
            probabilities=choice.probabilities,
            timings=timings,
            tokens=rec["tokens"] + len(choice.letters),
        )
        return True


def run_eval(
    engine: Engine,
    questions_path: str | os.PathLike[str],
    *,
    modes: Sequence[str] = ("naive",),
    style: str = "off",
    model: str | None = None,
    limit: int | None = None,
    sample: int | None = None,
    seed: int = 0,
    out_dir: str | os.PathLike[str],
    retrieval_only: bool = False,
    k: int | None = None,
    progress: Callable[[EvalProgress], None] | None = None,
    cancel: threading.Event | None = None,
) -> EvalSummary:
    """Evaluate ``questions_path`` in each of ``modes``, appending to ``out_dir/results.jsonl``.

    Runs question by question (all modes of a question together, so a
    partial run still compares modes on the same questions). Returns the
    summary and writes ``summary.json``, ``report.md`` and ``report.html``;
    when cancelled, what finished is kept and reported.
    """
    from kidneytalk.copypaste import check_style

    from .report import write_report

    questions_file = Path(questions_path)
    out = Path(out_dir)
    modes = parse_modes(modes)
    if retrieval_only:
        modes = [m for m in modes if m != "no-rag"]
        if not modes:
            raise KidneyTalkError(
                "--retrieval-only needs a retrieval mode (naive, hybrid or addrep)."
            )
    check_style(style)
    cancel = cancel or threading.Event()
    questions, problems = load_questions(questions_file)
    for p in problems:
        log.warning("%s: skipped %s", questions_file, p)
    chosen = select(questions, limit=limit, sample=sample, seed=seed)
    if not chosen:
        raise KidneyTalkError(f"No usable questions in {questions_file}.")
    if model is None and engine.llm_loaded:
        model_name = engine.llm().name
    else:
        model_name = engine.models.get(model or engine.model_name).name
    depth = k or (
        max(RETRIEVAL_DEPTH, engine.settings.top_k) if retrieval_only else engine.settings.top_k
    )
    _check_run(
        out,
        _run_key(
            engine,
            questions_file,
            style=style,
            model=model_name,
            retrieval_only=retrieval_only,
            sampled=sample is not None,
            seed=seed,
            k=depth,
        ),
    )
    if not retrieval_only or "addrep" in modes:
        engine.llm(model)  # a missing or broken model fails here, before any result is written
    finished, total = _run(
        engine,
        out,
        chosen,
        modes,
        style=style,
        model=model,
        retrieval_only=retrieval_only,
        k=depth,
        progress=progress,
        cancel=cancel,
    )
    summary = write_report(out, title=questions_file.name)
    summary.problems = problems
    summary.complete = finished == total
    return summary


def _run(
    engine: Engine,
    out: Path,
    chosen: Sequence[Question],
    modes: Sequence[str],
    *,
    style: str,
    model: str | None,
    retrieval_only: bool,
    k: int,
    progress: Callable[[EvalProgress], None] | None,
    cancel: threading.Event,
) -> tuple[int, int]:
    """Evaluate the pairs not yet in ``results.jsonl``; (pairs finished, pairs in the run)."""
    done = {(r["id"], r["mode"]) for r in load_results(out)}
    pairs = [(q, m) for q in chosen for m in modes]
    todo = [(q, m) for q, m in pairs if (q.id, m) not in done]
    total, resumed = len(pairs), len(pairs) - len(todo)
    runner = _Runner(
        engine, style=style, model=model, retrieval_only=retrieval_only, k=k, cancel=cancel
    )
    start = time.monotonic()

    def report(
        n_done: int, q: Question | None = None, mode: str = "", rec: dict[str, Any] | None = None
    ) -> None:
        if progress is None:
            return
        elapsed = time.monotonic() - start
        fresh = n_done - resumed
        eta = elapsed / fresh * (total - n_done) if fresh > 0 else None
        progress(
            EvalProgress(
                done=n_done,
                total=total,
                mode=mode,
                question_id=q.id if q else "",
                eta_seconds=eta,
                elapsed=elapsed,
                resumed=resumed,
                correct=rec.get("correct") if rec else None,
                refused=bool(rec and rec.get("refused")),
            )
        )

    report(resumed)
    results = out / RESULTS_FILE
    finished = resumed
    with results.open("a+", encoding="utf-8") as fh:
        fh.seek(0, os.SEEK_END)
        if fh.tell() > 0:  # a crash may have cut the last line: start on a fresh one
            fh.seek(fh.tell() - 1)
            if fh.read(1) != "\n":
                fh.write("\n")
        for q, mode in todo:
            if cancel.is_set():
                break
            rec = runner.one(q, mode)
            if rec is None:
                break
            rec["n"] = finished
            fh.write(json.dumps(rec, ensure_ascii=False) + "\n")
            fh.flush()
            finished += 1
            report(finished, q, mode, rec)
    return finished, total
