"""``kidneytalk`` command line: a thin layer over :class:`kidneytalk.engine.Engine`.

User-facing errors (:class:`KidneyTalkError`) are printed as one line without a
traceback; anything else is a bug: its traceback goes to the log file and one
line naming it to the terminal. Exit codes: 0 success, 1 something failed
(e.g. one file of a batch, or a bug), 2 usage error (including a bad setting).
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from kidneytalk import __version__
from kidneytalk.errors import KidneyTalkError, SettingsError
from kidneytalk.names import safe_text
from kidneytalk.vocabulary import MODES, STYLES

if TYPE_CHECKING:  # the engine is imported when a command runs, so --help and --version stay quick
    from kidneytalk.answer import Answer
    from kidneytalk.catalog import Document
    from kidneytalk.engine import Engine
    from kidneytalk.trace import StageEvent

log = logging.getLogger("kidneytalk.cli")

DEMO_QUESTION = "When should metformin be stopped in chronic kidney disease?"


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="kidneytalk", description="Private, offline medical knowledge assistant."
    )
    p.add_argument(
        "--home",
        metavar="DIR",
        help="keep config, data and logs under DIR (default: $KIDNEYTALK_HOME or the platform folders)",
    )
    p.add_argument("--version", action="version", version=f"kidneytalk {__version__}")
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")

    a = sub.add_parser("add", help="add files or folders (recursively) to the library")
    a.add_argument("paths", nargs="+", metavar="PATH")
    a.add_argument(
        "--filter-agent",
        action="store_true",
        default=None,
        help="also ask the LLM to drop passages without medical knowledge",
    )
    a.add_argument("--json", action="store_true", help="print one JSON result per file")

    ls = sub.add_parser("list", help="list the documents in the library")
    ls.add_argument("--json", action="store_true")

    for name, help_text in (
        ("remove", "remove a document, its vectors and its stored copy"),
        ("enable", "let a document reach retrieval again"),
        ("disable", "keep a document out of retrieval"),
    ):
        c = sub.add_parser(name, help=help_text)
        c.add_argument(
            "doc", metavar="DOC", type=safe_text, help="document id, id prefix or file name"
        )

    r = sub.add_parser("reindex", help="re-run the pipeline on stored copies (all when no DOC)")
    r.add_argument("docs", nargs="*", metavar="DOC", type=safe_text)
    r.add_argument("--filter-agent", action="store_true", default=None)
    r.add_argument("--needs-ocr", action="store_true", help="only documents marked 'needs OCR'")

    d = sub.add_parser(
        "dropped",
        help="show the text of a document that was left out (dropped passages, removed lines), and why",
    )
    d.add_argument("doc", metavar="DOC", type=safe_text)
    d.add_argument("--json", action="store_true")

    s = sub.add_parser("search", help="show the passages closest to a query")
    s.add_argument("query")
    s.add_argument("-k", type=int, default=8)
    s.add_argument("--json", action="store_true")

    q = sub.add_parser("ask", help="answer a question from the library, with citations")
    q.add_argument("question")
    _answer_options(q)
    q.add_argument("--json", action="store_true")

    ch = sub.add_parser("chat", help="interactive multi-turn conversation in the terminal")
    _answer_options(ch)
    ch.add_argument("--resume", metavar="ID", help="continue a saved conversation")

    cv = sub.add_parser("conversations", help="saved conversations")
    cvsub = cv.add_subparsers(dest="conv_command", required=True, metavar="ACTION")
    cvsub.add_parser("list", help="list saved conversations")
    ce = cvsub.add_parser("export", help="export a conversation to Markdown")
    ce.add_argument("id")
    ce.add_argument("-o", "--output", metavar="FILE", help="write here instead of standard output")
    ce.add_argument("--reasoning", action="store_true", help="include a reasoning model's thinking")
    cd = cvsub.add_parser("delete", help="delete a conversation")
    cd.add_argument("id")

    m = sub.add_parser("models", help="language models (GGUF files and model servers)")
    msub = m.add_subparsers(dest="models_command", required=True, metavar="ACTION")
    ml = msub.add_parser("list", help="known models with their metadata")
    ml.add_argument("--json", action="store_true")
    ma = msub.add_parser("add", help="register a GGUF file")
    ma.add_argument("file")
    ma.add_argument("--name")
    mv = msub.add_parser(
        "add-server",
        help="register a model on an OpenAI-compatible server (llama-server, vLLM, Ollama)",
    )
    mv.add_argument("name")
    mv.add_argument(
        "url", help="e.g. http://gpu-server.hospital.local:8080 (the only host this model contacts)"
    )
    mv.add_argument(
        "--api-key-file", help="file holding the server's API key (the key itself is never stored)"
    )
    mv.add_argument(
        "--model-id", default="", help="model name on the server (default: the first it lists)"
    )
    mv.add_argument(
        "--n-ctx", type=int, default=0, help="context length, when the server does not report it"
    )
    mv.add_argument(
        "--timeout", type=float, default=0.0, help="seconds to wait for a reply (default 120)"
    )
    md = msub.add_parser("default", help="set the default model")
    md.add_argument("name")
    mr = msub.add_parser("remove", help="forget an added model (the file is kept)")
    mr.add_argument("name")

    st = sub.add_parser(
        "settings", help="show or change settings (e.g. settings set llm.n_threads 4)"
    )
    stsub = st.add_subparsers(dest="settings_command", metavar="ACTION")
    stsub.add_parser("show", help="print all settings as JSON (default)")
    ss = stsub.add_parser("set", help="set one value: KEY is a dotted path such as retrieval.mode")
    ss.add_argument("key")
    ss.add_argument("value")

    ev = sub.add_parser("eval", help="score the modes on an exam question file (JSONL or CSV)")
    ev.add_argument("questions", metavar="QUESTIONS")
    ev.add_argument(
        "--library",
        metavar="HOME",
        help="the KidneyTalk home whose library is used (default: --home)",
    )
    ev.add_argument(
        "--modes", default="no-rag,naive,addrep", help="comma-separated: no-rag,naive,hybrid,addrep"
    )
    ev.add_argument(
        "--style",
        choices=STYLES,
        help="answer style of the library modes (default from settings: cp-order)",
    )
    ev.add_argument("--model", metavar="NAME")
    ev.add_argument("--limit", type=int, metavar="N", help="the first N questions")
    ev.add_argument(
        "--sample", type=int, metavar="N", help="N questions drawn at random (see --seed)"
    )
    ev.add_argument("--seed", type=int, default=0)
    ev.add_argument(
        "-k",
        type=int,
        default=None,
        help="passages per question (default: settings; 10 with --retrieval-only)",
    )
    ev.add_argument(
        "--out", metavar="DIR", help="results folder (default: eval-<questions file name>)"
    )
    ev.add_argument(
        "--retrieval-only", action="store_true", help="score retrieval (hit@k) without answering"
    )
    ev.add_argument("--json", action="store_true", help="print the summary as JSON")

    cal = sub.add_parser(
        "calibrate",
        help="fit the relevance gate (when to say the library has no answer) on this library",
    )
    cal.add_argument(
        "-n",
        type=int,
        default=60,
        help="questions written from the library's passages (default 60)",
    )
    cal.add_argument("--seed", type=int, default=0)
    cal.add_argument("--json", action="store_true")

    fo = sub.add_parser(
        "folders",
        help="folders the library follows (kept in sync by 'kidneytalk sync' and the app)",
    )
    fosub = fo.add_subparsers(dest="folders_command", required=True, metavar="ACTION")
    fl = fosub.add_parser("list", help="followed folders with the outcome of their last sync")
    fl.add_argument("--json", action="store_true")
    fa = fosub.add_parser("add", help="follow a folder and add its documents now")
    fa.add_argument("path", metavar="FOLDER")
    fa.add_argument(
        "--no-sync",
        action="store_true",
        help="only remember the folder; add its files at the next sync",
    )
    fr = fosub.add_parser(
        "remove", help="stop following a folder (its documents stay unless --remove-documents)"
    )
    fr.add_argument("path", metavar="FOLDER")
    fr.add_argument(
        "--remove-documents", action="store_true", help="also remove the documents added from it"
    )

    sy = sub.add_parser("sync", help="bring the library up to date with the followed folders")
    sy.add_argument(
        "folders", nargs="*", metavar="FOLDER", help="only these followed folders (default: all)"
    )
    sy.add_argument(
        "--remove-deleted",
        action="store_true",
        default=None,
        help="remove documents whose file was deleted (default: setting folders.remove_deleted)",
    )
    sy.add_argument(
        "--keep-deleted",
        dest="remove_deleted",
        action="store_false",
        help="keep documents whose file was deleted, and stop tracking those files",
    )
    sy.add_argument("--json", action="store_true")

    dr = sub.add_parser(
        "doctor",
        help="check the library (catalog, vectors, lexical index, stored copies, "
        "settings); --repair fixes what is broken after a backup",
    )
    dr.add_argument(
        "--repair", action="store_true", help="repair (a backup is kept under <data>/backups/)"
    )
    dr.add_argument("--json", action="store_true")

    sub.add_parser(
        "demo", help="terminal demo: add the bundled sample document and answer a question"
    )
    sub.add_parser("gui", help="open the desktop app")
    sub.add_parser(
        "start", help="the desktop app when a display exists, otherwise the terminal demo"
    )
    return p


def _answer_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--mode", choices=MODES, help="retrieval mode (default from settings: addrep)")
    p.add_argument("--style", choices=STYLES, help="answer style (default from settings: cp-order)")
    p.add_argument("--model", metavar="NAME")
    p.add_argument("-k", type=int, default=None, help="passages to retrieve (naive/hybrid)")
    p.add_argument(
        "--trace", action="store_true", help="print each retrieval/answer step with its timing"
    )
    p.add_argument(
        "--show-reasoning",
        action="store_true",
        help="print a reasoning model's thinking before its answer (hidden by default)",
    )


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if args.command in ("gui",) or (args.command == "start" and _has_display()):
        from kidneytalk.ui.app import main as gui_main

        return gui_main(home=args.home)
    if args.command == "start":
        args.command = "demo"
    from kidneytalk.engine import Engine

    log_path = _start_logging(getattr(args, "library", None) or args.home)
    try:
        if args.command == "doctor":  # must work when the library cannot be opened at all
            return _cmd_doctor(args)
        with Engine(getattr(args, "library", None) or args.home) as engine:
            for notice in getattr(engine, "settings_notices", ()):
                print(f"kidneytalk: warning: {_one_line(notice)}", file=sys.stderr)
            handler = globals()[f"_cmd_{args.command}"]
            return int(handler(engine, args) or 0)
    except SettingsError as exc:
        print(f"kidneytalk: {_one_line(exc)}", file=sys.stderr)
        return 2
    except KidneyTalkError as exc:
        print(f"kidneytalk: {_one_line(exc)}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("kidneytalk: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # e.g. piped into `head`: nothing more to say
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 1
    except Exception as exc:  # a bug: the traceback goes to the log, one line to the user
        log.exception("unexpected error in 'kidneytalk %s'", args.command)
        where = f"; details in {log_path}" if log_path else ""
        print(
            f"kidneytalk: unexpected error ({type(exc).__name__}: {_one_line(exc)}){where}. "
            "This is a bug in KidneyTalk; please report it with the log.",
            file=sys.stderr,
        )
        return 1


def _start_logging(home: str | None) -> str:
    """Open the log file before anything can fail, so a bug is always logged ('' if impossible)."""
    try:
        from kidneytalk.config import Paths
        from kidneytalk.logs import setup_logging

        return setup_logging(Paths.resolve(home).ensure())
    except Exception:  # no log folder: the one-line message still reaches the terminal
        return ""


def _one_line(value: object) -> str:
    """A message on one line: a newline (e.g. in a file name) must not split it."""
    return " ".join(str(value).splitlines())


def _has_display() -> bool:
    return bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")) or sys.platform in (
        "darwin",
        "win32",
    )


def _print_json(obj: object) -> None:
    print(json.dumps(obj, ensure_ascii=False, indent=2))


def _wait_note(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


# ---------------------------------------------------------------- commands
def _cmd_add(engine: Engine, args: argparse.Namespace) -> int:
    from kidneytalk.progress import ProgressBar

    bar = ProgressBar(live=None if not args.json else False)
    results = engine.add(
        args.paths,
        filter_agent=args.filter_agent,
        progress=None if args.json else bar,
        on_wait=_wait_note,
    )
    bar.finish()
    failed = [r for r in results if r.failed]
    if args.json:
        _print_json([r.to_json() for r in results])
    else:
        added = sum(1 for r in results if r.status == "added")
        print(
            f"{added} added, {sum(1 for r in results if r.status == 'exists')} already in library, "
            f"{len(failed)} failed, {sum(1 for r in results if r.status == 'skipped')} skipped",
            file=sys.stderr,
        )
    return 1 if failed or any(r.status == "cancelled" for r in results) else 0


def _status_label(engine: Engine, doc: Document) -> str:
    from kidneytalk.library import describe_status

    return describe_status(doc, engine.library.reindex_hint(doc))[0]


def _cmd_list(engine: Engine, args: argparse.Namespace) -> int:
    docs = engine.library.documents()
    if args.json:
        _print_json(
            [
                dict(
                    d.to_json(),
                    stale=engine.library.is_stale(d),
                    reindex_hint=engine.library.reindex_hint(d),
                )
                for d in docs
            ]
        )
        return 0
    if not docs:
        print("The library is empty. Add documents with: kidneytalk add FILE_OR_FOLDER")
        return 0
    print(
        f"{'ID':12}  {'ON':2}  {'PAGES':>5}  {'KEPT':>5}  {'DROP':>5}  {'ADDED':16}  NAME  (STATUS)"
    )
    from kidneytalk.names import safe_text

    for (
        d
    ) in docs:  # names are stored escaped; older libraries may hold raw ones: one row each, always
        print(
            f"{d.id:12}  {'y' if d.enabled else 'n':2}  {d.pages:5}  {d.chunks_kept:5}  {d.chunks_dropped:5}  "
            f"{d.added_at[:16].replace('T', ' '):16}  {safe_text(d.name)}  ({safe_text(_status_label(engine, d))})"
        )
    return 0


def _cmd_remove(engine: Engine, args: argparse.Namespace) -> int:
    doc = engine.library.remove(args.doc)
    print(f"removed {doc.name} ({doc.id})")
    return 0


def _cmd_enable(engine: Engine, args: argparse.Namespace) -> int:
    doc = engine.library.set_enabled(args.doc, True)
    print(f"enabled {doc.name} ({doc.id})")
    return 0


def _cmd_disable(engine: Engine, args: argparse.Namespace) -> int:
    doc = engine.library.set_enabled(args.doc, False)
    print(f"disabled {doc.name} ({doc.id}): it no longer reaches retrieval")
    return 0


def _cmd_reindex(engine: Engine, args: argparse.Namespace) -> int:
    from kidneytalk.progress import ProgressBar

    bar = ProgressBar()
    results = engine.reindex(
        args.docs or None, needs_ocr=args.needs_ocr, filter_agent=args.filter_agent, progress=bar
    )
    bar.finish()
    if args.needs_ocr and not results:
        print("No document needs OCR.", file=sys.stderr)
    return 1 if any(r.failed for r in results) else 0


def _cmd_folders(engine: Engine, args: argparse.Namespace) -> int:
    from kidneytalk import folders

    if args.folders_command == "add":
        folder = folders.follow(engine.library, args.path)
        print(f"following {folder.path}")
        if args.no_sync:
            return 0
        return _run_sync(engine, [folder.path], remove_deleted=None, as_json=False)
    if args.folders_command == "remove":
        removed = folders.unfollow(
            engine.library, args.path, remove_documents=args.remove_documents
        )
        print(
            f"no longer following {args.path}"
            + (
                f"; {len(removed)} documents removed"
                if removed
                else "; its documents stay in the library"
            )
        )
        return 0
    listed = folders.followed(engine.library)
    if args.json:
        _print_json([f.to_json() for f in listed])
        return 0
    if not listed:
        print("No followed folders. Follow one with: kidneytalk folders add FOLDER")
    for f in listed:
        state = {"ok": "synced", "unavailable": "folder unavailable", "": "not synced yet"}.get(
            f.status, f.status
        )
        print(
            f"{f.path}  ({f.files} files; {state}{' ' + f.last_sync[:16].replace('T', ' ') if f.last_sync else ''})"
            + (f"\n    {f.message}" if f.message else "")
        )
    return 0


def _cmd_sync(engine: Engine, args: argparse.Namespace) -> int:
    return _run_sync(
        engine, args.folders or None, remove_deleted=args.remove_deleted, as_json=args.json
    )


def _run_sync(
    engine: Engine, only: Sequence[str] | None, *, remove_deleted: bool | None, as_json: bool
) -> int:
    from kidneytalk import folders
    from kidneytalk.progress import ProgressBar

    if remove_deleted is None:
        remove_deleted = folders.policy(engine.settings.folders.remove_deleted)
    if not folders.followed(engine.library):
        print(
            "No followed folders. Follow one with: kidneytalk folders add FOLDER", file=sys.stderr
        )
        return 0
    bar = ProgressBar(live=None if not as_json else False)
    reports = folders.sync(
        engine.library,
        remove_deleted=remove_deleted,
        folders=only,
        add=engine.add,
        progress=None if as_json else bar,
    )
    bar.finish()
    if as_json:
        _print_json([r.to_json() for r in reports])
    for r in reports if not as_json else ():
        print(r.summary(), file=sys.stderr)
        for message in r.failed:
            print(f"  failed: {_one_line(message)}", file=sys.stderr)
        if r.pending:
            print(
                f"  deleted from the folder: {', '.join(r.pending[:5])}{' …' if len(r.pending) > 5 else ''}; "
                "remove them from the library with 'kidneytalk sync --remove-deleted' "
                "(or keep them: 'kidneytalk sync --keep-deleted')",
                file=sys.stderr,
            )
    return 1 if any(r.failed or not r.available for r in reports) else 0


def _cmd_dropped(engine: Engine, args: argparse.Namespace) -> int:
    from kidneytalk.filter import reason_code

    rows = engine.library.dropped(args.doc)
    removed = engine.library.removed(args.doc)
    items = [
        {
            "kind": "passage",
            "code": reason_code(r["reason"]),
            "reason": r["reason"],
            "seq": r["seq"],
            "pages": [r["page_start"], r["page_end"]],
            "section": json.loads(r["section"]),
            "text": r["text"],
        }
        for r in rows
    ]
    items += [
        {
            "kind": "line",
            "code": r["code"],
            "reason": r["reason"],
            "pages": [r["page"], r["page"]],
            "text": r["text"],
        }
        for r in removed
    ]
    if args.json:
        _print_json(items)
        return 0
    if not items:
        print("Nothing was dropped from this document.")
    if rows:
        print(f"Passages dropped ({len(rows)}):")
    for r in rows:
        text = " ".join(r["text"].split())
        print(f"  p.{r['page_start']}  {r['reason']}: {text[:110]}{'…' if len(text) > 110 else ''}")
    if removed:
        print(f"Lines removed before chunking ({len(removed)}):")
        groups: dict[tuple[str, str], list[int]] = {}
        for r in removed:
            groups.setdefault((r["reason"].split(" (")[0], " ".join(r["text"].split())), []).append(
                r["page"]
            )
        for (reason, text), pages in groups.items():
            where = (
                f"p.{pages[0]}"
                if len(pages) == 1
                else f"{len(pages)} pages ({pages[0]}-{pages[-1]})"
            )
            print(f"  {where}  {reason}: {text[:110]}{'…' if len(text) > 110 else ''}")
    return 0


def _cmd_search(engine: Engine, args: argparse.Namespace) -> int:
    hits = engine.search(args.query, args.k)
    if args.json:
        _print_json({"query": args.query, "chunks": [h.to_json() for h in hits]})
        return 0
    if not hits:
        stale = _stale_note(engine)
        print(
            f"No passages found: {stale}"
            if stale
            else "No passages found (is the library empty, or are all documents disabled?)."
        )
    for i, h in enumerate(hits, start=1):
        text = " ".join(h.text.split())
        print(
            f"{i}. {h.score:.3f}  {h.doc_name} {h.pages_label}{' (OCR)' if h.ocr else ''}  {' > '.join(h.section)}\n   {text[:300]}{'…' if len(text) > 300 else ''}"
        )
        if h.also_in:  # near-copies collapsed into this passage
            print(
                _one_line(
                    f"   also in: {'; '.join(h.also_in[:5])}{' …' if len(h.also_in) > 5 else ''}"
                )
            )
    return 0


def _stale_note(engine: Engine) -> str:
    """Why documents are not searched: indexed with another embedding model ("" when none is)."""
    stale = sum(1 for d in engine.library.documents() if engine.library.is_stale(d))
    return (
        f"{stale} document(s) were indexed with another embedding model and are not searched "
        "until you run `kidneytalk reindex`."
        if stale
        else ""
    )


def _cmd_ask(engine: Engine, args: argparse.Namespace) -> int:
    progress = None if args.json else _StageLine()
    answer = engine.ask(
        args.question,
        mode=args.mode,
        style=args.style,
        model=args.model,
        k=args.k,
        progress=progress,
    )
    if answer.gate is not None and answer.gate.warning:
        print(f"kidneytalk: {answer.gate.warning}", file=sys.stderr)
    if answer.refused and (stale := _stale_note(engine)):
        print(f"kidneytalk: {stale}", file=sys.stderr)
    if args.json:
        _print_json(answer.to_json())
        return 0
    stream_answer(answer, progress, show_reasoning=args.show_reasoning)
    if args.trace:
        _print_trace(answer)
    return 0


class _StageLine:
    """Shows AddRep's progress on one stderr line while the answer is prepared."""

    LABELS = {
        "load": "loading model",
        "gate": "checking the library covers the question",
        "refine": "refining query",
        "search": "searching",
        "divergent": "divergent questions",
        "judge": "judging relevance",
        "assemble": "assembling context",
        "write": "writing",
    }

    def __init__(self) -> None:
        self.live = sys.stderr.isatty()
        self.shown = False

    def __call__(self, event: StageEvent) -> None:
        if not self.live:
            return
        label = self.LABELS.get(event.stage, event.stage)
        step = f" {event.i}/{event.n}" if event.n else ""
        sys.stderr.write(f"\r\033[2K… {label}{step}")
        sys.stderr.flush()
        self.shown = True

    def clear(self) -> None:
        if self.shown:
            sys.stderr.write("\r\033[2K")
            sys.stderr.flush()
            self.shown = False


def stream_answer(
    answer: Answer, progress: _StageLine | None = None, *, show_reasoning: bool = False
) -> None:
    """Print ``answer`` as it streams, then its sources, unsupported sentences and extractiveness."""
    try:
        first = True
        shown = ""  # the kind of text printed last
        for kind, piece in answer.events():
            if first and progress:
                progress.clear()
            first = False
            if kind == "reasoning" and not show_reasoning:
                if progress and progress.live and not shown:
                    sys.stderr.write("\r\033[2K… thinking")
                    sys.stderr.flush()
                    progress.shown = True
                continue
            if progress and kind == "answer" and not shown:
                progress.clear()
            if show_reasoning and kind != shown:
                sys.stdout.write(
                    "[reasoning, not checked against the sources]\n"
                    if kind == "reasoning"
                    else ("\n[answer]\n" if shown else "")
                )
            shown = kind
            sys.stdout.write(piece)
            sys.stdout.flush()
    except KeyboardInterrupt:
        answer.cancel.set()
        print("\n[stopped]")
    if progress:
        progress.clear()
    print()
    if answer.refused:
        gate = answer.gate
        why = (
            gate.reason
            if gate is not None and not gate.answerable
            else "nothing relevant in the enabled documents"
        )
        print(f"(refused: {why})")
        return
    for check in answer.checks:
        if not check.supported:
            print(f"⚠ unsupported: {check.text}")
    citations = answer.citations
    if citations:
        print("\nSources:")
        for c in citations:
            print(
                f"  [{c.n}] {c.label.strip('[]')}"
                + ("  (text read by OCR from a scanned page)" if c.ocr else "")
            )
    elif answer.evidence:
        print("\nThe model gave no citation markers; passages it was given:")
        for i, h in enumerate(answer.evidence, start=1):
            print(f"  [{i}] {h.doc_name} {h.pages_label}")
    ext = answer.extractiveness()
    print(
        f"Extractiveness: coverage {ext.coverage:.2f}, density {ext.density:.1f}  "
        f"({answer.mode}, {answer.style})"
    )


def _print_trace(answer: Answer) -> None:
    print("\nTrace:")
    for step in answer.trace.steps:
        if step.skipped:
            print(f"  {step.stage:10} skipped ({step.outputs.get('reason', '')})")
            continue
        summary = ", ".join(f"{k}={_short(v)}" for k, v in step.outputs.items())
        print(f"  {step.stage:10} {step.seconds:6.2f} s  {summary}")
    print("  timings: " + ", ".join(f"{k} {v:.2f} s" for k, v in answer.timings.items()))


def _short(value: object, limit: int = 90) -> str:
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _cmd_chat(engine: Engine, args: argparse.Namespace) -> int:

    store = engine.conversations
    conv = (
        store.get(args.resume)
        if args.resume
        else store.create(mode=args.mode or "", style=args.style or "")
    )
    print(f"KidneyTalk chat (conversation {conv.id}). Ask a question; /export FILE, /new, /quit.")
    while True:
        try:
            line = input("\nyou> ").strip()
        except (EOFError, KeyboardInterrupt):
            print()
            break
        if not line:
            continue
        if line in ("/quit", "/exit", "/q"):
            break
        if line == "/new":
            conv = store.create(mode=args.mode or "", style=args.style or "")
            print(f"new conversation {conv.id}")
            continue
        if line.startswith("/export"):
            target = line.split(maxsplit=1)[1] if " " in line else f"kidneytalk-{conv.id}.md"
            _export(engine, conv.id, target, reasoning=args.show_reasoning)
            continue
        progress = _StageLine()
        history = conv.history()
        answer = engine.ask(
            line,
            history=history,
            mode=args.mode or conv.mode or None,
            style=args.style or conv.style or None,
            model=args.model,
            k=args.k,
            progress=progress,
        )
        print("kidneytalk> ", end="", flush=True)
        stream_answer(answer, progress, show_reasoning=args.show_reasoning)
        if args.trace:
            _print_trace(answer)
        store.add_turn(conv, line, answer.text(), answer.to_json())
    print(f"Saved as conversation {conv.id} (kidneytalk conversations export {conv.id}).")
    return 0


def _export(engine: Engine, cid: str, target: str | None, *, reasoning: bool = False) -> None:
    from pathlib import Path

    from kidneytalk.conversations import to_markdown

    text = to_markdown(engine.conversations.get(cid), reasoning=reasoning)
    if target:
        Path(target).write_text(text, encoding="utf-8")
        print(f"exported to {target}")
    else:
        sys.stdout.write(text)


def _cmd_conversations(engine: Engine, args: argparse.Namespace) -> int:
    store = engine.conversations
    if args.conv_command == "export":
        _export(engine, args.id, args.output, reasoning=args.reasoning)
    elif args.conv_command == "delete":
        store.get(args.id)
        store.delete(args.id)
        print(f"deleted {args.id}")
    else:
        for c in store.list():
            print(f"{c.id}  {c.updated_at[:16].replace('T', ' ')}  {c.title}")
    return 0


def _cmd_models(engine: Engine, args: argparse.Namespace) -> int:
    from kidneytalk.chat_templates import template_family
    from kidneytalk.llm import resolve_gpu_layers, where_it_runs
    from kidneytalk.models import fit

    reg = engine.models
    if args.models_command == "add":
        entry, info = reg.add(args.file, args.name)
        print(
            f"added {entry.name}: {info.architecture}, {info.parameters_label} parameters, {info.quantization}, "
            f"context {info.context_length}, {info.file_size / 2**20:.0f} MB"
        )
        warning = fit(info, engine.settings.llm.n_ctx).warning(entry.name)
        if warning:
            print(f"warning: {warning}", file=sys.stderr)
        if not info.has_chat_template:
            print(
                "warning: this GGUF has no chat template; answers may be poor (is it a base model?)",
                file=sys.stderr,
            )
        return 0
    if args.models_command == "add-server":
        entry = reg.add_server(
            args.name,
            args.url,
            api_key_file=args.api_key_file,
            model_id=args.model_id,
            n_ctx=args.n_ctx,
            timeout=args.timeout,
        )
        print(
            f"added {entry.name}: model server {entry.url} (runs on {entry.where}; questions and passages "
            "are sent there)"
        )
        return 0
    if args.models_command == "default":
        entry = engine.set_default_model(args.name)
        print(f"default model: {entry.name}")
        return 0
    if args.models_command == "remove":
        engine.remove_model(args.name)
        print(f"removed {args.name}")
        return 0
    default = engine.model_name
    rows: list[dict[str, Any]] = []
    for entry in reg.entries():
        if entry.is_server:
            rows.append(
                {
                    "name": entry.name,
                    "url": entry.url,
                    "where": entry.where,
                    "default": entry.name == default,
                    "model_id": entry.model_id,
                    "n_ctx": entry.n_ctx,
                    "api_key_file": entry.api_key_file,
                }
            )
            continue
        try:
            info = entry.info()
        except KidneyTalkError as exc:
            rows.append(
                {
                    "name": entry.name,
                    "path": str(entry.path),
                    "error": str(exc),
                    "default": entry.name == default,
                }
            )
            continue
        f = fit(info, engine.settings.llm.n_ctx)
        rows.append(
            {
                "name": entry.name,
                "path": str(entry.path),
                "bundled": entry.bundled,
                "default": entry.name == default,
                "architecture": info.architecture,
                "parameters": info.parameters,
                "quantization": info.quantization,
                "context_length": info.context_length,
                "file_size": info.file_size,
                "chat_template": info.has_chat_template,
                "memory_needed": f.needed,
                "fits_in_memory": f.ok,
                "memory_available": f.available,
                "where": entry.where,
                "template_family": template_family(
                    info.metadata.get("tokenizer.chat_template"), info.architecture
                ),
                "runs_on": where_it_runs(
                    resolve_gpu_layers(engine.settings.llm.n_gpu_layers), info.n_layers
                ),
            }
        )
    if args.json:
        _print_json(rows)
        return 0
    for r in rows:
        mark = "*" if r["default"] else " "
        if "error" in r:
            print(f"{mark} {r['name']}: {r['error']}")
            continue
        if "url" in r:
            print(f"{mark} {r['name']:28} model server {r['url']}  runs on {r['where']}")
            continue
        warn = "" if r["fits_in_memory"] else "  [may not fit in memory]"
        print(
            f"{mark} {r['name']:28} {r['architecture']:10} {r['parameters'] / 1e6:8.0f}M  {r['quantization']:7} "
            f"ctx {r['context_length']:6}  {r['file_size'] / 2**20:7.0f} MB{warn}\n    {r['template_family']}; "
            f"runs on {r['where']} ({r['runs_on']}); needs about {r['memory_needed'] / 2**20:.0f} MB\n    {r['path']}"
        )
    return 0


def _cmd_settings(engine: Engine, args: argparse.Namespace) -> int:
    if args.settings_command == "set":
        old = engine.settings.get(args.key)
        new = engine.settings.with_value(
            args.key, args.value
        )  # SettingsError: exit 2, nothing saved
        engine.save_settings(new)
        print(f"{args.key} = {new.get(args.key)!r} (was {old!r})")
        if args.key == "embedding_model" and new.embedding_model != old:
            print(
                "Documents indexed with the previous embedding model are searchable again after "
                "`kidneytalk reindex`; then fit the relevance gate with `kidneytalk calibrate`."
            )
        return 0
    _print_json(engine.settings.to_dict())
    return 0


def _cmd_eval(engine: Engine, args: argparse.Namespace) -> int:
    from pathlib import Path

    from kidneytalk.evaluation import load_questions, parse_modes, run_eval
    from kidneytalk.progress import EvalBar

    _, problems = load_questions(args.questions)
    for p in problems:
        print(f"{args.questions}: skipped {p}", file=sys.stderr)
    out = args.out or f"eval-{Path(args.questions).stem}"
    bar = EvalBar()
    try:
        style = args.style or engine.settings.retrieval.style
        summary = run_eval(
            engine,
            args.questions,
            modes=parse_modes(args.modes),
            style=style,
            model=args.model,
            limit=args.limit,
            sample=args.sample,
            seed=args.seed,
            out_dir=out,
            k=args.k,
            retrieval_only=args.retrieval_only,
            progress=bar,
            cancel=bar.cancel,
        )
    finally:
        bar.finish()
    if args.json:
        _print_json(summary.to_json())
    else:
        for mode, m in summary.per_mode.items():
            if "accuracy" in m:
                lo, hi = m["accuracy_ci"]
                print(
                    f"{mode:8} accuracy {m['accuracy']:.1%} ({lo:.1%}–{hi:.1%})  refusals {m['refusal_rate']:.1%}  n={m['n']}"
                )
            else:
                print(
                    f"{mode:8} hit rate {m['hit_rate'] or 0:.1%}  MRR {m['mrr'] or 0:.3f}  n={m['n']}"
                )
        if "majority" in summary.summary:
            maj = summary.summary["majority"]
            print(f"always {', '.join(maj['answer'])}: {maj['accuracy']:.1%}")
        print(
            f"report: {summary.report_html}"
            + ("" if summary.complete else "  (incomplete: run the same command again to continue)")
        )
    return 0 if summary.complete else 1


def _cmd_doctor(args: argparse.Namespace) -> int:
    from kidneytalk import doctor

    report = doctor.run(args.home, repair=args.repair)
    if args.json:
        print(doctor.dumps(report))
    else:
        for finding in report.findings:
            print(_one_line(finding.line()))
        if report.backup:
            print(f"backup of the catalog and settings: {report.backup}")
        if report.repairable and not args.repair:
            print("run 'kidneytalk doctor --repair' to fix these (a backup is kept first)")
    return 0 if report.healthy else 1


def _cmd_calibrate(engine: Engine, args: argparse.Namespace) -> int:
    path, calibration = engine.calibrate(n=args.n, seed=args.seed)
    if args.json:
        _print_json({"path": str(path), **calibration.to_json()})
        return 0
    info = calibration.fitted_on
    print(
        f"Relevance gate calibrated for {calibration.embed_model} on {info.get('documents', '?')} documents "
        f"({info.get('n_answerable')} questions from the library, {info.get('n_unanswerable')} off-topic)."
    )
    print(f"Saved to {path}")
    return 0


def _cmd_demo(engine: Engine, args: argparse.Namespace) -> int:
    from kidneytalk.engine import sample_document

    print("KidneyTalk terminal demo (no display found; run 'kidneytalk gui' on a desktop).")
    print(f"Library: {engine.paths.data}\n")
    results = engine.add([sample_document()])
    for r in results:
        print(r.message)
    print(f"\nQuestion: {DEMO_QUESTION}\nAnswer: ", end="", flush=True)
    progress = _StageLine()
    stream_answer(engine.ask(DEMO_QUESTION, progress=progress), progress)
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
