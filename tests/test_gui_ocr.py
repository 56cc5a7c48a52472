"""GUI and OCR: a "needs OCR" document is re-indexed from the Library page, the page is highlighted.

Real Tesseract through the worker thread, on a generated image-only PDF.
"""

from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from types import SimpleNamespace

import pytest

pytest.importorskip("PySide6")
pytest.importorskip("pytestqt")

from PySide6.QtCore import QItemSelectionModel, QTimer

from kidneytalk import ocr
from kidneytalk.engine import Engine
from kidneytalk.records import ProgressEvent
from kidneytalk.ui.library_page import DocumentTableModel
from kidneytalk.ui.main_window import MainWindow
from kidneytalk.ui.page_view import PageView
from tests.test_ocr import SCAN_SENTENCE, write_image_only_pdf

SLOW = 180_000  # ms: OCR on a busy 2-core machine


pytestmark = pytest.mark.skipif(
    not ocr.status().available, reason="Tesseract language data not installed"
)


@pytest.fixture(scope="module")
def reindexed(module_qtbot, embedder, tmp_path_factory: pytest.TempPathFactory):
    """A scan added while OCR was missing, then re-indexed from the Library page, run once.
    Each step records what the page shows; the tests below check one behaviour each."""
    qtbot = module_qtbot
    folder = tmp_path_factory.mktemp("gui-ocr")
    engine = Engine(folder / "home", embedder=embedder)
    scan = write_image_only_pdf(folder / "faxed-letter.pdf")
    seen = SimpleNamespace()
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv(ocr.ENV_SWITCH, "missing")
        [seen.added] = engine.add([scan])

    window = MainWindow(engine)
    try:
        window.show()
        qtbot.waitExposed(window)
        qtbot.waitUntil(lambda: window.client.pending() == 0)
        lib = window.library_page
        model = lib.model
        seen.needs_ocr_status = model.data(model.index(0, DocumentTableModel.STATUS))
        seen.reindex_unselected = lib.reindex_button.isVisible()  # nothing selected
        lib.table.selectionModel().select(
            model.index(0, 0),
            QItemSelectionModel.SelectionFlag.Select | QItemSelectionModel.SelectionFlag.Rows,
        )
        seen.reindex_selected = (lib.reindex_button.isVisible(), lib.reindex_button.isEnabled())

        ticks = [0]
        timer = QTimer()
        timer.timeout.connect(lambda: ticks.__setitem__(0, ticks[0] + 1))
        timer.start(20)
        ocr_events: list[tuple[ProgressEvent, int]] = []
        window.client.job_started.connect(
            lambda job: job.progress.connect(
                lambda e: (
                    ocr_events.append((e, ticks[0]))
                    if isinstance(e, ProgressEvent) and e.stage == "ocr"
                    else None
                )
            )
        )
        lib.reindex_button.click()
        seen.while_reindexing = (lib.progress_panel.isVisible(), lib.cancel_button.isEnabled())
        qtbot.waitUntil(lambda: bool(ocr_events), timeout=SLOW)
        seen.page_progress_shown = _shown_within(
            qtbot, lambda: "OCR of page 1 of 1" in lib.progress_label.text(), 5_000
        )
        qtbot.waitUntil(lambda: not lib.adding, timeout=SLOW)
        timer.stop()
        seen.ticks_while_reading = ticks[0] - ocr_events[0][1]

        seen.status = model.data(model.index(0, DocumentTableModel.STATUS))
        [seen.doc] = engine.library.documents()
        seen.hit = engine.search("peritoneal dialysis exchanges four times a day", 1)[0]

        view = PageView()
        try:
            seen.passage_shown = view.show_document(seen.doc.stored_path, 1, [seen.hit.text])
            seen.passage_highlights, seen.page_label = view.highlights, view.page_label.text()
            seen.sentence_shown = view.show_document(seen.doc.stored_path, 1, [SCAN_SENTENCE])
            seen.sentence_highlights = view.highlights
        finally:
            view.close()
    finally:
        seen.shut_down = window.shutdown()
        window.close()
        engine.close()
    yield seen


def _shown_within(qtbot, condition, timeout: int) -> bool:
    try:
        qtbot.waitUntil(condition, timeout=timeout)
    except qtbot.TimeoutError:
        return False
    return True


def test_a_scan_added_without_ocr_is_kept_and_the_result_says_ocr_is_missing(reindexed) -> None:
    assert reindexed.added.status == "added"
    assert "OCR is not installed" in reindexed.added.message


def test_a_document_that_needs_ocr_says_so_and_names_the_package(reindexed) -> None:
    status = reindexed.needs_ocr_status
    assert "needs OCR" in status and "tesseract-ocr" in status


def test_reindex_is_offered_once_a_document_is_selected(reindexed) -> None:
    assert not reindexed.reindex_unselected
    assert reindexed.reindex_selected == (True, True)  # visible and enabled


def test_reindexing_shows_its_progress_page_by_page_and_can_be_cancelled(reindexed) -> None:
    assert reindexed.while_reindexing == (True, True)  # progress shown, Cancel enabled
    assert reindexed.page_progress_shown


def test_the_window_keeps_responding_while_a_page_is_read_by_ocr(reindexed) -> None:
    assert reindexed.ticks_while_reading > 10  # the event loop kept turning


def test_a_reindexed_scan_says_how_many_pages_ocr_read(reindexed) -> None:
    assert reindexed.status.endswith("1 of 1 pages read by OCR"), reindexed.status
    assert reindexed.doc.ocr_pages == 1 and not reindexed.doc.needs_ocr


def test_a_passage_read_by_ocr_is_found_and_marked_as_ocr(reindexed) -> None:
    assert reindexed.hit.ocr


def test_the_page_view_highlights_an_ocr_passage_on_the_scanned_page(reindexed) -> None:
    assert reindexed.passage_shown
    assert reindexed.passage_highlights >= 2 and "passage highlighted" in reindexed.page_label
    assert reindexed.sentence_shown and reindexed.sentence_highlights >= 1
    assert reindexed.shut_down
