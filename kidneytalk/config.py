"""Where KidneyTalk keeps things, and the one settings model.

Locations come from platformdirs; ``KIDNEYTALK_HOME`` (or ``--home DIR``) moves
config, data and logs under one folder, which is also how tests isolate
themselves. Settings are a frozen dataclass persisted as JSON in the config dir.
"""

from __future__ import annotations

import dataclasses
import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import platformdirs

from kidneytalk.errors import KidneyTalkError

APP_NAME = "KidneyTalk"
SETTINGS_FILE = "settings.json"
LOCATION_FILE = "location.json"  # in the config folder: {"data": "/elsewhere"} keeps the library there


@dataclass(frozen=True)
class Paths:
    """The three folders KidneyTalk writes to."""

    config: Path
    data: Path
    logs: Path

    @classmethod
    def resolve(cls, home: str | os.PathLike[str] | None = None) -> Paths:
        """``home`` (or ``$KIDNEYTALK_HOME``) wins over the platform folders.

        The data folder (library, documents, conversations) can live elsewhere,
        e.g. on an encrypted drive: :meth:`set_data_location` records that in
        the config folder and it applies from the next start.
        """
        home = home or os.environ.get("KIDNEYTALK_HOME") or None
        if home:
            root = Path(home).expanduser().resolve()
            paths = cls(config=root / "config", data=root / "data", logs=root / "logs")
        else:
            paths = cls(
                config=Path(platformdirs.user_config_dir(APP_NAME, appauthor=False)),
                data=Path(platformdirs.user_data_dir(APP_NAME, appauthor=False)),
                logs=Path(platformdirs.user_log_dir(APP_NAME, appauthor=False)),
            )
        moved = paths.data_location()
        return dataclasses.replace(paths, data=moved) if moved else paths

    def data_location(self) -> Path | None:
        """The data folder chosen by the user, if any (read from the config folder)."""
        try:
            value = json.loads((self.config / LOCATION_FILE).read_text(encoding="utf-8")).get("data")
        except (OSError, ValueError, AttributeError):
            return None
        return Path(value).expanduser() if isinstance(value, str) and value.strip() else None

    def set_data_location(self, folder: str | os.PathLike[str] | None) -> None:
        """Keep the data in ``folder`` from the next start (``None``: back to the default place).

        Nothing is moved: the library in the current folder stays there (copy
        the folder's contents to take it along).
        """
        target = self.config / LOCATION_FILE
        if folder is None:
            target.unlink(missing_ok=True)
            return
        path = Path(folder).expanduser().resolve()
        if path.exists() and not path.is_dir():
            raise KidneyTalkError(f"{path} is a file, not a folder.")
        path.mkdir(parents=True, exist_ok=True)
        if not os.access(path, os.W_OK):
            raise KidneyTalkError(f"KidneyTalk cannot write to {path}.")
        self.config.mkdir(parents=True, exist_ok=True)
        tmp = target.with_suffix(".tmp")
        tmp.write_text(json.dumps({"data": str(path)}, indent=2), encoding="utf-8")
        os.replace(tmp, target)

    def ensure(self) -> Paths:
        for p in (self.config, self.data, self.logs):
            p.mkdir(parents=True, exist_ok=True)
        return self

    @property
    def documents(self) -> Path:
        """Copies of ingested documents (citations survive the original moving)."""
        return self.data / "documents"

    @property
    def chroma(self) -> Path:
        return self.data / "chroma"

    @property
    def catalog(self) -> Path:
        return self.data / "catalog.sqlite3"

    @property
    def conversations(self) -> Path:
        return self.data / "conversations.sqlite3"

    @property
    def lock(self) -> Path:
        return self.data / "library.lock"

    @property
    def models_file(self) -> Path:
        return self.config / "models.json"

    @property
    def prompts(self) -> Path:
        """User overrides of the prompt templates."""
        return self.config / "prompts"


@dataclass(frozen=True)
class ChunkSettings:
    """How documents are cut; recorded with every document so changes are detected."""

    size_tokens: int = 200
    overlap_tokens: int = 40

    def as_dict(self) -> dict[str, int]:
        return dataclasses.asdict(self)


@dataclass(frozen=True)
class LLMSettings:
    model: str = ""  # name in the model registry; "" means the registry default
    n_ctx: int = 4096
    n_threads: int = 0  # 0: all physical cores
    temperature: float = 0.1
    max_answer_tokens: int = 512


@dataclass(frozen=True)
class RetrievalSettings:
    """AddRep and answer-style switches (each stage can be turned off)."""

    mode: str = "addrep"  # naive | hybrid | addrep
    style: str = "cp-order"  # off | cp-order | cp-link | cp-refine
    base: str = "hybrid"  # what AddRep searches with: naive | hybrid
    refine_query: bool = True
    divergent: bool = True
    n_divergent: int = 3
    k_first: int = 6  # hits of the first search
    k_divergent: int = 3  # hits per divergent question
    min_similarity: float = 0.2  # cosine below which a candidate is dropped before judging
    judge: bool = True
    judge_threshold: float = 0.5  # calibrated P(relevant) needed to keep a candidate
    judge_reasons: str = "kept"  # kept | all | none: which candidates get a generated reason
    # Trusted passages survive a judge's "no" unless the judge is sure (calibrated P < judge_veto):
    # the first search's best match (trust_best) and first-search hits at least trust_similarity
    # similar to the query. A small model's judge is barely better than chance
    # (bench/results/query.json: AUC 0.54 against 0.91 for cosine); a confident one can still
    # veto, so it can still lead to a refusal.
    trust_best: bool = True
    trust_similarity: float = 0.6
    judge_veto: float = 0.1
    max_evidence: int = 6
    gate: bool = True  # relevance gate: refuse when the library does not cover the question (retrieval/gate.py)
    refine_rounds: int = 2  # cp-refine revision rounds
    refine_target: float = 0.8  # cp-refine stops when coverage reaches this
    unsupported_below: float = 0.5  # citation support under which a sentence is flagged


@dataclass(frozen=True)
class Settings:
    """Everything a user can change, with safe defaults for the embedded models."""

    chunk: ChunkSettings = field(default_factory=ChunkSettings)
    llm: LLMSettings = field(default_factory=LLMSettings)
    retrieval: RetrievalSettings = field(default_factory=RetrievalSettings)
    embedding_model: str = ""  # a sentence-transformers folder; "" = bundled MiniLM
    embedding_precision: str = "auto"  # auto | fp32 | bf16
    embed_batch_size: int = 64
    filter_agent: bool = False
    top_k: int = 6
    language: str = "en"

    def replace(self, **changes: Any) -> Settings:
        return dataclasses.replace(self, **changes)

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, raw: dict[str, Any]) -> Settings:
        known = {f.name for f in dataclasses.fields(cls)}
        values = {k: v for k, v in raw.items() if k in known}
        if isinstance(values.get("chunk"), dict):
            values["chunk"] = ChunkSettings(**_known(ChunkSettings, values["chunk"]))
        if isinstance(values.get("retrieval"), dict):
            values["retrieval"] = RetrievalSettings(**_known(RetrievalSettings, values["retrieval"]))
        if isinstance(values.get("llm"), dict):
            values["llm"] = LLMSettings(**_known(LLMSettings, values["llm"]))
        return cls(**values)

    @classmethod
    def load(cls, paths: Paths) -> Settings:
        file = paths.config / SETTINGS_FILE
        if not file.exists():
            return cls()
        try:
            return cls.from_dict(json.loads(file.read_text(encoding="utf-8")))
        except (ValueError, TypeError) as exc:
            raise KidneyTalkError(f"Settings file {file} is not valid: {exc}") from exc

    def save(self, paths: Paths) -> None:
        paths.config.mkdir(parents=True, exist_ok=True)
        file = paths.config / SETTINGS_FILE
        tmp = file.with_suffix(".tmp")
        tmp.write_text(json.dumps(self.to_dict(), indent=2), encoding="utf-8")
        os.replace(tmp, file)


def _known(cls: type, raw: dict[str, Any]) -> dict[str, Any]:
    names = {f.name for f in dataclasses.fields(cls)}
    return {k: v for k, v in raw.items() if k in names}
