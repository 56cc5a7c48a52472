"""Models, Settings and Evaluation pages, translations and window state, driven like a user would.

Every engine call runs in the app's worker thread; the tests click, type and
wait (``qtbot.waitUntil``) for what the window shows. The real bundled GGUF
model is read for its metadata; no test here loads an LLM except the
evaluation run.
"""

from __future__ import annotations

import json
import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from pathlib import Path

import pytest

pytest.importorskip("PySide6")
pytest.importorskip("pytestqt")

from PySide6.QtCore import Qt

from kidneytalk.config import Settings
from kidneytalk.engine import Engine
from kidneytalk.models import DEFAULT_MODEL, ModelRegistry, bundled_model_path
from kidneytalk.ui.i18n import set_language
from kidneytalk.ui.main_window import MainWindow
from kidneytalk.ui.models_page import ModelsPage
from kidneytalk.ui.workers import AskStage, Job, stage_label

SLOW = 120_000  # ms


def _open(qtbot, engine: Engine) -> MainWindow:
    window = MainWindow(engine)
    qtbot.addWidget(window)
    window.show()
    qtbot.waitExposed(window)
    qtbot.waitUntil(lambda: window.client.pending() == 0, timeout=SLOW)
    return window


@pytest.fixture
def window(qtbot, tmp_path: Path):
    """A window on a fresh home; no model is loaded unless a test asks a question."""
    engine = Engine(tmp_path / "home")
    window = _open(qtbot, engine)
    yield window
    assert window.shutdown()
    engine.close()


@pytest.fixture(autouse=True)
def _english_afterwards():
    """The translator is application-wide: leave the next test in English."""
    yield
    set_language("en")


def _bundled() -> Path:
    path = bundled_model_path()
    if path is None:
        pytest.skip("bundled SmolLM2 model not installed")
    return path


def _row_texts(page: ModelsPage, row: int) -> list[str]:
    return [page.table.item(row, c).text() for c in range(page.table.columnCount())]


def test_models_page_lists_the_bundled_model_with_its_metadata(window: MainWindow) -> None:
    _bundled()
    page = window.models_page
    assert page.snapshot is not None
    texts = _row_texts(page, 0)
    assert texts[page.NAME] == f"★ {DEFAULT_MODEL}"
    assert texts[page.ARCH] == "llama"
    assert texts[page.PARAMS] == "135M"
    assert texts[page.QUANT] == "Q4_1"
    assert texts[page.CONTEXT] == "8,192"
    assert texts[page.SIZE].endswith("MB")
    assert "fits" in texts[page.MEMORY]
    page.table.selectRow(0)
    assert not page.remove_button.isEnabled()  # the bundled model cannot be removed
    assert not page.default_button.isEnabled()  # already the default


def test_added_model_becomes_default_and_it_persists(
    qtbot, window: MainWindow, tmp_path: Path
) -> None:
    bundled = _bundled()
    copy = tmp_path / "my-model.gguf"
    copy.symlink_to(bundled)
    page = window.models_page
    known = [
        e.name for e in ModelRegistry(window.engine.paths).entries()
    ]  # the bundled ones (SmolLM2, Gemma 3)
    page.add_model_file(copy)
    qtbot.waitUntil(
        lambda: page.snapshot is not None and len(page.snapshot.rows) == len(known) + 1,
        timeout=SLOW,
    )
    names = [r.name for r in page.snapshot.rows]
    assert names == [*known, "my-model"] and names[0] == DEFAULT_MODEL
    row = len(known)
    page.table.selectRow(row)
    assert page.remove_button.isEnabled()
    page.default_button.click()
    qtbot.waitUntil(lambda: page.snapshot.rows[row].default, timeout=SLOW)
    assert page.table.item(row, page.NAME).text() == "★ my-model"
    assert ModelRegistry(window.engine.paths).default_name() == "my-model"

    # generation settings are saved to settings.json and reach the engine
    page.temperature.setValue(0.3)
    page.n_ctx.setValue(2048)
    page.save_button.click()
    qtbot.waitUntil(lambda: page.snapshot.llm.n_ctx == 2048, timeout=SLOW)
    saved = Settings.load(window.engine.paths)
    assert (saved.llm.temperature, saved.llm.n_ctx) == (0.3, 2048)
    assert window.engine.settings.llm.n_ctx == 2048
    assert not page.save_button.isEnabled()
    data = json.loads((window.engine.paths.config / "models.json").read_text())
    assert data["default"] == "my-model"


def test_settings_are_saved_and_reloaded(qtbot, window: MainWindow, tmp_path: Path) -> None:
    page = window.settings_page
    qtbot.waitUntil(lambda: page.settings is not None)
    assert not page.save_button.isEnabled()
    page.fields["retrieval.judge"].setChecked(False)
    assert not page.fields["retrieval.judge_threshold"].isEnabled()  # follows its switch
    page.fields["retrieval.n_divergent"].setValue(5)
    page.fields["retrieval.min_similarity"].setValue(0.35)
    page.fields["chunk.size_tokens"].setValue(300)
    assert page.reindex_note.isVisibleTo(page)  # changing passages needs a re-index
    assert page.save_button.isEnabled()
    page.save_button.click()
    qtbot.waitUntil(
        lambda: page.settings is not None and page.settings.chunk.size_tokens == 300, timeout=SLOW
    )
    assert not page.save_button.isEnabled()
    assert window.engine.settings.retrieval.judge is False  # the engine uses them from now on
    assert window.engine.library.settings.chunk.size_tokens == 300

    saved = Settings.load(window.engine.paths)
    assert (saved.retrieval.judge, saved.retrieval.n_divergent, saved.retrieval.min_similarity) == (
        False,
        5,
        0.35,
    )
    # a new window on the same home shows them
    window.shutdown()
    engine = Engine(window.engine.paths.config.parent)
    again = _open(qtbot, engine)
    try:
        page = again.settings_page
        qtbot.waitUntil(lambda: page.settings is not None)
        assert page.fields["retrieval.judge"].isChecked() is False
        assert page.fields["retrieval.n_divergent"].value() == 5
        assert page.fields["chunk.size_tokens"].value() == 300
        page.fields["chunk.size_tokens"].setValue(400)
        page.revert_button.click()
        assert page.fields["chunk.size_tokens"].value() == 300
    finally:
        again.shutdown()
        engine.close()


def test_moving_the_library_folder_applies_from_the_next_start(
    qtbot, window: MainWindow, tmp_path: Path, monkeypatch
) -> None:
    from PySide6.QtWidgets import QMessageBox

    from kidneytalk.config import Paths

    page = window.settings_page
    told: list[str] = []
    monkeypatch.setattr(QMessageBox, "information", lambda _parent, _title, text: told.append(text))
    home = window.engine.paths.config.parent
    assert not page.data_default.isEnabled() and page.data_pending.text() == ""
    page.set_data_folder(str(tmp_path / "secure" / "kt"))
    target = (tmp_path / "secure" / "kt").resolve()
    assert (
        Paths.resolve(home).data == target and window.engine.paths.data != target
    )  # not before a restart
    assert (
        str(target) in page.data_pending.text()
        and told
        and str(window.engine.paths.data) in told[0]
    )
    assert page.data_default.isEnabled()
    page.data_default.click()
    assert Paths.resolve(home).data == window.engine.paths.data and page.data_pending.text() == ""


def test_prompt_template_override_and_reset(qtbot, window: MainWindow) -> None:
    from kidneytalk.prompts import PromptBook, builtin

    page = window.settings_page
    page.template.setCurrentIndex(page.template.findData("refusal_en"))
    assert page.template_edit.toPlainText() == builtin("refusal_en")
    assert not page.template_reset.isEnabled()
    page.template_edit.setPlainText("Nothing about this in your guidelines.")
    assert "edited" in page.template_state.text()
    page.template_save.click()
    file = window.engine.paths.prompts / "refusal_en.txt"
    assert file.read_text() == "Nothing about this in your guidelines."
    assert (
        PromptBook("en", window.engine.paths.prompts).get("refusal")
        == "Nothing about this in your guidelines."
    )
    assert page.template_state.text() == "your version"
    page.template.setCurrentIndex(page.template.findData("judge_en"))
    page.template.setCurrentIndex(page.template.findData("refusal_en"))
    assert page.template_edit.toPlainText() == "Nothing about this in your guidelines."
    page.template_reset.click()
    assert not file.exists()
    assert page.template_edit.toPlainText() == builtin("refusal_en")
    assert page.template_state.text() == "built-in"


def test_switching_language_translates_the_window_and_back(qtbot, window: MainWindow) -> None:
    page = window.settings_page
    qtbot.waitUntil(lambda: page.settings is not None)
    assert window.sidebar.item(0).text() == "Library"
    page.language.setCurrentIndex(page.language.findData("zh"))
    qtbot.waitUntil(lambda: window.sidebar.item(0).text() == "资料库", timeout=SLOW)
    assert window.library_page.add_button.text() == "添加文档…"
    assert window.models_page.title.text() == "模型"
    assert page.save_button.text() == "保存"
    header = window.library_page.model.headerData(1, Qt.Orientation.Horizontal)
    assert header == "文档"
    chat = window.chat_page
    assert chat.send_button.text() == "发送" and chat.mode_label.text() == "检索："
    assert (
        chat.new_button.text() == "+  新建对话" and chat.title_label.full_text == "新对话"
    )  # a new chat's title
    assert chat.evidence.open_button.text() == "放大查看…"
    assert stage_label(AskStage("judge", "Judging relevance 3/8…", 3, 8)) == "正在判断相关性 3/8…"
    assert stage_label(AskStage("searching", "Searching your library…")) == "正在检索资料库…"
    assert window.evaluation_page.sample.text() == "随机抽样"
    assert Settings.load(window.engine.paths).language == "zh"

    page.language.setCurrentIndex(page.language.findData("en"))
    qtbot.waitUntil(lambda: window.sidebar.item(0).text() == "Library", timeout=SLOW)
    assert window.library_page.add_button.text() == "Add documents…"
    assert chat.send_button.text() == "Send"
    assert (
        stage_label(AskStage("judge", "Judging relevance 3/8…", 3, 8)) == "Judging relevance 3/8…"
    )
    assert Settings.load(window.engine.paths).language == "en"


def test_saved_language_applies_at_start(qtbot, tmp_path: Path) -> None:
    home = tmp_path / "home"
    engine = Engine(home)
    engine.settings.replace(language="zh").save(engine.paths)
    engine.close()
    engine = Engine(home)
    window = _open(qtbot, engine)
    try:
        assert window.sidebar.item(4).text() == "设置"
        assert window.settings_page.title.text() == "设置"
    finally:
        window.shutdown()
        engine.close()


def test_library_in_chinese_after_adding_a_pdf(qtbot, engine: Engine) -> None:
    from kidneytalk.ui.library_page import DocumentTableModel

    from .conftest import shared_pdf

    window = _open(qtbot, engine)
    try:
        page = window.library_page
        page.add_paths([shared_pdf(1)])
        qtbot.waitUntil(lambda: page.model.rowCount() == 1 and not page.adding, timeout=SLOW)
        status = page.model.index(0, DocumentTableModel.STATUS)
        assert page.model.data(status) == "ready"
        assert page.summary.text().startswith("1 document · ")
        set_language("zh")
        qtbot.waitUntil(lambda: page.title.text() == "资料库")
        assert page.model.data(status) == "就绪"
        assert page.summary.text().startswith("1 个文档 · ")
        assert page.model.headerData(DocumentTableModel.NAME, Qt.Orientation.Horizontal) == "文档"
    finally:
        window.shutdown()


def test_window_size_and_page_persist_across_restarts(qtbot, tmp_path: Path) -> None:
    home = tmp_path / "home"
    engine = Engine(home)
    window = _open(qtbot, engine)
    window.resize(780, 560)  # inside the offscreen screen (800x600)
    window.show_page(window.models_page)
    window.close()  # saves the state like quitting does
    engine.close()
    assert (engine.paths.config / "window.ini").is_file()

    engine = Engine(home)
    again = _open(qtbot, engine)
    try:
        assert (again.width(), again.height()) == (780, 560)
        assert again.pages.currentWidget() is again.models_page
    finally:
        again.shutdown()
        engine.close()


def test_evaluation_runs_then_continues_an_earlier_run_and_samples_with_a_seed(
    qtbot, engine: Engine, tmp_path: Path
) -> None:
    pytest.importorskip("kidneytalk.evaluation")
    from .conftest import QUESTIONS, shared_pdf

    window = _open(qtbot, engine)
    try:
        window.library_page.add_paths([shared_pdf(12), shared_pdf(15)])
        qtbot.waitUntil(
            lambda: window.library_page.model.rowCount() == 2 and not window.library_page.adding,
            timeout=SLOW,
        )
        page = window.evaluation_page
        window.show_page(page)
        assert not page.run_button.isEnabled()  # no file yet
        page.file_edit.setText(str(QUESTIONS))
        page.mode_boxes["hybrid"].setChecked(True)
        page.retrieval_only.setChecked(True)
        assert not page.mode_boxes["no-rag"].isEnabled()
        page.limit.setValue(2)
        page.run_button.click()
        assert page.cancel_button.isEnabled()
        qtbot.waitUntil(lambda: not page.running, timeout=SLOW)
        assert page.error_box is None
        assert page.summary is not None and page.summary.complete
        modes = [page.table.item(r, 0).text() for r in range(page.table.rowCount())]
        assert modes == ["naive", "hybrid"]
        headers = [
            page.table.horizontalHeaderItem(c).text() for c in range(page.table.columnCount())
        ]
        assert "gold page found" in headers
        assert page.table.item(0, 1).text() == "2"  # two questions
        assert page.progress_bar.value() == page.progress_bar.maximum()
        assert "Finished" in page.progress_label.text()
        first = page.summary.out_dir
        assert first.is_relative_to(window.engine.paths.data / "evaluations")
        assert page.plot_files() and all(Path(p).is_file() for p in page.plot_files())
        assert page.open_folder_button.isEnabled()
        # the models known to the registry can be chosen; the default one is named
        names = [page.model_box.itemData(i) for i in range(page.model_box.count())]
        assert names[0] == "" and DEFAULT_MODEL in names
        assert DEFAULT_MODEL in page.model_box.itemText(0)

        # Continue the earlier run with one more question: the form is filled from its folder,
        # the two finished questions are kept and only the third is run.
        page.file_edit.clear()
        page.mode_boxes["hybrid"].setChecked(False)
        index = page.run_folder.findData(str(first))
        assert index > 0 and "4 answers" in page.run_folder.itemText(index)
        page.run_folder.setCurrentIndex(index)
        page.run_folder.activated.emit(index)  # what choosing it with the mouse does
        assert page.file_edit.text() == str(QUESTIONS)
        assert page.chosen_modes() == ["naive", "hybrid"] and page.retrieval_only.isChecked()
        assert page.limit.value() == 2 and page.run_button.text() == "Continue run"
        assert page.summary.out_dir == first  # its last report is shown
        progress: list[object] = []
        window.client.job_started.connect(lambda job: job.progress.connect(progress.append))
        page.limit.setValue(3)
        page.run_button.click()
        qtbot.waitUntil(lambda: not page.running, timeout=SLOW)
        assert page.error_box is None and page.summary.complete
        assert page.summary.out_dir == first and page.table.item(0, 1).text() == "3"
        assert progress and progress[-1].resumed == 4 and progress[-1].total == 6
        assert page.run_folder.currentIndex() == 0  # finished: the next run is a new one

        # A seeded random sample, in a new folder, with the model chosen by name.
        page.mode_boxes["hybrid"].setChecked(False)
        page.model_box.setCurrentIndex(page.model_box.findData(DEFAULT_MODEL))
        page.limit.setValue(2)
        page.sample.setChecked(True)
        assert page.seed.isEnabled()
        page.seed.setValue(5)
        page.run_button.click()
        qtbot.waitUntil(lambda: not page.running, timeout=SLOW)
        assert page.error_box is None and page.summary.out_dir != first
        request = json.loads((page.summary.out_dir / "request.json").read_text(encoding="utf-8"))
        assert (request["sample"], request["seed"], request["limit"]) == (2, 5, None)
        assert request["model"] == DEFAULT_MODEL and request["modes"] == ["naive"]
        run = json.loads((page.summary.out_dir / "run.json").read_text(encoding="utf-8"))
        assert run["order"] == "shuffled (seed 5)"
        assert page.table.item(0, 1).text() == "2"
    finally:
        window.shutdown()


@pytest.mark.model
def test_new_context_length_makes_the_engine_thread_reload_the_model(
    qtbot, window: MainWindow
) -> None:
    _bundled()
    loaded: list[str] = []
    window.client.start(Job("test_load", lambda ctx: ctx.engine.llm().name), done=loaded.append)
    qtbot.waitUntil(lambda: bool(loaded), timeout=SLOW)
    assert window.engine.llm_name == DEFAULT_MODEL

    page = window.models_page
    page.temperature.setValue(0.2)  # applies at the next answer: the model stays loaded
    page.save_button.click()
    qtbot.waitUntil(lambda: page.snapshot.llm.temperature == 0.2, timeout=SLOW)
    assert window.engine.llm_name == DEFAULT_MODEL
    page.table.selectRow(0)
    assert "loaded now" in page.details.text()

    page.n_ctx.setValue(1024)  # needs a reload: unloaded now, in the engine thread
    page.save_button.click()
    qtbot.waitUntil(lambda: page.snapshot.llm.n_ctx == 1024, timeout=SLOW)
    assert window.engine.llm_name == ""
    assert "loaded now" not in page.details.text()
