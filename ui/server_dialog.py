"""The "Add model server…" dialog of the Models page.

Name, URL (http or https only), an optional API-key file (its path is stored,
never the key) and, for servers that do not report them, the model id and the
context length. "Test connection" asks the server for its models in a thread
of its own, so the window never waits on the network.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from pathlib import Path

from PySide6.QtCore import QObject, Signal
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from kidneytalk.errors import KidneyTalkError


@dataclass(frozen=True)
class ServerFields:
    name: str
    url: str
    api_key_file: str = ""
    model_id: str = ""
    n_ctx: int = 0


class _Relay(QObject):
    done = Signal(
        int, bool, str
    )  # attempt, ok, message: emitted from the test thread, received in the GUI


def check_fields(fields: ServerFields) -> str:
    """Why these fields cannot be saved ("" when they can)."""
    from kidneytalk.llm_server import parse_url

    if not fields.name.strip():
        return "Give the model a name."
    try:
        parse_url(fields.url)
    except KidneyTalkError as exc:
        return str(exc)
    if fields.api_key_file and not Path(fields.api_key_file).expanduser().is_file():
        return f"The API key file {fields.api_key_file} does not exist."
    return ""


def test_connection(fields: ServerFields) -> str:
    """One line about the server (its models and context) or the error; runs in a worker thread."""
    from kidneytalk.llm_server import ServerLLM

    llm = ServerLLM(
        fields.url,
        model_id=fields.model_id,
        n_ctx=fields.n_ctx,
        api_key_file=fields.api_key_file or None,
        read_timeout=15.0,
    )
    try:
        return f"Connected to {llm.where}: model {llm.model_id or '(default)'}, context {llm.n_ctx} tokens."
    finally:
        llm.close()


class ServerDialog(QDialog):
    """Collects a model server's settings; :attr:`fields` holds them once accepted."""

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.setObjectName("serverDialog")
        self.setWindowTitle(self.tr("Add model server"))
        self.fields: ServerFields | None = None
        self._attempt = 0
        self._relay = _Relay(self)
        self._relay.done.connect(self._tested)
        self.name = QLineEdit()
        self.name.setPlaceholderText(self.tr("e.g. ward-gpu"))
        self.url = QLineEdit()
        self.url.setPlaceholderText("http://gpu-server.hospital.local:8080")
        self.key_file = QLineEdit()
        self.key_file.setPlaceholderText(self.tr("optional: a file holding the API key"))
        browse = QPushButton(self.tr("Browse…"))
        browse.clicked.connect(self._browse)
        key_row = QHBoxLayout()
        key_row.addWidget(self.key_file, 1)
        key_row.addWidget(browse)
        self.model_id = QLineEdit()
        self.model_id.setPlaceholderText(self.tr("optional: the first model the server lists"))
        self.n_ctx = QSpinBox()
        self.n_ctx.setRange(0, 1 << 20)
        self.n_ctx.setSingleStep(1024)
        self.n_ctx.setSpecialValueText(self.tr("as the server reports"))
        form = QFormLayout()
        form.addRow(self.tr("Name:"), self.name)
        form.addRow(self.tr("URL:"), self.url)
        form.addRow(self.tr("API key file:"), key_row)
        form.addRow(self.tr("Model id:"), self.model_id)
        form.addRow(self.tr("Context (tokens):"), self.n_ctx)
        self.note = QLabel(
            self.tr(
                "Questions and passages from your library are sent to this server, and "
                "KidneyTalk connects to no other host. The key stays in its file."
            )
        )
        self.note.setObjectName("hintLabel")
        self.note.setWordWrap(True)
        self.status = QLabel()
        self.status.setObjectName("serverStatus")
        self.status.setWordWrap(True)
        self.test_button = QPushButton(self.tr("Test connection"))
        self.test_button.clicked.connect(self.test)
        self.buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel
        )
        self.buttons.addButton(self.test_button, QDialogButtonBox.ButtonRole.ActionRole)
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(self.note)
        layout.addWidget(self.status)
        layout.addWidget(self.buttons)

    def current(self) -> ServerFields:
        return ServerFields(
            self.name.text().strip(),
            self.url.text().strip(),
            self.key_file.text().strip(),
            self.model_id.text().strip(),
            self.n_ctx.value(),
        )

    def _browse(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, self.tr("API key file"), str(Path.home()))
        if path:
            self.key_file.setText(path)

    def test(self) -> None:
        """Ask the server for its models in a thread; the answer appears under the fields."""
        fields = self.current()
        problem = check_fields(fields)
        if problem:
            self.status.setText(problem)
            return
        self._attempt += 1
        attempt = self._attempt
        self.test_button.setEnabled(False)
        self.status.setText(self.tr("Connecting to %1…").replace("%1", fields.url))

        relay = self._relay

        def send(ok: bool, message: str) -> None:
            try:
                relay.done.emit(attempt, ok, message)
            except RuntimeError:  # the dialog was closed meanwhile
                pass

        def run() -> None:
            try:
                send(True, test_connection(fields))
            except KidneyTalkError as exc:
                send(False, str(exc))
            except Exception as exc:
                send(False, f"{type(exc).__name__}: {exc}")

        threading.Thread(target=run, daemon=True, name="kt-test-server").start()

    def _tested(self, attempt: int, ok: bool, message: str) -> None:
        if attempt != self._attempt:
            return  # an older test finished after a newer one started
        self.test_button.setEnabled(True)
        self.status.setText(("✓ " if ok else "✗ ") + message)

    def accept(self) -> None:
        fields = self.current()
        problem = check_fields(fields)
        if problem:
            self.status.setText(problem)
            return
        self.fields = fields
        super().accept()
