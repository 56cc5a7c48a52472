"""Privacy and file names: no dependency telemetry, private files whatever the umask, any name fails alone."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from kidneytalk.cli import main
from kidneytalk.names import shown

_ORT_SESSION = """
import numpy as np, onnxruntime as ort
from onnx import TensorProto, helper
x = helper.make_tensor_value_info("x", TensorProto.FLOAT, [1])
y = helper.make_tensor_value_info("y", TensorProto.FLOAT, [1])
g = helper.make_graph([helper.make_node("Identity", ["x"], ["y"])], "g", [x], [y])
m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)]); m.ir_version = 8
ort.InferenceSession(m.SerializeToString()).run(None, {"x": np.ones(1, np.float32)})
"""


def _run_python(code: str, home: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if "TELEMETRY" not in k and k != "DO_NOT_TRACK"}
    env.update(HOME=str(home), ORT_DISABLE_TELEMETRY="0", XDG_CACHE_HOME=str(home / ".cache"))
    return subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, env=env
    )


def test_importing_kidneytalk_turns_onnxruntime_telemetry_off(tmp_path):
    pytest.importorskip("onnxruntime")
    pytest.importorskip("onnx")
    plain, ours = tmp_path / "plain", tmp_path / "ours"
    plain.mkdir()
    ours.mkdir()
    res = _run_python(_ORT_SESSION, plain)
    assert res.returncode == 0, res.stderr
    # Whether onnxruntime writes a device id with telemetry on depends on its build and the machine
    # (it did here, not on the CI machine), so the file check below is compared with this control run.
    control_wrote_device_id = (plain / ".cache" / "Microsoft").exists()
    res = _run_python(
        "import kidneytalk\n"
        + _ORT_SESSION
        + "\nimport os; print(os.environ['ORT_DISABLE_TELEMETRY'],"
        " os.environ['ANONYMIZED_TELEMETRY'], os.environ['HF_HUB_DISABLE_TELEMETRY'], os.environ['DO_NOT_TRACK'])",
        ours,
    )
    assert res.returncode == 0, res.stderr
    assert res.stdout.split() == ["1", "False", "1", "1"]
    if control_wrote_device_id:
        assert not (ours / ".cache" / "Microsoft").exists()


# ---------------------------------------------------------------- file names
NAMES = {
    b"bad-\xff\xfe-name.txt": "bad-\\xff\\xfe-name.txt",
    b"line\nbreak.md": "line\\nbreak.md",
    b"escape-\x1b[31m-red.txt": "escape-\\x1b[31m-red.txt",
    "rtl-\u202efdp.txt".encode(): "rtl-\\u202efdp.txt",
    ("long-" + "x" * 240 + ".txt").encode(): "long-" + "x" * 240 + ".txt",
    "spaces and 中文 name.txt".encode(): "spaces and 中文 name.txt",
}
TEXT = "Chronic kidney disease stage {n}: metformin dose is reviewed when eGFR falls below {m} ml/min.\n"


def _write(folder: Path, name: bytes, text: str) -> None:
    fd = os.open(os.path.join(os.fsencode(folder), name), os.O_WRONLY | os.O_CREAT, 0o644)
    os.write(fd, text.encode())
    os.close(fd)


def test_any_file_name_is_added_or_fails_alone_and_is_shown_escaped(engine, tmp_path, capsys):
    folder = tmp_path / "in"
    folder.mkdir()
    for i, name in enumerate(NAMES):
        _write(folder, name, TEXT.format(n=i, m=30 + i) * 3)
    _write(folder, b"empty-\xff.txt", "")  # fails alone, named escaped
    results = engine.add([folder])
    by_status = {r.status for r in results}
    assert by_status == {"added", "failed"}, [r.message for r in results]
    added = sorted(Path(r.path).name for r in results if r.status == "added")
    assert added == sorted(NAMES.values())
    failed = [r for r in results if r.failed]
    assert len(failed) == 1 and failed[0].message.startswith("empty-\\xff.txt: ")
    for r in results:
        json.dumps(r.to_json(), ensure_ascii=False).encode("utf-8")  # printable and storable
        assert "\n" not in r.message
    names = sorted(d.name for d in engine.library.documents() if d.status == "ready")
    assert names == sorted(NAMES.values())
    # the log and `list` keep one line per entry
    log_text = Path(engine.log_path).read_text(encoding="utf-8")
    assert "line\\nbreak.md: added" in log_text and "\x1b" not in log_text
    capsys.readouterr()
    assert main(["--home", str(engine.paths.config.parent), "list"]) == 0
    rows = capsys.readouterr().out.splitlines()
    assert len(rows) == 1 + len(NAMES) + 1  # header, the added files, the failed one
    assert any("bad-\\xff\\xfe-name.txt" in row for row in rows)


def test_shown_escapes_only_what_cannot_be_shown():
    assert (
        shown("/a/b/Guideline 2024 (NICE) 慢性腎臟病.pdf") == "Guideline 2024 (NICE) 慢性腎臟病.pdf"
    )
    assert shown(os.fsdecode(b"x\xffy.pdf")) == "x\\xffy.pdf"
    assert shown("a\tb\r\nc") == "a\\tb\\r\\nc"


# ---------------------------------------------------------------- permissions
def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.mark.skipif(os.name != "posix", reason="POSIX permissions")
def test_everything_kidneytalk_writes_is_private_whatever_the_umask(tmp_path, embedder):
    from kidneytalk.conversations import Message
    from kidneytalk.engine import Engine

    source = tmp_path / "open.txt"
    source.write_text(TEXT.format(n=3, m=30) * 3, encoding="utf-8")
    source.chmod(0o000)
    old = os.umask(0o000)
    try:
        with Engine(tmp_path / "home", embedder=embedder) as engine:
            assert [r.status for r in engine.add([source])] == ["added"]
            engine.settings.save(engine.paths)
            conv = engine.conversations.create()
            engine.conversations.append(conv, Message("user", "hello"))
            paths = engine.paths
    finally:
        os.umask(old)
    home = tmp_path / "home"
    written = [p for p in home.rglob("*")]
    assert any(p.suffix == ".txt" and p.parent.name == "documents" for p in written)
    assert any(p.name == "kidneytalk.log" for p in written) and any(
        p.name == "settings.json" for p in written
    )
    assert any(p.name == "conversations.sqlite3" for p in written)
    for p in [paths.config, paths.data, paths.logs, *written]:
        if p.is_symlink():
            continue
        assert _mode(p) & 0o077 == 0, f"{p} is {oct(_mode(p))}: readable by others"
    assert _mode(paths.data) == 0o700 and _mode(paths.config / "settings.json") == 0o600


@pytest.mark.skipif(os.name != "posix", reason="POSIX permissions")
def test_an_existing_library_readable_by_others_is_tightened_on_open(tmp_path):
    from kidneytalk.config import Paths

    home = tmp_path / "home"
    paths = Paths.resolve(home).ensure()
    (paths.data / "documents").mkdir()
    copy = paths.data / "documents" / "abc.pdf"
    copy.write_bytes(b"%PDF")
    for p in (paths.config, paths.data, paths.logs, paths.data / "documents"):
        p.chmod(0o755)
    copy.chmod(0o644)
    theirs = paths.data / "holiday-photos.jpg"  # a data folder the user chose may hold other things
    theirs.write_bytes(b"jpg")
    theirs.chmod(0o644)
    Paths.resolve(home).ensure()
    assert _mode(paths.data) == 0o700 and _mode(paths.data / "documents") == 0o700
    assert _mode(copy) == 0o600 and _mode(paths.config) == 0o700 and _mode(paths.logs) == 0o700
    assert _mode(theirs) == 0o644  # not ours: left alone (unreachable anyway inside a 0700 folder)


def test_a_log_message_is_one_line_whatever_the_name_holds(tmp_path):
    import logging

    from kidneytalk.config import Paths
    from kidneytalk.logs import setup_logging

    log_file = Path(setup_logging(Paths.resolve(tmp_path).ensure()))
    logging.getLogger("kidneytalk.test").warning(
        "failed: %s", os.fsdecode(b"bad-\xff\nname\x1b.pdf")
    )
    lines = [
        line
        for line in log_file.read_text(encoding="utf-8").splitlines()
        if "kidneytalk.test" in line
    ]
    assert len(lines) == 1 and lines[0].endswith("failed: bad-\\xff\\nname\\x1b.pdf")
