"""Bounded memory while embedding: padded-token batches, freed memory handed back (issue 12)."""

from __future__ import annotations

import numpy as np
import pytest

from kidneytalk import embed as embed_mod
from kidneytalk.embed import MAX_BATCH_TOKENS, Embedder, token_batches
from kidneytalk.memory import give_back


def test_token_batches_keep_both_bounds_and_every_text_once():
    lengths = [256, 12, 256, 40, 180, 256, 7, 100, 256, 256, 30, 64]
    batches = token_batches(lengths, max_texts=4, max_tokens=600)
    flat = [i for b in batches for i in b]
    assert sorted(flat) == list(range(len(lengths)))
    assert [lengths[i] for i in flat] == sorted(lengths, reverse=True)  # longest first
    for b in batches:
        assert len(b) <= 4
        assert len(b) == 1 or len(b) * max(lengths[i] for i in b) <= 600
    # 256-token texts two at a time (the fifth with the 180), short ones four at a time
    assert [len(b) for b in batches] == [2, 2, 2, 4, 2]
    assert token_batches([], 4, 600) == []
    assert token_batches([900], 4, 600) == [[0]]  # longer than the budget alone: still embedded


@pytest.fixture(scope="module")
def fp32() -> Embedder:
    emb = Embedder(precision="fp32", batch_size=64)
    yield emb
    emb.close()


def test_torch_passes_stay_within_the_token_budget_and_vectors_do_not_change(
    fp32: Embedder, monkeypatch: pytest.MonkeyPatch
):
    words = "glomerular filtration albuminuria dialysis potassium transplant".split()
    texts = [" ".join(words[j % 6] for j in range(n)) for n in (230, 3, 120, 230, 9, 60) * 6]
    lengths = fp32.padded_lengths(texts)
    assert max(lengths) == fp32.max_tokens  # some texts fill the model's window

    passes: list[int] = []
    encode = fp32._model.encode

    def counting(batch: list[str], **kw: object) -> object:
        passes.append(len(batch) * max(fp32.padded_lengths(batch)))
        return encode(batch, **kw)

    monkeypatch.setattr(fp32._model, "encode", counting)
    together = fp32.embed(texts)
    monkeypatch.undo()
    assert len(passes) > 1
    assert max(passes) <= MAX_BATCH_TOKENS
    alone = np.stack([fp32.embed([t])[0] for t in texts[:6]])
    assert together.shape == (len(texts), fp32.dimension)
    np.testing.assert_allclose(together[:6], alone, atol=1e-5)  # right rows, same vectors
    np.testing.assert_allclose(together[6:12], together[:6], atol=1e-5)


def test_freed_memory_is_handed_back_after_a_batch(monkeypatch: pytest.MonkeyPatch, fp32: Embedder):
    assert give_back()  # glibc Linux: malloc_trim is there
    calls: list[int] = []
    monkeypatch.setattr(embed_mod, "give_back", lambda: calls.append(1) or True)
    fp32.embed(["one passage", "another passage"])
    fp32.embed_query("a question")  # one text: nothing to hand back
    assert calls == [1]
