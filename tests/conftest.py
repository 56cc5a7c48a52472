"""Shared fixtures: real bundled models loaded once per session, isolated homes."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
# One int8 embedder export for every test home and CLI subprocess (keyed by model fingerprint),
# outside the user's folders; a test of the cache itself passes its own cache_dir.
os.environ.setdefault(
    "KIDNEYTALK_EMBED_CACHE", os.path.join(tempfile.gettempdir(), "kidneytalk-test-embed-cache")
)

REPO = Path(__file__).resolve().parents[1]
SHARED = next(
    (p / "shared" for p in REPO.parents if (p / "shared" / "eval").is_dir()), REPO.parent / "shared"
)
CORPUS = SHARED / "eval" / "pubmedqa-dev" / "corpus"
QUESTIONS = SHARED / "eval" / "pubmedqa-dev" / "questions.jsonl"
# The documented fields of Answer.to_json() / `ask --json`.
ANSWER_KEYS = {
    "question",
    "query",
    "mode",
    "style",
    "answer",
    "answer_with_sources",
    "refused",
    "stopped",
    "model",
    "citations",
    "sentences",
    "unsupported",
    "extractiveness",
    "chunks",
    "timings",
    "trace",
    "gate",
    "reasoning",
}


def shared_pdf(n: int) -> Path:
    path = CORPUS / f"dev-digest-{n:03d}.pdf"
    if not path.exists():
        pytest.skip(f"shared corpus not found at {CORPUS}")
    return path


@pytest.fixture(scope="session")
def embedder():
    from kidneytalk.embed import Embedder

    emb = Embedder()
    yield emb
    emb.close()


@pytest.fixture(scope="session")
def llm():
    from kidneytalk.llm import LocalLLM
    from kidneytalk.models import bundled_model_path

    path = bundled_model_path()
    if path is None:
        pytest.skip("bundled SmolLM2 model not installed")
    model = LocalLLM(path, n_ctx=2048, name="smollm2-135m-instruct")
    yield model
    model.close()


@pytest.fixture
def home(tmp_path: Path) -> Path:
    return tmp_path / "kt-home"


@pytest.fixture
def engine(home: Path, embedder):
    from kidneytalk.engine import Engine

    eng = Engine(home, embedder=embedder)
    yield eng
    eng.close()


@pytest.fixture
def engine_llm(home: Path, embedder, llm):
    """Engine with the session's embedder and LLM, lent to it: both stay open after the test."""
    from kidneytalk.engine import Engine

    eng = Engine(home, embedder=embedder, llm=llm)
    yield eng
    eng.close()


@pytest.fixture(scope="module")
def module_qtbot(request: pytest.FixtureRequest, qapp: object):
    """A pytest-qt bot for a module's story fixture, whose steps per-behaviour tests then check.

    (pytest-qt's ``qtbot`` lives for one test; the story closes its own windows.)
    """
    from pytestqt.qtbot import QtBot

    return QtBot(request)


@pytest.fixture(scope="module")
def module_engine_llm(tmp_path_factory: pytest.TempPathFactory, embedder, llm):
    """As ``engine_llm``, for one module's story: a fresh home, the session's models lent to it."""
    from kidneytalk.engine import Engine

    eng = Engine(tmp_path_factory.mktemp("story") / "kt-home", embedder=embedder, llm=llm)
    yield eng
    eng.close()


# ---------------------------------------------------------------- markers that hold
_MODEL_FIXTURES = {"llm", "engine_llm", "module_engine_llm"}


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """A test that uses the session's language model is a ``model`` test, whatever its decorators say."""
    for item in items:
        if _MODEL_FIXTURES & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.model)


@pytest.fixture(autouse=True)
def _model_loads_only_in_model_tests(
    request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch
):
    """Keeps ``-m "not model"`` honest: an unmarked test that loads the language model in this process fails.

    (Tests that load it in a CLI subprocess are marked by hand.)
    """
    if request.node.get_closest_marker("model"):
        yield
        return
    from kidneytalk.llm import LocalLLM

    loads: list[str] = []
    original = LocalLLM.__init__

    def recording(self: LocalLLM, path: object, *args: object, **kwargs: object) -> None:
        loads.append(str(path))
        original(self, path, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(LocalLLM, "__init__", recording)
    yield
    assert not loads, f"this test loads the language model ({loads[0]}): mark it @pytest.mark.model"
