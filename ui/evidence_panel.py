"""The evidence behind one citation ``[n]``: the passage, what the answer copied from it, the page.

Opened by clicking a citation in the chat. Shows the source and pages, the
similarity and the relevance judge's verdict and reason, the passage text with
the runs the answer copied shaded by length (an extractiveness heat map:
darker = a longer verbatim copy), and the document page with the passage
highlighted (:class:`~kidneytalk.ui.page_view.PageView`).

Two notes follow the source when they apply: the passage held text addressed
to an AI (instructions, role tags, citation marks: neutralised before the
model read it, never obeyed — ``instructions`` in the answer's chunks), and
the places where the same passage, or a near copy, also occurs (``also_in``:
copies collapsed into this one so they could not crowd out other documents).
"""

from __future__ import annotations

import html
from collections.abc import Mapping
from typing import cast

from PySide6.QtCore import QEvent, Qt, Signal
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSplitter,
    QTextBrowser,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from kidneytalk.catalog import Document
from kidneytalk.citations import MARKER
from kidneytalk.extractive import copied_spans
from kidneytalk.records import pages_label

from .page_view import PageDialog, PageView

# Shades of the heat map by copied run length (tokens): short, medium, long.
HEAT = ((8, "#ffc857"), (4, "#ffe08a"), (2, "#fff3c4"))


def heat_color(run: int) -> str:
    for at_least, color in HEAT:
        if run >= at_least:
            return color
    return ""


def heat_map_html(passage: str, answer: str) -> tuple[str, float]:
    """The passage as HTML with copied runs shaded, and the share of its characters copied."""
    spans = copied_spans(MARKER.sub(" ", answer), passage) if answer else []
    out: list[str] = []
    pos = copied = 0
    for start, end, run in spans:
        if start < pos:
            continue
        out.append(html.escape(passage[pos:start]))
        out.append(
            f"<span style='background-color:{heat_color(run)}' title='copied run of {run} words'>"
            f"{html.escape(passage[start:end])}</span>"
        )
        copied += end - start
        pos = end
    out.append(html.escape(passage[pos:]))
    body = "".join(out).replace("\n", "<br>")
    return body, (copied / len(passage) if passage else 0.0)


def _pages(chunk: Mapping[str, object]) -> list[int]:
    """The passage's page numbers (``[1]`` when it names none)."""
    return [int(p) for p in cast("list[int]", chunk.get("pages") or [1])]


class EvidencePanel(QWidget):
    """Passage + page for one citation; ``show_chunk`` fills it, ``closed`` asks to hide it."""

    closed = Signal()

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.setObjectName("evidencePanel")
        self.chunk: dict[str, object] = {}
        self.document: Document | None = None
        self.dialog: PageDialog | None = None
        self.n = 0
        self.answer = ""

        self.title = title = QLabel()
        title.setObjectName("sectionLabel")
        self.close_button = close = QToolButton()
        close.setText("✕")
        close.setObjectName("closeButton")
        close.clicked.connect(self.closed.emit)
        top = QHBoxLayout()
        top.addWidget(title, 1)
        top.addWidget(close)

        self.source_label = QLabel("")
        self.source_label.setObjectName("evidenceSource")
        self.source_label.setWordWrap(True)
        self.source_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.scores_label = QLabel("")
        self.scores_label.setObjectName("hintLabel")
        self.scores_label.setWordWrap(True)
        self.reason_label = QLabel("")
        self.reason_label.setObjectName("evidenceReason")
        self.reason_label.setWordWrap(True)
        self.reason_label.setTextFormat(Qt.TextFormat.RichText)
        self.instructions_label = QLabel("")
        self.instructions_label.setObjectName("evidenceWarning")
        self.instructions_label.setWordWrap(True)
        self.instructions_label.hide()
        self.also_in_label = QLabel("")
        self.also_in_label.setObjectName("hintLabel")
        self.also_in_label.setWordWrap(True)
        self.also_in_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.also_in_label.hide()

        self.text_view = QTextBrowser()
        self.text_view.setObjectName("chunkText")
        self.text_view.setOpenLinks(False)
        self.text_view.document().setDocumentMargin(8)
        self.legend = QLabel("")
        self.legend.setObjectName("hintLabel")
        self.legend.setWordWrap(True)
        self.legend.setTextFormat(Qt.TextFormat.RichText)
        text_box = QWidget()
        tl = QVBoxLayout(text_box)
        tl.setContentsMargins(0, 0, 0, 0)
        tl.setSpacing(2)
        tl.addWidget(self.text_view, 1)
        tl.addWidget(self.legend)

        self.page_view = PageView()
        self.open_button = QPushButton()
        self.open_button.clicked.connect(self.open_dialog)
        page_box = QWidget()
        pl = QVBoxLayout(page_box)
        pl.setContentsMargins(0, 0, 0, 0)
        pl.setSpacing(2)
        pl.addWidget(self.page_view, 1)
        pl.addWidget(self.open_button, 0, Qt.AlignmentFlag.AlignRight)

        self.splitter = QSplitter(Qt.Orientation.Vertical)
        self.splitter.addWidget(text_box)
        self.splitter.addWidget(page_box)
        self.splitter.setStretchFactor(0, 2)
        self.splitter.setStretchFactor(1, 3)
        self.splitter.setChildrenCollapsible(False)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(10, 12, 12, 10)
        layout.setSpacing(6)
        layout.addLayout(top)
        layout.addWidget(self.source_label)
        layout.addWidget(self.scores_label)
        layout.addWidget(self.reason_label)
        layout.addWidget(self.instructions_label)
        layout.addWidget(self.also_in_label)
        layout.addWidget(self.splitter, 1)
        self.retranslate()

    def retranslate(self) -> None:
        """Fixed texts, and the shown passage's labels (the page stays where it is); again on a language change."""
        self.title.setText(self.tr("Evidence"))
        self.close_button.setToolTip(self.tr("Hide the evidence panel"))
        self.open_button.setText(self.tr("Open larger…"))
        self.open_button.setToolTip(self.tr("Show this page in its own window"))
        if self.chunk:
            self._fill_labels()
            if missing := self._no_page():
                self.page_view.clear(missing)

    def changeEvent(self, event: QEvent) -> None:
        if event.type() == QEvent.Type.LanguageChange:
            self.retranslate()
        super().changeEvent(event)

    def _no_page(self) -> str:
        """Why the passage's page cannot be shown ("" when it can)."""
        if self.document is None:
            return self.tr(
                "This document is no longer in the library, so its page cannot be shown."
            )
        if not self.document.stored_path:
            return self.tr(
                "The library keeps no copy of this document, so its page cannot be shown."
            )
        return ""

    def show_chunk(
        self, n: int, chunk: Mapping[str, object], answer: str, document: Document | None
    ) -> None:
        """Show passage ``[n]`` of an answer (``chunk`` as in ``Answer.to_json()['chunks']``)."""
        self.chunk, self.document, self.n, self.answer = dict(chunk), document, n, answer
        self._fill_labels()
        pages = _pages(chunk)
        if missing := self._no_page():
            self.page_view.clear(missing)
        elif document is not None:  # always, when there is no ``missing``
            self.page_view.show_document(
                document.stored_path, pages[0], [str(chunk.get("text", ""))]
            )
        self.open_button.setEnabled(self.page_view.page_count > 0)

    def _fill_labels(self) -> None:
        chunk, n = self.chunk, self.n
        pages = _pages(chunk)
        section = " › ".join(str(s) for s in cast("list[str]", chunk.get("section") or []))
        source = str(chunk.get("source", ""))
        ocr = (
            (
                " · <i>"
                + html.escape(
                    self.tr(
                        "text read by OCR from a scanned page; it may contain misread characters"
                    )
                )
                + "</i>"
            )
            if chunk.get("ocr")
            else ""
        )
        self.source_label.setText(
            f"<b>[{n}] {html.escape(source)}</b> · {pages_label(pages[0], pages[-1])}{ocr}"
            + (
                f"<br><span style='color:palette(placeholder-text)'>{html.escape(section)}</span>"
                if section
                else ""
            )
        )
        scores = [
            self.tr("similarity %1").replace(
                "%1", f"{float(cast(float, chunk.get('score') or 0)):.2f}"
            )
        ]
        relevance = chunk.get("relevance")
        if relevance is not None:
            scores.append(
                self.tr("judged relevant with probability %1").replace(
                    "%1", f"{float(cast(float, relevance)):.2f}"
                )
            )
        self.scores_label.setText(self.tr("Retrieval: %1").replace("%1", ", ".join(scores)))
        reason = str(chunk.get("reason") or "")
        why = self.tr("Why it was used:")
        self.reason_label.setText(f"<i>{why}</i> {html.escape(reason)}" if reason else "")
        self.reason_label.setVisible(bool(reason))

        self._fill_notes()
        text = str(chunk.get("text", ""))
        body, share = heat_map_html(text, self.answer)
        self.text_view.setHtml(body)
        swatches = " ".join(
            f"<span style='background-color:{c}'>&nbsp;{lbl}&nbsp;</span>"
            for (_, c), lbl in zip(HEAT[::-1], (self.tr("2–3 words"), "4–7", "8+"), strict=True)
        )
        self.legend.setText(
            self.tr("Copied into the answer: %1 · %2 of the passage")
            .replace("%1", swatches)
            .replace("%2", f"{share:.0%}")
            if share
            else self.tr("The answer copied no run of words from this passage.")
        )

    def _fill_notes(self) -> None:
        """The instruction flag and the "also in" list of the shown passage (hidden when they do not apply)."""
        flagged = bool(self.chunk.get("instructions"))
        self.instructions_label.setText(
            "⚠ "
            + self.tr(
                "This passage contains text addressed to an AI (instructions, role tags or "
                "citation marks). It was neutralised before the model read it and is never obeyed; "
                "answer sentences repeating it are marked unsupported."
            )
            if flagged
            else ""
        )
        self.instructions_label.setVisible(flagged)
        places = [str(p) for p in cast("list[str]", self.chunk.get("also_in") or [])]
        self.also_in_label.setText(
            self.tr("Also in: %1").replace("%1", "; ".join(places)) if places else ""
        )
        self.also_in_label.setToolTip(
            self.tr(
                "The same passage, or a near copy, is also in these places; "
                "one copy stands for all of them in the results."
            )
            if places
            else ""
        )
        self.also_in_label.setVisible(bool(places))

    def open_dialog(self) -> None:
        if not self.page_view.path:
            return
        self.dialog = PageDialog(
            self.page_view.path,
            self.page_view.page,
            self.page_view.passages,
            title=f"{self.chunk.get('source', '')} — KidneyTalk",
            parent=self,
        )
        self.dialog.open()
