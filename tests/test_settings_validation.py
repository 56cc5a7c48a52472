"""Settings are validated when set (CLI, GUI) and when loaded; one vocabulary for the names."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from kidneytalk.cli import _parser, main
from kidneytalk.config import Paths, Settings, settings_fields
from kidneytalk.errors import SettingsError
from kidneytalk.vocabulary import JUDGE_REASONS, LANGUAGES, MODES, PRECISIONS, STYLES


def _settings_file(home: Path) -> Path:
    return home / "config" / "settings.json"


@pytest.mark.parametrize(
    ("key", "value", "words"),
    [
        ("retrieval.mode", "magic", "retrieval.mode must be one of naive, hybrid, addrep"),
        ("top_k", "-5", "top_k must be between 1 and"),
        ("top_k", "five", "top_k must be a whole number"),
        ("retrieval.judge_threshold", "1.5", "between 0.0 and 1.0"),
        ("retrieval.judge", "maybe", "true or false"),
        ("llm.n_ctx", "256", "llm.n_ctx must be between 512"),
        ("chunk.overlap_tokens", "200", "must be smaller than chunk.size_tokens"),
        ("retrieval.style", "cp-magic", "one of off, cp-order, cp-link, cp-refine"),
        ("language", "fr", "language must be one of en, zh"),
        ("no.such.key", "1", "Unknown setting 'no.such.key'"),
    ],
)
def test_settings_set_refuses_a_bad_value_with_exit_2_one_line_and_saves_nothing(
    home, capsys, key, value, words
):
    assert main(["--home", str(home), "settings", "set", key, value]) == 2
    err = capsys.readouterr().err
    assert words in err
    assert err.count("\n") == 1 and "Traceback" not in err
    assert not _settings_file(home).exists()


def test_settings_set_accepts_good_values_and_parses_them_as_the_field_type(home, capsys):
    for key, value in (
        ("top_k", "9"),
        ("retrieval.mode", "hybrid"),
        ("retrieval.judge", "off"),
        ("retrieval.min_similarity", "0.35"),
        ("llm.model", "smollm2-135m-instruct"),
    ):
        assert main(["--home", str(home), "settings", "set", key, value]) == 0
    saved = json.loads(_settings_file(home).read_text(encoding="utf-8"))
    assert saved["top_k"] == 9 and saved["retrieval"]["mode"] == "hybrid"
    assert saved["retrieval"]["judge"] is False and saved["retrieval"]["min_similarity"] == 0.35
    assert (
        saved["llm"]["model"] == "smollm2-135m-instruct"
    )  # a known model; unknown names are refused


def test_a_settings_file_with_wrong_types_and_values_falls_back_per_field_and_keeps_a_backup(
    tmp_path,
):
    paths = Paths.resolve(tmp_path).ensure()
    broken = {
        "top_k": -5,
        "language": "zh",
        "chunk": 7,
        "llm": {"n_ctx": "big", "temperature": 0.3},
        "retrieval": {"mode": "magic", "style": "cp-link", "judge_threshold": 2},
        "from_the_future": 1,
    }
    _settings_file(tmp_path).write_text(json.dumps(broken), encoding="utf-8")
    notices: list[str] = []
    settings = Settings.load(paths, notices)
    default = Settings()
    # bad fields take their defaults, good ones are kept
    assert settings.top_k == default.top_k and settings.retrieval.mode == default.retrieval.mode
    assert settings.chunk == default.chunk and settings.llm.n_ctx == default.llm.n_ctx
    assert settings.retrieval.judge_threshold == default.retrieval.judge_threshold
    assert (
        settings.language == "zh"
        and settings.llm.temperature == 0.3
        and settings.retrieval.style == "cp-link"
    )
    assert len(notices) == 1 and "\n" not in notices[0]
    for words in (
        "top_k",
        "retrieval.mode",
        "chunk must be a group",
        "llm.n_ctx",
        "judge_threshold",
    ):
        assert words in notices[0]
    backups = list(paths.config.glob("settings.json.bad-*"))
    assert len(backups) == 1 and json.loads(backups[0].read_text(encoding="utf-8")) == broken
    assert str(backups[0]) in notices[0]
    # the repaired file is saved: the next start is quiet
    again: list[str] = []
    assert Settings.load(paths, again) == settings and again == []


def test_a_settings_file_that_is_not_json_gives_the_defaults_and_a_backup(tmp_path):
    paths = Paths.resolve(tmp_path).ensure()
    _settings_file(tmp_path).write_text("{ not json", encoding="utf-8")
    notices: list[str] = []
    assert Settings.load(paths, notices) == Settings()
    assert "is not valid JSON" in notices[0]
    assert [p.read_text(encoding="utf-8") for p in paths.config.glob("settings.json.bad-*")] == [
        "{ not json"
    ]


def test_the_cli_reports_a_broken_settings_file_in_one_line_and_still_runs(home):
    _settings_file(home).parent.mkdir(parents=True)
    _settings_file(home).write_text(
        '{"retrieval": {"mode": "magic"}, "top_k": "x"}', encoding="utf-8"
    )
    res = subprocess.run(
        [sys.executable, "-m", "kidneytalk.cli", "--home", str(home), "settings"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert res.returncode == 0, res.stderr
    assert "Traceback" not in res.stderr
    warning = [line for line in res.stderr.splitlines() if "warning" in line]
    assert len(warning) == 1 and "retrieval.mode" in warning[0] and "top_k" in warning[0]
    assert json.loads(res.stdout)["retrieval"]["mode"] == "addrep"


def test_every_default_is_valid_and_every_field_has_a_known_type():
    assert Settings().problems() == []
    for key, hint in settings_fields().items():
        assert hint in (bool, int, float, str) or getattr(hint, "__args__", None), key


def test_validate_names_every_problem():
    bad = Settings().with_value("top_k", 3)
    with pytest.raises(SettingsError, match="top_k"):
        bad.with_value("top_k", 0)
    with pytest.raises(SettingsError, match="must be true or false"):
        Settings().with_value("filter_agent", 1)  # 1 is not a boolean, even from Python


def test_the_cli_choices_come_from_the_one_vocabulary():
    parser = _parser()
    sub = next(a for a in parser._actions if a.dest == "command").choices
    for command in ("ask", "chat"):
        actions = {a.dest: a for a in sub[command]._actions}
        assert tuple(actions["mode"].choices) == MODES
        assert tuple(actions["style"].choices) == STYLES
    assert tuple(next(a for a in sub["eval"]._actions if a.dest == "style").choices) == STYLES
    hints = settings_fields()
    assert hints["retrieval.mode"].__args__ == MODES
    assert hints["retrieval.style"].__args__ == STYLES
    assert hints["retrieval.judge_reasons"].__args__ == JUDGE_REASONS
    assert hints["embedding_precision"].__args__ == PRECISIONS
    assert hints["language"].__args__ == LANGUAGES
