"""`kidneytalk models add-server NAME URL --api-key-file F` (issue 13, point 3), against a real HTTP
server on loopback that insists on its key. No model is loaded."""

from __future__ import annotations

import json
from http.server import BaseHTTPRequestHandler
from pathlib import Path

import pytest

from kidneytalk.engine import Engine
from kidneytalk.errors import ModelError
from kidneytalk.llm_server import ServerLLM
from tests.test_server_errors import MODELS, fake_server, reply

SECRET = "sk-ward-7f3a9c"


def _guarded(h: BaseHTTPRequestHandler, path: str, body: dict) -> None:
    if h.headers.get("Authorization") != f"Bearer {SECRET}":
        return reply(h, 401, {"error": {"message": "Invalid API key"}})
    if path == "/v1/models":
        return reply(h, 200, MODELS)
    reply(h, 404, {"detail": "Not Found"})


def test_add_server_with_an_api_key_file_stores_the_path_and_sends_the_key(
    tmp_path: Path, capsys
) -> None:
    from kidneytalk.cli import main

    home = tmp_path / "home"
    key = tmp_path / "ward.key"
    key.write_text(SECRET + "\n", encoding="utf-8")
    with fake_server(_guarded) as (url, seen):
        argv = ["--home", str(home), "models", "add-server", "Ward GPU", url]
        assert main([*argv, "--api-key-file", str(key), "--model-id", "tiny"]) == 0
        out = capsys.readouterr().out
        assert out.startswith(f"added ward-gpu: model server {url}") and SECRET not in out
        assert not seen  # checked, not contacted
        assert main(["--home", str(home), "models", "list", "--json"]) == 0
        [row] = [r for r in json.loads(capsys.readouterr().out) if r["name"] == "ward-gpu"]
        assert row["api_key_file"] == str(key.resolve()) and SECRET not in json.dumps(row)
        assert main(["--home", str(home), "models", "default", "ward-gpu"]) == 0
        stored = "".join(f.read_text() for f in home.rglob("*.json"))
        assert str(key.resolve()) in stored and SECRET not in stored  # the key stays in its file
        engine = Engine(home)
        try:
            llm = engine.llm()  # the model the CLI made the default, with the key from the file
            assert isinstance(llm, ServerLLM) and llm.model_id == "tiny"
        finally:
            engine.close()
        assert seen and all(s[1]["auth"] == f"Bearer {SECRET}" for s in seen)
        key.write_text("sk-wrong\n", encoding="utf-8")  # the file is read when connecting
        engine = Engine(home)
        try:
            with pytest.raises(ModelError, match="refused the API key") as err:
                engine.llm()
            assert "sk-wrong" not in str(err.value) and "\n" not in str(err.value)
        finally:
            engine.close()
    missing = ["--home", str(home), "models", "add-server", "other", url]
    assert main([*missing, "--api-key-file", str(tmp_path / "nope.key")]) == 1
    assert "Cannot read the API key file" in capsys.readouterr().err
