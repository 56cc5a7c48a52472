"""GUI and OCR: a "needs OCR" document is re-indexed from the Library page, the page is highlighted.

Real Tesseract through the worker thread, on a generated image-only PDF.
"""

from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from pathlib import Path

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


@pytest.mark.skipif(not ocr.status().available, reason="Tesseract language data not installed")
def test_library_page_reindexes_a_needs_ocr_document_and_the_scan_is_highlighted(
    qtbot, engine: Engine, tmp_path: Path, monkeypatch
) -> None:
    scan = write_image_only_pdf(tmp_path / "faxed-letter.pdf")
    monkeypatch.setenv(ocr.ENV_SWITCH, "missing")
    [res] = engine.add([scan])
    assert res.status == "added" and "OCR is not installed" in res.message
    monkeypatch.delenv(ocr.ENV_SWITCH)

    window = MainWindow(engine)
    qtbot.addWidget(window)
    window.show()
    qtbot.waitExposed(window)
    qtbot.waitUntil(lambda: window.client.pending() == 0)
    lib = window.library_page
    model = lib.model
    status = model.data(model.index(0, DocumentTableModel.STATUS))
    assert "needs OCR" in status and "tesseract-ocr" in status
    assert not lib.reindex_button.isVisible()  # nothing selected
    lib.table.selectionModel().select(
        model.index(0, 0),
        QItemSelectionModel.SelectionFlag.Select | QItemSelectionModel.SelectionFlag.Rows,
    )
    assert lib.reindex_button.isVisible() and lib.reindex_button.isEnabled()

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
    assert lib.progress_panel.isVisible() and lib.cancel_button.isEnabled()
    qtbot.waitUntil(lambda: bool(ocr_events), timeout=SLOW)
    qtbot.waitUntil(lambda: "OCR of page 1 of 1" in lib.progress_label.text(), timeout=5_000)
    qtbot.waitUntil(lambda: not lib.adding, timeout=SLOW)
    timer.stop()
    assert ticks[0] - ocr_events[0][1] > 10  # the event loop kept turning while the page was read

    status = model.data(model.index(0, DocumentTableModel.STATUS))
    assert status.endswith("1 of 1 pages read by OCR"), status
    [doc] = engine.library.documents()
    assert doc.ocr_pages == 1 and not doc.needs_ocr
    hit = engine.search("peritoneal dialysis exchanges four times a day", 1)[0]
    assert hit.ocr

    view = PageView()
    qtbot.addWidget(view)
    assert view.show_document(doc.stored_path, 1, [hit.text])
    assert view.highlights >= 2 and "passage highlighted" in view.page_label.text()
    assert view.show_document(doc.stored_path, 1, [SCAN_SENTENCE]) and view.highlights >= 1
    assert window.shutdown()
