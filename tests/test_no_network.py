"""No connection at all, proven at the system-call level (issue 17).

`add`, `search`, `ask` and `eval` run through the real CLI, and the desktop app
starts offscreen on a library and answers one question in its chat, with the
bundled in-process model under ``strace -f`` (every thread and child process), with
the machine's network left as it is: the trace must show no ``connect`` or
``sendto``/``sendmsg`` to any internet or DNS address (a DNS look-up is a
``connect`` to port 53 or to a resolver socket), and no file opened for
writing outside the KidneyTalk home and the temp folder. Where strace cannot
run, a ``sys.addaudithook`` on ``socket.connect``/``socket.getaddrinfo``
inside the process is the fallback proof.

To re-run by hand: ``python -m pytest tests/test_no_network.py``.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from kidneytalk.config import LLMSettings, Paths, Settings
from tests.fixtures_pdf import write_text_pdf

# connect(3, {sa_family=AF_INET, sin_port=htons(53), ...}) and the AF_INET6 / AF_UNIX forms
_NET = re.compile(
    r"\b(connect|sendto|sendmsg|bind)\((\d+), \{sa_family=(AF_INET6?|AF_UNIX|AF_NETLINK)([^}]*)\}"
)
_OPEN_W = re.compile(r'\b(?:openat|open|creat)\((?:AT_FDCWD, )?"([^"]+)", ([A-Z_|]+)')
# Unix sockets that are host look-ups in disguise (systemd-resolved) or a desktop bus. nscd is not
# listed: glibc asks it for the user's passwd entry too; a host look-up through it is caught by the
# resolver files it reads first (nsswitch "hosts:" opens /etc/hosts and /etc/resolv.conf).
_RESOLVER_SOCKETS = ("resolve", "dbus")
_HOST_LOOKUP_FILES = ("/etc/resolv.conf", "/etc/hosts", "/etc/gai.conf")


def _strace_works() -> str:
    if shutil.which("strace") is None:
        return "strace is not installed"
    res = subprocess.run(
        ["strace", "-f", "-qq", "--seccomp-bpf", "-e", "trace=connect", "true"],
        capture_output=True,
        text=True,
    )
    return "" if res.returncode == 0 else f"strace cannot trace here: {res.stderr.strip()[:200]}"


def _env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "KIDNEYTALK_HOME"}
    env["PYTHONDONTWRITEBYTECODE"] = (
        "1"  # compiled .pyc files next to the sources are Python's, not ours
    )
    return env


def traced(
    log: Path, *argv: str, timeout: float = 900, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """``argv`` run under strace, network calls and file opens logged to ``log``."""
    return subprocess.run(
        [
            "strace",
            "-f",
            "-qq",
            "--seccomp-bpf",
            "-o",
            str(log),
            "-e",
            "trace=connect,sendto,sendmsg,bind,open,openat,creat",
            *argv,
        ],
        capture_output=True,
        text=True,
        timeout=timeout,
        env=env or _env(),
    )


def violations(log: Path, allowed_write_roots: list[Path]) -> list[str]:
    """Network calls, and files opened for writing outside ``allowed_write_roots``, in an strace log."""
    roots = [str(r.resolve()) for r in allowed_write_roots]
    out = []
    for line in log.read_text(errors="replace").splitlines():
        net = _NET.search(line)
        if net:
            call, _, family, rest = net.groups()
            if family == "AF_NETLINK":  # interface listing (no traffic), e.g. by getifaddrs
                continue
            if family == "AF_UNIX" and not any(s in rest for s in _RESOLVER_SOCKETS):
                continue  # local sockets between our own processes
            if (
                call == "bind"
                and family != "AF_UNIX"
                and "127.0.0.1" not in rest
                and "::1" not in rest
            ):
                out.append(line)
                continue
            if call != "bind":
                out.append(line)
            continue
        opened = _OPEN_W.search(line)
        if opened and opened.group(1) in _HOST_LOOKUP_FILES:
            out.append(line)  # a host name is being resolved
            continue
        if opened and re.search(r"O_WRONLY|O_RDWR|O_CREAT", opened.group(2)):
            path = opened.group(1)
            if path.startswith("/dev/") or "= -1" in line:
                continue
            real = os.path.realpath(path)
            if not any(real == r or real.startswith(r + os.sep) for r in roots):
                out.append(line)
    return out


@pytest.mark.model
@pytest.mark.slow  # four real CLI runs (models loaded each time) under strace: ~3-10 min on a busy 2-core box
def test_add_search_ask_and_eval_make_no_connection_and_write_only_our_folders(tmp_path: Path):
    why_not = _strace_works()
    if why_not:
        pytest.skip(why_not)
    home = tmp_path / "home"
    Settings().replace(llm=LLMSettings(max_answer_tokens=48)).save(Paths.resolve(home).ensure())
    pdf = write_text_pdf(tmp_path / "metformin-ckd.pdf", topic="diabetic kidney disease", pages=3)
    questions = tmp_path / "exam.jsonl"
    questions.write_text(
        json.dumps(
            {
                "id": "q1",
                "question": "Below which eGFR should metformin be stopped?",
                "options": {"A": "30 mL/min/1.73 m2", "B": "90 mL/min/1.73 m2"},
                "answer": "A",
            }
        )
        + "\n",
        encoding="utf-8",
    )
    cli = (sys.executable, "-m", "kidneytalk.cli", "--home", str(home))
    steps = {
        "add": [*cli, "add", str(pdf)],
        "search": [*cli, "search", "metformin eGFR"],
        "ask": [*cli, "ask", "--mode", "hybrid", "Below which eGFR should metformin be stopped?"],
        "eval": [
            *cli,
            "eval",
            "--modes",
            "naive",
            "--out",
            str(tmp_path / "eval-out"),
            str(questions),
        ],
    }
    allowed = [
        tmp_path,
        Path(tempfile.gettempdir()),
        Path("/var/tmp"),
    ]  # SQLite's temp files go to /var/tmp
    found: dict[str, list[str]] = {}
    for name, argv in steps.items():
        log = tmp_path / f"{name}.strace"
        res = traced(log, *argv)
        assert res.returncode == 0, (name, res.stderr[-2000:])
        text = log.read_text(errors="replace")
        assert "openat(" in text, "the trace must really record system calls"
        if bad := violations(log, allowed):
            found[name] = bad[:10]
    assert not found, "network calls or writes outside KidneyTalk's folders:\n" + json.dumps(
        found, indent=1
    )


def test_the_trace_check_catches_a_lookup_a_connection_and_a_stray_write(tmp_path: Path):
    """Control run: the same checker flags what it must (else a passing test above would mean nothing)."""
    why_not = _strace_works()
    if why_not:
        pytest.skip(why_not)
    stray = Path.home() / f".kidneytalk-no-network-probe-{os.getpid()}"
    code = (
        "import socket, sys\n"
        "try:\n    socket.getaddrinfo('example.invalid', 443)\nexcept OSError: pass\n"
        "s = socket.socket(); s.settimeout(0.2)\n"
        "try:\n    s.connect(('192.0.2.1', 9))\nexcept OSError: pass\n"
        f"open({str(stray)!r}, 'w').close()\n"
    )
    log = tmp_path / "control.strace"
    try:
        res = traced(log, sys.executable, "-c", code, timeout=60)
    finally:
        stray.unlink(missing_ok=True)
    assert res.returncode == 0, res.stderr
    bad = "\n".join(violations(log, [tmp_path, Path(tempfile.gettempdir())]))
    assert "192.0.2.1" in bad
    assert str(stray) in bad
    assert "htons(53)" in bad or "/etc/hosts" in bad or "resolv.conf" in bad, bad


# The desktop app, started offscreen on a library, asks one question in its chat and closes.
# With PROBE=1 it instead looks up a host, connects out and writes a stray file from the GUI
# thread (the control: the trace follows the app's own process and threads).
GUI = r"""
import os, socket, sys
os.environ["QT_QPA_PLATFORM"] = "offscreen"
from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication
from kidneytalk.ui import app as gui
from kidneytalk.ui.main_window import MainWindow
home, question, stray = sys.argv[1:4]
qapp = QApplication(["kidneytalk-gui"])
outcome = {}
def later(f):
    QTimer.singleShot(200, f)
def probe(w):
    try:
        socket.getaddrinfo("example.invalid", 443)
    except OSError:
        pass
    s = socket.socket(); s.settimeout(0.2)
    try:
        s.connect(("192.0.2.1", 9))
    except OSError:
        pass
    open(stray, "w").close()
    outcome["ok"] = True
    w.close()
def drive():
    shown = [w for w in qapp.topLevelWidgets() if isinstance(w, MainWindow) and w.isVisible()]
    if not shown or shown[0].client.pending():  # not up yet, or still loading the models
        return later(drive)
    w = shown[0]
    if os.environ.get("PROBE") == "1":
        return probe(w)
    chat = w.chat_page
    w.sidebar.setCurrentRow(1)
    chat.set_options("hybrid", "cp-order")
    chat.question.setPlainText(question)
    chat.ask()
    def wait():
        if chat.asking:
            return later(wait)
        r = chat.result
        outcome["ok"] = r is not None and not r.refused and bool(r.details["citations"])
        w.close()
    later(wait)
later(drive)
code = gui.main(home=home, argv=["kidneytalk-gui"])
print("GUI", code, outcome, file=sys.stderr)
sys.exit(0 if code == 0 and outcome.get("ok") else 3)
"""


def _traced_gui(tmp_path: Path, embedder, *, probe: bool) -> tuple[list[str], Path]:
    """The app's run under strace on a one-document library: (violations, the stray file's path)."""
    why_not = _strace_works()
    if why_not:
        pytest.skip(why_not)
    pytest.importorskip("PySide6")
    from kidneytalk.engine import Engine

    home = tmp_path / "home"
    Settings().replace(llm=LLMSettings(max_answer_tokens=48)).save(Paths.resolve(home).ensure())
    pdf = write_text_pdf(tmp_path / "metformin-ckd.pdf", topic="diabetic kidney disease", pages=3)
    with Engine(home, embedder=embedder) as eng:
        assert [r.status for r in eng.add([pdf])] == ["added"]
    stray = Path.home() / f".kidneytalk-gui-probe-{os.getpid()}"
    log = tmp_path / "gui.strace"
    env = _env()
    env["PROBE"] = "1" if probe else "0"
    question = "Below which eGFR should metformin be stopped?"
    try:
        res = traced(log, sys.executable, "-c", GUI, str(home), question, str(stray), env=env)
    finally:
        made = stray.exists()
        stray.unlink(missing_ok=True)
    assert res.returncode == 0, res.stderr[-2000:]
    assert made == probe
    assert "openat(" in log.read_text(errors="replace")
    allowed = [tmp_path, Path(tempfile.gettempdir()), Path("/var/tmp")]
    return violations(log, allowed), stray


@pytest.mark.model
@pytest.mark.slow  # the app starts, loads both models and answers under strace: ~1-3 min on a busy 2-core box
def test_the_app_started_offscreen_answers_a_question_without_connections_or_stray_writes(
    tmp_path: Path, embedder
):
    bad, _ = _traced_gui(tmp_path, embedder, probe=False)
    assert not bad, "network calls or writes outside KidneyTalk's folders:\n" + "\n".join(bad[:10])


@pytest.mark.model
@pytest.mark.slow  # the app starts and loads its models under strace: ~1 min on a busy 2-core box
def test_the_trace_of_the_app_catches_a_lookup_a_connection_and_a_stray_write(
    tmp_path: Path, embedder
):
    """Control for the app's run: the same driver, probing from the GUI thread, is caught."""
    bad, stray = _traced_gui(tmp_path, embedder, probe=True)
    text = "\n".join(bad)
    assert "192.0.2.1" in text and str(stray) in text
    assert "htons(53)" in text or "/etc/hosts" in text or "resolv.conf" in text, text


AUDIT = r"""
import sys
seen = []
def hook(event, args):
    if event == "socket.bind" and str(args[1][0]) in ("::1", "127.0.0.1", "localhost"):
        return  # a loopback probe (urllib3 checks IPv6 support by binding ::1): no traffic
    if event.startswith("socket.") and event != "socket.__new__" or event == "http.client.connect":
        seen.append((event, repr(args)[:200]))
sys.addaudithook(hook)
from kidneytalk.cli import main
home, pdf = sys.argv[1:3]
codes = [main(["--home", home, "add", pdf]), main(["--home", home, "ask", "--mode", "naive", "How is renal anaemia treated?"])]
print("AUDIT", codes, len(seen), seen[:5], file=sys.stderr)
"""


@pytest.mark.model
@pytest.mark.slow  # two real CLI commands with both models: ~1-4 min on a busy 2-core box
def test_in_process_audit_hook_sees_no_socket_use(tmp_path: Path):
    """The same proof without strace: Python's own audit events for sockets, over add and ask in one process."""
    home = tmp_path / "home"
    Settings().replace(llm=LLMSettings(max_answer_tokens=32)).save(Paths.resolve(home).ensure())
    pdf = write_text_pdf(tmp_path / "anaemia.pdf", topic="renal anaemia", pages=2)
    res = subprocess.run(
        [sys.executable, "-c", AUDIT, str(home), str(pdf)],
        capture_output=True,
        text=True,
        timeout=600,
        env=_env(),
    )
    assert res.returncode == 0, res.stderr[-2000:]
    assert "AUDIT [0, 0] 0 []" in res.stderr, res.stderr[-2000:]
