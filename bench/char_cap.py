"""The passage character cap measured against the embedder's token window (issue 17).

Every passage is capped at the chunk size in tokens (so the embedder, which
truncates at its window, sees it whole) and at ``MAX_CHUNK_CHARS`` characters
per token of the chunk size (so text the tokenizer squeezes into a few tokens
— a run without separators, long unknown "words" — cannot make one enormous
passage). This measures, on the real documents of ``realdocs-dev`` and
``pubmedqa-dev`` and on pathological text, how many characters a token takes,
how close real passages come to the character cap (none should be cut by it),
and that every passage fits the embedder's window.

    python bench/char_cap.py [--pubmedqa N]
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import statistics
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

SHARED = REPO.parent / "shared"
for parent in REPO.parents:
    if (parent / "shared" / "eval").is_dir():
        SHARED = parent / "shared"
        break
RESULTS = REPO / "bench" / "results"

from kidneytalk.cpu import cpu_summary  # noqa: E402


def main() -> int:
    from kidneytalk.chunk import CONTEXT_RESERVE_TOKENS, MAX_CHUNK_CHARS, Chunker, embed_text
    from kidneytalk.clean import clean_document
    from kidneytalk.config import ChunkSettings
    from kidneytalk.embed import Embedder
    from kidneytalk.parse import parse_file
    from kidneytalk.records import Block, Page, ParsedDocument

    ap = argparse.ArgumentParser()
    ap.add_argument("--pubmedqa", type=int, default=30, help="pubmedqa-dev digests to include")
    args = ap.parse_args()
    embedder = Embedder()
    count = embedder.token_counter()
    chunker = Chunker(count, ChunkSettings(), embedder.max_tokens)
    cap = chunker.size * MAX_CHUNK_CHARS
    files = sorted((SHARED / "eval" / "realdocs-dev" / "pdfs").glob("*.pdf"))
    files += sorted((SHARED / "eval" / "pubmedqa-dev" / "corpus").glob("*.pdf"))[: args.pubmedqa]
    ratios: list[float] = []
    longest = 0
    over_window = 0
    for path in files:
        chunks = chunker.chunk("d", clean_document(parse_file(path)))
        for c in chunks:
            ratios.append(len(c.text) / max(1, c.n_tokens))
            longest = max(longest, len(c.text))
            over_window += count(embed_text(c)) + 2 > embedder.max_tokens
    pathological = {
        "one 400,000-character run without separators": "x" * 400_000,
        "CJK without punctuation (100,000 characters)": "腎臟病患者應定期檢查腎絲球過濾率與尿蛋白"
        * 5000,
        "one 2 MB line of words": ("albuminuria guides the dose of metformin " * 50_000),
        "long unknown words (60-character tokens)": " ".join(["q" * 60] * 20_000),
    }
    odd: dict[str, dict[str, float]] = {}
    for name, text in pathological.items():
        doc = ParsedDocument("x.txt", "x", [Page(1, [Block(text, 1, "text", ())])], 1)
        chunks = chunker.chunk("d", doc)
        odd[name] = {
            "passages": len(chunks),
            "max_chars": max(len(c.text) for c in chunks),
            "max_tokens": max(c.n_tokens for c in chunks),
            "at_char_cap": sum(len(c.text) >= cap * 0.95 for c in chunks),
        }
    ratios.sort()
    result = {
        "date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "cpu": cpu_summary(),
        "machine": "busy",  # counts, not timings: the numbers do not depend on the machine
        "embedder": embedder.model_id,
        "embedder_window_tokens": embedder.max_tokens,
        "chunk_size_tokens": chunker.size,
        "context_reserve_tokens": CONTEXT_RESERVE_TOKENS,
        "char_cap": cap,
        "real_documents": len(files),
        "real_passages": len(ratios),
        "chars_per_token_median": round(statistics.median(ratios), 2),
        "chars_per_token_p99_9": round(ratios[int(len(ratios) * 0.999) - 1], 2),
        "chars_per_token_max": round(ratios[-1], 2),
        "longest_real_passage_chars": longest,
        "real_passages_over_window": over_window,
        "pathological": odd,
    }
    print(json.dumps(result, indent=1, ensure_ascii=False))
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "char-cap.json").write_text(json.dumps(result, indent=1, ensure_ascii=False) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
