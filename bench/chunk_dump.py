"""Every passage prepare() makes of some PDFs, one JSON line each, to prove a change leaves them
byte-identical: text, pages, section, character offsets, tokens, which were kept/dropped/copies,
and the text the cleaner removed.

    git archive main kidneytalk | tar -x -C /tmp/base
    PYTHONPATH=/tmp/base .venv/bin/python bench/chunk_dump.py /tmp/before.jsonl PDF...
    .venv/bin/python bench/chunk_dump.py /tmp/after.jsonl PDF...
    cmp /tmp/before.jsonl /tmp/after.jsonl
"""

from __future__ import annotations

import inspect
import json
import sys
import tempfile
from pathlib import Path

from kidneytalk.chunk import Chunker, collapse_copies
from kidneytalk.clean import clean_document
from kidneytalk.engine import Engine
from kidneytalk.filter import filter_chunks
from kidneytalk.parse import parse_file


def main(out_path: str, pdfs: list[str]) -> None:
    engine = Engine(home=Path(tempfile.mkdtemp(prefix="kt-chunk-dump-")))
    emb = engine.library.embedder
    chunker = Chunker(emb.token_counter(), engine.settings.chunk, emb.max_tokens)
    # the code before the page-releasing change has no ``consume``: same passages either way
    consume = {"consume": True} if "consume" in inspect.signature(clean_document).parameters else {}
    # ingest reads a PDF's pages one at a time from a temporary file (``stream``): dump that path
    stream = {"stream": True} if "stream" in inspect.signature(parse_file).parameters else {}
    with open(out_path, "w") as out:
        for pdf in map(Path, pdfs):
            doc = clean_document(parse_file(pdf, **stream), **consume)
            chunks = chunker.chunk("x", doc, **consume)
            if not isinstance(doc.pages, list):
                doc.pages.close()
            kept, dropped = filter_chunks(chunks)
            kept, copies = collapse_copies(kept)
            for c in chunks:
                row = [pdf.name, c.seq, c.text, c.page_start, c.page_end, list(c.section)]
                out.write(json.dumps([*row, c.char_start, c.char_end, c.n_tokens]) + "\n")
            seqs = [[c.seq for c in kept], [d.chunk.seq for d in dropped]]
            out.write(json.dumps([pdf.name, *seqs, [(a, c.seq) for a, c in copies]]) + "\n")
            removed = [r.__dict__ for r in doc.removed]
            row = [pdf.name, removed, doc.title, doc.page_count, doc.scanned_pages]
            out.write(json.dumps(row) + "\n")
            print(pdf.name, len(chunks), flush=True)
    engine.close()


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2:])
