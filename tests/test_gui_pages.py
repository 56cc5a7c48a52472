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
from types import SimpleNamespace

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
from tests.gui_window import open_window

SLOW = 120_000  # ms


@pytest.fixture
def window(qtbot, tmp_path: Path):
    """A window on a fresh home; no model is loaded unless a test asks a question."""
    engine = Engine(tmp_path / "home")
    window = open_window(qtbot, engine)
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
    again = open_window(qtbot, engine)
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


def test_the_settings_page_refuses_bad_values_and_saves_nothing(qtbot, window: MainWindow) -> None:
    from PySide6.QtTest import QTest

    page = window.settings_page
    qtbot.waitUntil(lambda: page.settings is not None)
    settings_file = window.engine.paths.config / "settings.json"
    before = settings_file.read_bytes() if settings_file.exists() else None

    # typed out of range: the box keeps a valid value (validated as the user types)
    top_k = page.fields["top_k"]
    top_k.lineEdit().selectAll()
    QTest.keyClicks(top_k.lineEdit(), "-5")  # the minus sign is refused as it is typed
    QTest.keyClick(top_k.lineEdit(), Qt.Key.Key_Return)
    assert top_k.value() == 5 and "-" not in top_k.text()
    top_k.lineEdit().selectAll()
    QTest.keyClicks(top_k.lineEdit(), "five")  # so are letters
    QTest.keyClick(top_k.lineEdit(), Qt.Key.Key_Return)
    assert top_k.value() == 5
    top_k.lineEdit().selectAll()
    QTest.keyClicks(top_k.lineEdit(), "5000")  # and a number over the range
    QTest.keyClick(top_k.lineEdit(), Qt.Key.Key_Return)
    assert 1 <= top_k.value() <= 50

    # valid one by one, invalid together: refused with the rule, nothing saved
    page.fields["chunk.size_tokens"].setValue(100)
    page.fields["chunk.overlap_tokens"].setValue(200)
    assert page.save_button.isEnabled()
    page.save_button.click()
    qtbot.waitUntil(lambda: page.error_box is not None and page.error_box.isVisible())
    assert page.error_box.windowTitle() == "Cannot save"
    assert "overlap must be smaller than the passage size" in page.error_box.text()
    page.error_box.close()
    assert window.client.pending() == 0
    assert (settings_file.read_bytes() if settings_file.exists() else None) == before
    assert window.engine.settings.chunk == Settings().chunk
    assert page.save_button.isEnabled()  # the edits stay in the form to correct


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
    window = open_window(qtbot, engine)
    try:
        assert window.sidebar.item(4).text() == "设置"
        assert window.settings_page.title.text() == "设置"
    finally:
        window.shutdown()
        engine.close()


def test_library_in_chinese_after_adding_a_pdf(qtbot, engine: Engine) -> None:
    from kidneytalk.ui.library_page import DocumentTableModel

    from .conftest import shared_pdf

    window = open_window(qtbot, engine)
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


def test_library_summary_says_one_page_in_the_singular(
    qtbot, engine: Engine, tmp_path: Path
) -> None:
    from tests.fixtures_pdf import write_text_pdf

    window = open_window(qtbot, engine)
    try:
        page = window.library_page
        page.add_paths([write_text_pdf(tmp_path / "one.pdf", pages=1)])
        qtbot.waitUntil(lambda: page.model.rowCount() == 1 and not page.adding, timeout=SLOW)
        assert page.summary.text() == "1 document · 1 page · 1 used for answers"
        set_language("zh")
        qtbot.waitUntil(lambda: page.title.text() == "资料库")
        assert page.summary.text() == "1 个文档 · 1 页 · 1 个用于回答"
    finally:
        set_language("en")
        window.shutdown()


def test_window_size_and_page_persist_across_restarts(qtbot, tmp_path: Path) -> None:
    home = tmp_path / "home"
    engine = Engine(home)
    window = open_window(qtbot, engine)
    window.resize(780, 560)  # inside the offscreen screen (800x600)
    window.show_page(window.models_page)
    window.close()  # saves the state like quitting does
    engine.close()
    assert (engine.paths.config / "window.ini").is_file()

    engine = Engine(home)
    again = open_window(qtbot, engine)
    try:
        assert (again.width(), again.height()) == (780, 560)
        assert again.pages.currentWidget() is again.models_page
    finally:
        again.shutdown()
        engine.close()


@pytest.fixture(scope="module")
def evaluation(module_qtbot, embedder, tmp_path_factory: pytest.TempPathFactory):
    """Evaluation page story, run once: a retrieval-only run, continued with one more question,
    then a seeded sample with the model chosen by name. Each step records what the page shows;
    the tests below check one behaviour each."""
    pytest.importorskip("kidneytalk.evaluation")
    from .conftest import QUESTIONS, shared_pdf

    qtbot = module_qtbot
    engine = Engine(tmp_path_factory.mktemp("evaluation") / "home", embedder=embedder)
    window = open_window(qtbot, engine)
    seen = SimpleNamespace(questions=QUESTIONS)
    try:
        window.library_page.add_paths([shared_pdf(12), shared_pdf(15)])
        qtbot.waitUntil(
            lambda: window.library_page.model.rowCount() == 2 and not window.library_page.adding,
            timeout=SLOW,
        )
        page = window.evaluation_page
        window.show_page(page)
        seen.runnable_without_file = page.run_button.isEnabled()
        page.file_edit.setText(str(QUESTIONS))
        page.mode_boxes["hybrid"].setChecked(True)
        page.retrieval_only.setChecked(True)
        seen.no_rag_enabled = page.mode_boxes["no-rag"].isEnabled()
        page.limit.setValue(2)
        page.run_button.click()
        seen.cancellable = page.cancel_button.isEnabled()
        qtbot.waitUntil(lambda: not page.running, timeout=SLOW)
        seen.first = _shown_run(page)
        seen.progress_full = page.progress_bar.value() == page.progress_bar.maximum()
        seen.progress_label = page.progress_label.text()
        seen.evaluations = window.engine.paths.data / "evaluations"
        seen.plots = page.plot_files()
        seen.open_folder_enabled = page.open_folder_button.isEnabled()
        # the models known to the registry can be chosen; the default one is named
        seen.model_names = [page.model_box.itemData(i) for i in range(page.model_box.count())]
        seen.first_model_text = page.model_box.itemText(0)
        first = seen.first.out_dir

        # Continue the earlier run with one more question: the form is filled from its folder,
        # the two finished questions are kept and only the third is run.
        page.file_edit.clear()
        page.mode_boxes["hybrid"].setChecked(False)
        index = page.run_folder.findData(str(first))
        seen.folder_entry = (index, page.run_folder.itemText(index))
        page.run_folder.setCurrentIndex(index)
        page.run_folder.activated.emit(index)  # what choosing it with the mouse does
        seen.form = SimpleNamespace(
            file=page.file_edit.text(),
            modes=page.chosen_modes(),
            retrieval_only=page.retrieval_only.isChecked(),
            limit=page.limit.value(),
            button=page.run_button.text(),
            shown_run=page.summary.out_dir,
        )
        progress: list[object] = []
        window.client.job_started.connect(lambda job: job.progress.connect(progress.append))
        page.limit.setValue(3)
        page.run_button.click()
        qtbot.waitUntil(lambda: not page.running, timeout=SLOW)
        seen.continued = _shown_run(page)
        seen.continued_progress = progress[-1] if progress else None
        seen.folder_after_continuing = page.run_folder.currentIndex()

        # A seeded random sample, in a new folder, with the model chosen by name.
        page.mode_boxes["hybrid"].setChecked(False)
        page.model_box.setCurrentIndex(page.model_box.findData(DEFAULT_MODEL))
        page.limit.setValue(2)
        page.sample.setChecked(True)
        seen.seed_enabled = page.seed.isEnabled()
        page.seed.setValue(5)
        page.run_button.click()
        qtbot.waitUntil(lambda: not page.running, timeout=SLOW)
        seen.sample = _shown_run(page)
        out = page.summary.out_dir
        seen.request = json.loads((out / "request.json").read_text(encoding="utf-8"))
        seen.run = json.loads((out / "run.json").read_text(encoding="utf-8"))
    finally:
        window.shutdown()
        engine.close()
    yield seen


def _shown_run(page) -> SimpleNamespace:
    """What the evaluation page shows of its last run."""
    table = page.table
    return SimpleNamespace(
        error=page.error_box,
        complete=page.summary is not None and page.summary.complete,
        out_dir=page.summary.out_dir if page.summary is not None else None,
        modes=[table.item(r, 0).text() for r in range(table.rowCount())],
        headers=[table.horizontalHeaderItem(c).text() for c in range(table.columnCount())],
        questions=table.item(0, 1).text(),
    )


def test_an_evaluation_cannot_start_before_a_question_file_is_chosen(evaluation) -> None:
    assert not evaluation.runnable_without_file


def test_retrieval_only_leaves_out_the_mode_without_retrieval(evaluation) -> None:
    assert not evaluation.no_rag_enabled


def test_a_running_evaluation_can_be_cancelled(evaluation) -> None:
    assert evaluation.cancellable


def test_a_finished_run_shows_one_row_per_mode_with_its_question_count(evaluation) -> None:
    first = evaluation.first
    assert first.error is None and first.complete
    assert first.modes == ["naive", "hybrid"]
    assert "gold page found" in first.headers
    assert first.questions == "2"  # two questions


def test_a_finished_run_fills_the_progress_bar_and_says_finished(evaluation) -> None:
    assert evaluation.progress_full
    assert "Finished" in evaluation.progress_label


def test_a_run_is_kept_under_the_evaluations_folder_with_its_plots(evaluation) -> None:
    assert evaluation.first.out_dir.is_relative_to(evaluation.evaluations)
    assert evaluation.plots and all(Path(p).is_file() for p in evaluation.plots)
    assert evaluation.open_folder_enabled


def test_the_model_box_offers_the_registry_models_and_names_the_default(evaluation) -> None:
    assert evaluation.model_names[0] == "" and DEFAULT_MODEL in evaluation.model_names
    assert DEFAULT_MODEL in evaluation.first_model_text


def test_choosing_an_earlier_run_fills_the_form_from_its_folder(evaluation) -> None:
    index, label = evaluation.folder_entry
    assert index > 0 and "4 answers" in label
    form = evaluation.form
    assert form.file == str(evaluation.questions)
    assert form.modes == ["naive", "hybrid"] and form.retrieval_only
    assert form.limit == 2 and form.button == "Continue run"
    assert form.shown_run == evaluation.first.out_dir  # its last report is shown


def test_continuing_a_run_keeps_its_answers_and_runs_only_the_new_question(evaluation) -> None:
    continued = evaluation.continued
    assert continued.error is None and continued.complete
    assert continued.out_dir == evaluation.first.out_dir and continued.questions == "3"
    progress = evaluation.continued_progress
    assert progress is not None and progress.resumed == 4 and progress.total == 6
    assert evaluation.folder_after_continuing == 0  # finished: the next run is a new one


def test_a_seeded_sample_runs_in_a_new_folder_and_records_its_request(evaluation) -> None:
    assert evaluation.seed_enabled
    sample = evaluation.sample
    assert sample.error is None and sample.out_dir != evaluation.first.out_dir
    request = evaluation.request
    assert (request["sample"], request["seed"], request["limit"]) == (2, 5, None)
    assert request["model"] == DEFAULT_MODEL and request["modes"] == ["naive"]
    assert evaluation.run["order"] == "shuffled (seed 5)"
    assert sample.questions == "2"


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
