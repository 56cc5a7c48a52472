"""Render every page of the desktop app to PNG, offscreen, on the real embedded models.

    .venv/bin/python scripts/screenshots.py [--out docs/screenshots]

Uses a throw-away home folder: photographs the welcome page of the empty library, adds five shared PubMedQA digest PDFs, asks
one question (AddRep, CP-Order) and opens the evidence of its first citation,
runs a small retrieval-only evaluation, then photographs the Library, Chat,
Models, Evaluation and Settings pages, and Library, Chat and Models in
Simplified Chinese. Takes a few minutes on two cores.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

REPO = Path(__file__).resolve().parents[1]
CORPUS = REPO.parent / "shared" / "eval" / "pubmedqa-dev" / "corpus"
QUESTIONS = REPO.parent / "shared" / "eval" / "pubmedqa-dev" / "questions.jsonl"
PDFS = (
    "dev-digest-001.pdf",
    "dev-digest-009.pdf",
    "dev-digest-012.pdf",
    "dev-digest-015.pdf",
    "dev-digest-016.pdf",
)  # the gold documents of the first five questions
QUESTION = "Is oral endotracheal intubation efficacy impaired in the helicopter environment?"
SIZE = (1200, 780)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=str(REPO / "docs" / "screenshots"))
    parser.add_argument(
        "--welcome-only", action="store_true", help="only the welcome page (English and Chinese)"
    )
    args = parser.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)

    from PySide6.QtWidgets import QApplication

    app = QApplication.instance() or QApplication(sys.argv[:1])
    app.setApplicationName("KidneyTalk")

    from kidneytalk.engine import Engine
    from kidneytalk.ui.i18n import set_language
    from kidneytalk.ui.main_window import MainWindow

    def wait(done, timeout: float = 600.0) -> None:
        end = time.monotonic() + timeout
        while not done():
            if time.monotonic() > end:
                raise TimeoutError("the app did not finish in time")
            app.processEvents()
            time.sleep(0.02)

    def settle() -> None:
        for _ in range(30):
            app.processEvents()
            time.sleep(0.01)

    with tempfile.TemporaryDirectory(prefix="kidneytalk-shots-") as home:
        engine = Engine(home)
        window = MainWindow(engine)
        window.resize(*SIZE)
        window.show()
        wait(lambda: window.client.pending() == 0)

        def shot(page, name: str) -> None:
            window.show_page(page)
            window.statusBar().clearMessage()  # messages of earlier steps (temporary paths) are noise
            settle()
            path = out / f"{name}.png"
            window.grab().save(str(path))
            print(path)

        # Welcome (the library is still empty) ------------------------------
        shot(window.welcome_page, "welcome")
        set_language("zh")
        settle()
        shot(window.welcome_page, "welcome-zh_CN")
        set_language("en")
        settle()
        if args.welcome_only:
            window.shutdown()
            engine.close()
            return 0

        # Library --------------------------------------------------------
        library = window.library_page
        library.add_paths([str(CORPUS / name) for name in PDFS])
        wait(lambda: not library.adding and library.model.rowCount() == len(PDFS))
        shot(library, "library")

        # Chat: a real answer, the evidence of its first citation with the page highlighted ----
        chat = window.chat_page
        window.show_page(chat)
        chat.question.setPlainText(QUESTION)
        chat.ask()
        wait(lambda: window.client.pending() == 0)
        settle()
        answer = len(chat.conv.messages) - 1 if chat.conv is not None else -1
        first = min((int(h.split(":")[2]) for h, _ in chat.transcript.citation_links()), default=1)
        if not chat.show_evidence(answer, first):
            print("warning: the answer has no citation to show", file=sys.stderr)
        elif not chat.evidence.page_view.highlights:
            print("warning: the cited passage was not found on its page", file=sys.stderr)
        shot(chat, "chat")

        # Chat: a question the library does not cover, refused in the grey box with the reason --
        chat.question.setPlainText("Who won the 1998 football World Cup final?")
        chat.ask()
        wait(lambda: window.client.pending() == 0)
        settle()
        shot(chat, "chat-refusal")

        # Models ------------------------------------------------------------
        models = window.models_page
        if models.table.rowCount():
            models.table.selectRow(0)
        shot(models, "models")

        # Evaluation ----------------------------------------------------------
        evaluation = window.evaluation_page
        evaluation.file_edit.setText(str(QUESTIONS))
        evaluation.mode_boxes["hybrid"].setChecked(True)
        evaluation.retrieval_only.setChecked(True)
        evaluation.limit.setValue(5)
        evaluation.run()
        wait(lambda: not evaluation.running)
        shot(evaluation, "evaluation")

        # Settings ------------------------------------------------------------
        settings = window.settings_page
        shot(settings, "settings")
        settings.template.setCurrentIndex(settings.template.findData("judge_en"))
        bar = settings.scroll_area.verticalScrollBar()
        bar.setValue(settings.prompts_box.y() - 8)
        shot(settings, "settings-prompts")

        # Simplified Chinese --------------------------------------------------
        set_language("zh")
        settle()
        shot(library, "library-zh_CN")
        shot(chat, "chat-zh_CN")
        shot(models, "models-zh_CN")
        set_language("en")

        window.shutdown()
        engine.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
