"""The catalog hands the harness and the benchmarks typed, frozen records, not database rows."""

from __future__ import annotations

import dataclasses

import pytest

from kidneytalk.catalog import StoredPassage
from tests.conftest import shared_pdf


def test_passages_are_frozen_records_matching_what_search_found(engine) -> None:
    engine.add([shared_pdf(12)])
    hits = engine.search("helicopter endotracheal intubation", k=2)
    with engine.library.reading():
        found = engine.library.catalog.passages([h.chunk_id for h in hits] + ["no-such:00000"])
    assert set(found) == {h.chunk_id for h in hits}  # an unknown id is left out
    for hit in hits:
        passage = found[hit.chunk_id]
        assert isinstance(passage, StoredPassage)
        assert (passage.doc_name, passage.page_start, passage.page_end, passage.text) == (
            hit.doc_name,
            hit.page_start,
            hit.page_end,
            hit.text,
        )
        assert list(passage.pages) == list(range(hit.page_start, hit.page_end + 1))
        with pytest.raises(dataclasses.FrozenInstanceError):
            passage.text = "changed"  # type: ignore[misc]
