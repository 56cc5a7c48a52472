"""The first-run welcome page and following a folder from the Library page (offscreen, real engine)."""

from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from pathlib import Path

import pytest

pytest.importorskip("pytestqt")

from PySide6.QtWidgets import QFileDialog, QMessageBox

from kidneytalk import folders
from kidneytalk.engine import Engine, sample_document
from kidneytalk.ui.i18n import set_language
from kidneytalk.ui.main_window import MainWindow
from tests.fixtures_pdf import write_text_pdf
from tests.gui_window import open_window

SLOW = 120_000  # ms: ingest on a busy 2-core machine


@pytest.fixture
def window(qtbot, engine: Engine):
    w = open_window(qtbot, engine)
    yield w
    assert w.shutdown()


def test_empty_library_opens_on_the_welcome_page_which_says_where_the_data_lives(
    window: MainWindow,
) -> None:
    w = window
    page = w.welcome_page
    assert w.pages.currentWidget() is page and page.isVisible()
    assert not w.sidebar.selectedItems()
    w.sidebar.setFocus()  # focus does not take the user away from it
    assert w.pages.currentWidget() is page
    assert page.title.text() == "Welcome to KidneyTalk"
    facts = page.facts.text()
    assert str(w.engine.paths.data) in facts
    assert "Nothing leaves this computer" in facts
    assert "ready: no download" in facts and page.models_ready
    for button, text in (
        (page.add_button, "Add documents…"),
        (page.sample_button, "Try the sample document"),
        (page.follow_button, "Follow a folder…"),
    ):
        assert button.isVisible() and button.text() == text
    w.sidebar.setCurrentRow(1)  # the sidebar leads away from it...
    assert w.pages.currentWidget() is w.chat_page
    w.welcome_action.trigger()
    w.sidebar.itemPressed.emit(w.sidebar.item(1))  # even by a click on the entry that is current
    assert w.pages.currentWidget() is w.chat_page and w.sidebar.selectedItems() == [
        w.sidebar.item(1)
    ]
    w.welcome_action.trigger()  # ...and Help → Welcome back to it
    assert w.pages.currentWidget() is page


def test_try_the_sample_document_adds_it_and_the_welcome_page_gives_way(
    qtbot, window: MainWindow
) -> None:
    w = window
    w.welcome_page.sample_button.click()
    assert w.pages.currentWidget() is w.library_page  # the import's progress is shown there
    qtbot.waitUntil(
        lambda: w.library_page.model.rowCount() == 1 and not w.library_page.adding, timeout=SLOW
    )
    assert w.library_page.model.document(0).name == sample_document().name
    assert w.pages.currentWidget() is w.library_page
    w.show_welcome()  # still reachable from Help once the library has documents
    assert w.pages.currentWidget() is w.welcome_page


def test_welcome_page_in_chinese(qtbot, window: MainWindow) -> None:
    try:
        assert set_language("zh")
        page = window.welcome_page
        qtbot.waitUntil(lambda: page.title.text() == "欢迎使用 KidneyTalk")
        assert page.sample_button.text() != "Try the sample document"
        assert str(window.engine.paths.data) in page.facts.text()
    finally:
        set_language("en")


def test_follow_a_folder_adds_its_documents_and_follows_changes(
    qtbot, window: MainWindow, tmp_path: Path, monkeypatch
) -> None:
    docs = tmp_path / "guidelines"
    docs.mkdir()
    write_text_pdf(docs / "a.pdf", topic="acute kidney injury", pages=1)
    monkeypatch.setattr(QFileDialog, "getExistingDirectory", lambda *a, **k: str(docs))
    w = window
    page = w.library_page
    w.welcome_page.follow_button.click()  # → Library page → folder dialog → follow → first sync
    qtbot.waitUntil(lambda: page.model.rowCount() == 1, timeout=SLOW)
    qtbot.waitUntil(
        lambda: page.folder_list.count() == 1 and "in sync" in page.folder_list.item(0).text(),
        timeout=SLOW,
    )
    assert page.folders_panel.isVisible() and str(docs.resolve()) in page.folder_list.item(0).text()
    assert w.pages.currentWidget() is page

    # a new file and a deleted one; the setting is "ask": the page asks, "Remove from library" removes
    write_text_pdf(docs / "b.pdf", topic="renal replacement therapy", pages=1)
    (docs / "a.pdf").unlink()
    page.sync_button.click()
    qtbot.waitUntil(
        lambda: page.folder_box is not None and page.folder_box.isVisible(), timeout=SLOW
    )
    box = page.folder_box
    assert "a.pdf" in box.text()
    remove = next(
        b for b in box.buttons() if box.buttonRole(b) == QMessageBox.ButtonRole.DestructiveRole
    )
    remove.click()
    qtbot.waitUntil(
        lambda: [page.model.document(r).name for r in range(page.model.rowCount())] == ["b.pdf"],
        timeout=SLOW,
    )

    # the folder vanishes (a network drive unplugged): nothing is removed, the list says so
    docs.rename(tmp_path / "unplugged")
    page.sync_button.click()
    qtbot.waitUntil(
        lambda: "folder unavailable, retrying" in page.folder_list.item(0).text(), timeout=SLOW
    )
    assert page.model.rowCount() == 1
    qtbot.waitUntil(lambda: w.client.pending() == 0, timeout=SLOW)
    [state] = folders.followed(w.engine.library)
    assert state.status == folders.UNAVAILABLE and state.files == 1


def test_settings_page_offers_the_deleted_files_policy(qtbot, window: MainWindow) -> None:
    page = window.settings_page
    qtbot.waitUntil(lambda: page.settings is not None)
    box = page.fields["folders.remove_deleted"]
    assert [box.itemData(i) for i in range(box.count())] == ["ask", "always", "never"]
    assert box.currentData() == "ask"
    box.setCurrentIndex(box.findData("always"))
    assert page.form_settings().folders.remove_deleted == "always" and page.changed()


def test_opening_the_window_catches_up_with_changes_made_while_it_was_closed(
    qtbot, engine: Engine, tmp_path: Path
) -> None:
    docs = tmp_path / "followed"
    docs.mkdir()
    write_text_pdf(docs / "old.pdf", topic="kidney biopsy", pages=1)
    folders.follow(engine.library, docs)
    folders.sync(engine.library, remove_deleted=None)
    (docs / "old.pdf").rename(docs / "renamed.pdf")  # while no window is open
    write_text_pdf(docs / "new.pdf", topic="glomerulonephritis", pages=1)
    w = MainWindow(engine)
    qtbot.addWidget(w)
    w.show()
    try:
        page = w.library_page
        qtbot.waitUntil(
            lambda: (
                sorted(page.model.document(r).name for r in range(page.model.rowCount()))
                == ["new.pdf", "renamed.pdf"]
            ),
            timeout=SLOW,
        )
        assert w.pages.currentWidget() is page  # not the welcome page: the library has documents
        qtbot.waitUntil(
            lambda: page.folder_list.count() == 1 and "in sync" in page.folder_list.item(0).text()
        )
    finally:
        assert w.shutdown()
