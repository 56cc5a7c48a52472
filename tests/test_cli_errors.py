"""The CLI never shows a raw traceback: a bug is logged with its traceback and named in one line."""

from __future__ import annotations

from pathlib import Path

from kidneytalk import cli


def test_a_bug_is_logged_with_its_traceback_and_reported_in_one_line(
    home: Path, capsys, monkeypatch
):
    def broken(engine, args):
        return {}["no such key"]  # a bug: KeyError

    monkeypatch.setattr(cli, "_cmd_list", broken)
    assert cli.main(["--home", str(home), "list"]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err
    assert "unexpected error (KeyError: 'no such key')" in err
    log_file = home / "logs" / "kidneytalk.log"
    assert str(log_file) in err
    log_text = log_file.read_text(encoding="utf-8")
    assert "unexpected error in 'kidneytalk list'" in log_text and "Traceback" in log_text
    assert 'return {}["no such key"]' in log_text


def test_a_user_error_stays_one_line_without_the_bug_wording(home: Path, capsys):
    assert cli.main(["--home", str(home), "remove", "nothing-like-this"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("kidneytalk: No document 'nothing-like-this'") and "bug" not in err
