"""Where KidneyTalk keeps things, and the one settings model.

Locations come from platformdirs; ``KIDNEYTALK_HOME`` (or ``--home DIR``) moves
config, data and logs under one folder, which is also how tests isolate
themselves. Settings are a frozen dataclass persisted as JSON in the config dir.

Settings are validated when set (:meth:`Settings.with_value`, the CLI's
``settings set``, the desktop app's Save) and when loaded: a value of the
wrong type or out of range in ``settings.json`` is replaced by its default,
with one message and a backup of the file, never a traceback. The rules are
one table, :data:`FIELD_RULES` (ranges and the like, per dotted key), on top of
the types and ``Literal`` choices the dataclasses declare; a new field is
type-checked without further work.

Everything KidneyTalk writes is private (folders 0700, files 0600 on POSIX)
whatever the umask: see :func:`make_private`.
"""

from __future__ import annotations

import contextlib
import dataclasses
import errno
import fnmatch
import hashlib
import json
import logging
import math
import os
import stat
import sys
import tempfile
import types
import typing
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal, get_args, get_origin

import platformdirs

from kidneytalk.errors import KidneyTalkError, SettingsError
from kidneytalk.vocabulary import (
    PRECISIONS,
    Base,
    GpuLayers,
    JudgeReasons,
    Language,
    Mode,
    Precision,
    RemoveDeleted,
    Style,
)

log = logging.getLogger(__name__)

APP_NAME = "KidneyTalk"
SETTINGS_FILE = "settings.json"
LOCATION_FILE = (
    "location.json"  # in the config folder: {"data": "/elsewhere"} keeps the library there
)


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
            value = json.loads((self.config / LOCATION_FILE).read_text(encoding="utf-8")).get(
                "data"
            )
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
        write_private(tmp, json.dumps({"data": str(path)}, indent=2))
        os.replace(tmp, target)

    def ensure(self) -> Paths:
        """Create the three folders, private to the user (existing ones are tightened)."""
        for p, own in ((self.config, _OWN_CONFIG), (self.data, _OWN_DATA), (self.logs, _OWN_LOGS)):
            try:
                p.mkdir(parents=True, exist_ok=True)
            except OSError as exc:  # e.g. a home on read-only media, before it held a library
                raise KidneyTalkError(
                    f"KidneyTalk cannot create its folder {p}: {exc.strerror or exc}. "
                    "Choose a folder you can write to (--home or KIDNEYTALK_HOME)."
                ) from None
            make_private(p, own)
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
    def own(self) -> Path:
        """The user's own files of this library (chats, evaluation runs): the data folder, or, when
        that is read-only, a folder per library in the user's config folder.

        A read-only library (a shared reference library on read-only media or a
        network share) still keeps the user's own conversations and evaluation
        runs, privately and per library, in a place this user can write.
        """
        if read_only_reason(self.data):
            key = hashlib.sha256(str(self.data.resolve()).encode("utf-8", "surrogateescape"))
            return self.config / "read-only-libraries" / key.hexdigest()[:16]
        return self.data

    @property
    def conversations(self) -> Path:
        """Saved chats (see :attr:`own`)."""
        return self.own / "conversations.sqlite3"

    @property
    def evaluations(self) -> Path:
        """Evaluation run folders (see :attr:`own`)."""
        return self.own / "evaluations"

    @property
    def lock(self) -> Path:
        return self.data / "library.lock"

    @property
    def models_file(self) -> Path:
        return self.config / "models.json"

    @property
    def embed_cache(self) -> Path:
        """Local int8 exports of embedding models (made on first use, safe to delete).

        ``KIDNEYTALK_EMBED_CACHE`` moves it, e.g. to share one export between many
        throw-away homes (tests, benchmarks); exports are keyed by a fingerprint of
        the model folder, so sharing is safe.
        """
        shared = os.environ.get("KIDNEYTALK_EMBED_CACHE")
        return Path(shared).expanduser() if shared else self.config / "cache" / "embedder"

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
    n_gpu_layers: GpuLayers = (
        "auto"  # auto: every layer on the GPU when llama-cpp-python has a GPU backend
    )
    temperature: float = 0.1
    max_answer_tokens: int = 512
    # A reasoning model's thought has its own budget, not taken from max_answer_tokens;
    # a longer thought is cut (the reasoning says so) and the model goes on to answer.
    max_thinking_tokens: int = 1024


@dataclass(frozen=True)
class RetrievalSettings:
    """AddRep and answer-style switches (each stage can be turned off)."""

    mode: Mode = "addrep"  # naive | hybrid | addrep
    style: Style = "cp-order"  # off | cp-order | cp-link | cp-refine
    base: Base = "hybrid"  # what AddRep searches with: naive | hybrid
    refine_query: bool = True
    divergent: bool = True
    n_divergent: int = 3
    k_first: int = 6  # hits of the first search
    k_divergent: int = 3  # hits per divergent question
    min_similarity: float = 0.2  # cosine below which a candidate is dropped before judging
    judge: bool = True
    judge_threshold: float = 0.5  # calibrated P(relevant) needed to keep a candidate
    judge_reasons: JudgeReasons = (
        "kept"  # kept | all | none: which candidates get a generated reason
    )
    # Trusted passages survive a judge's "no" unless the judge is sure (calibrated P < judge_veto):
    # the first search's best match (trust_best) and first-search hits at least trust_similarity
    # similar to the query. A small model's judge is barely better than chance
    # (bench/results/query.json: AUC 0.54 against 0.91 for cosine); a confident one can still
    # veto, so it can still lead to a refusal.
    trust_best: bool = True
    # AddRep's first-search hits are all trusted (issue 16: AddRep must find what its base search finds);
    # off, only the best and those over trust_similarity are.
    trust_base: bool = True
    trust_similarity: float = 0.6
    judge_veto: float = 0.1
    max_evidence: int = 6
    gate: bool = True  # relevance gate: refuse when the library does not cover the question (retrieval/gate.py)
    refine_rounds: int = 2  # cp-refine revision rounds
    refine_target: float = 0.8  # cp-refine stops when coverage reaches this
    unsupported_below: float = 0.5  # citation support under which a sentence is flagged


@dataclass(frozen=True)
class FolderSettings:
    """Followed folders (:mod:`kidneytalk.folders`)."""

    remove_deleted: RemoveDeleted = (
        "ask"  # a file deleted from a followed folder: ask | always | never remove it
    )
    poll_seconds: int = (
        30  # the desktop app looks for changes this often (and at once when a folder changes)
    )


# auto: bf16 on CPUs with native bf16, else int8 (ONNX export made locally) where onnxruntime
# is installed, else fp32. See kidneytalk.embed.
EMBEDDING_PRECISIONS = PRECISIONS


@dataclass(frozen=True)
class Settings:
    """Everything a user can change, with safe defaults for the embedded models."""

    chunk: ChunkSettings = field(default_factory=ChunkSettings)
    llm: LLMSettings = field(default_factory=LLMSettings)
    retrieval: RetrievalSettings = field(default_factory=RetrievalSettings)
    folders: FolderSettings = field(default_factory=FolderSettings)
    embedding_model: str = ""  # a sentence-transformers folder; "" = bundled MiniLM
    embedding_precision: Precision = "auto"  # auto | fp32 | bf16 | int8 (see kidneytalk.embed)
    embed_batch_size: int = 64
    filter_agent: bool = False
    top_k: int = 6
    language: Language = "en"
    # A file over a limit is refused before any work starts (0: no limit); the message says
    # which setting allows it. Plain text has its own, lower limit: 2 MB of text is ~2,500
    # passages, minutes of embedding on two cores (a PDF's megabytes are mostly images).
    max_file_mb: int = 200
    max_text_mb: int = 2
    max_pages: int = 5000

    def replace(self, **changes: Any) -> Settings:
        return dataclasses.replace(self, **changes)

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, raw: dict[str, Any]) -> Settings:
        """Build settings from a dict as is (unknown keys ignored); see :meth:`checked` to validate."""
        known = {f.name for f in dataclasses.fields(cls)}
        values = {k: v for k, v in raw.items() if k in known}
        for name, sub in _SECTIONS.items():
            if isinstance(values.get(name), dict):
                values[name] = sub(**_known(sub, values[name]))
        return cls(**values)

    @classmethod
    def checked(cls, raw: object) -> tuple[Settings, list[str]]:
        """Settings from ``raw`` with every invalid value replaced by its default, and the problems.

        Unknown keys are ignored (a newer KidneyTalk may have written them).
        """
        problems: list[str] = []
        if not isinstance(raw, dict):
            return cls(), [f"expected a JSON object, found {type(raw).__name__}"]
        default = cls().to_dict()
        data: dict[str, Any] = {}
        bad_groups: set[str] = set()
        for key, hint in settings_fields().items():
            *parents, leaf = key.split(".")
            src: Any = raw
            for part in parents:
                src = src.get(part) if isinstance(src, dict) else None
            if parents and src is not None and not isinstance(src, dict):
                group = ".".join(parents)
                if group not in bad_groups:
                    bad_groups.add(group)
                    problems.append(f"{group} must be a group of settings, not {_shown(src)}")
                src = None
            node = data
            for part in parents:
                node = node.setdefault(part, {})
            if not isinstance(src, dict) or leaf not in src:
                node[leaf] = _get(default, key)
                continue
            try:
                node[leaf] = check_value(key, src[leaf], hint)
            except SettingsError as exc:
                problems.append(str(exc))
                node[leaf] = _get(default, key)
        settings = cls.from_dict(data)
        for keys, problem in settings.cross_problems():
            problems.append(problem)
            for key in keys:
                _set(data, key, _get(default, key))
            settings = cls.from_dict(data)
        return settings, problems

    def cross_problems(self) -> list[tuple[tuple[str, ...], str]]:
        """Rules between fields: (the keys involved, the problem)."""
        out = []
        for keys, rule in CROSS_RULES:
            problem = rule(self)
            if problem:
                out.append((keys, problem))
        return out

    def problems(self) -> list[str]:
        """Everything wrong with these settings (empty when valid)."""
        data = self.to_dict()
        out: list[str] = []
        for key, hint in settings_fields().items():
            try:
                check_value(key, _get(data, key), hint)
            except SettingsError as exc:
                out.append(str(exc))
        return out + [p for _, p in self.cross_problems()]

    def validate(self) -> Settings:
        """These settings, or :class:`SettingsError` naming every problem on one line."""
        problems = self.problems()
        if problems:
            raise SettingsError(problems[0] if len(problems) == 1 else "; ".join(problems))
        return self

    def with_value(self, key: str, value: object) -> Settings:
        """A copy with the dotted ``key`` set to ``value`` (a string is parsed as the field's type), validated.

        Raises :class:`SettingsError` with one line for an unknown key or a bad value.
        """
        hints = settings_fields()
        if key not in hints:
            raise SettingsError(f"Unknown setting '{key}' (see 'kidneytalk settings').")
        hint = hints[key]
        parsed = (
            parse_value(key, value, hint)
            if isinstance(value, str)
            else check_value(key, value, hint)
        )
        data = self.to_dict()
        _set(data, key, parsed)
        return Settings.from_dict(data).validate()

    def get(self, key: str) -> Any:
        """The value of a dotted key such as ``retrieval.mode``."""
        if key not in settings_fields():
            raise SettingsError(f"Unknown setting '{key}' (see 'kidneytalk settings').")
        return _get(self.to_dict(), key)

    @classmethod
    def load(cls, paths: Paths, notices: list[str] | None = None) -> Settings:
        """The saved settings; a broken file never stops KidneyTalk.

        Invalid values fall back to their defaults (the whole file when it is
        not JSON): the broken file is kept as ``settings.json.bad-<time>``, the
        repaired settings are saved, and one line saying so is logged and
        appended to ``notices``.
        """
        file = paths.config / SETTINGS_FILE
        try:
            text = file.read_text(encoding="utf-8")
        except FileNotFoundError:
            return cls()
        except (OSError, UnicodeDecodeError) as exc:
            return cls._recovered(
                paths,
                cls(),
                f"cannot be read ({_reason(exc)}): using the default settings",
                notices,
            )
        try:
            raw = json.loads(text)
        except ValueError as exc:
            return cls._recovered(
                paths, cls(), f"is not valid JSON ({exc}): using the default settings", notices
            )
        settings, problems = cls.checked(raw)
        if problems:
            return cls._recovered(
                paths,
                settings,
                "has invalid values (" + "; ".join(problems) + "): using the defaults for those",
                notices,
            )
        return settings

    @classmethod
    def _recovered(
        cls, paths: Paths, settings: Settings, what: str, notices: list[str] | None
    ) -> Settings:
        file = paths.config / SETTINGS_FILE
        backup = file.with_name(
            f"{SETTINGS_FILE}.bad-{datetime.now(UTC).strftime('%Y%m%dT%H%M%S')}"
        )
        kept = ""
        try:
            if not backup.exists():
                os.replace(file, backup)
            settings.save(paths)
            kept = f"; the original is kept as {backup}"
        except OSError as exc:
            kept = f"; it could not be repaired ({_reason(exc)})"
        message = f"Settings file {file} {what}{kept}."
        log.warning("%s", message)
        if notices is not None:
            notices.append(message)
        return settings

    def save(self, paths: Paths) -> None:
        try:
            paths.config.mkdir(parents=True, exist_ok=True)
            file = paths.config / SETTINGS_FILE
            tmp = file.with_suffix(".tmp")
            write_private(tmp, json.dumps(self.to_dict(), indent=2))
            os.replace(tmp, file)
        except OSError as exc:  # e.g. the whole KidneyTalk folder on read-only media
            if exc.errno not in (errno.EROFS, errno.EACCES, errno.EPERM):
                raise
            raise KidneyTalkError(
                f"Settings cannot be saved: {paths.config} is read-only ({exc.strerror})."
            ) from exc


_SECTIONS: dict[str, type] = {
    "chunk": ChunkSettings,
    "llm": LLMSettings,
    "retrieval": RetrievalSettings,
    "folders": FolderSettings,
}


def _known(cls: type, raw: dict[str, Any]) -> dict[str, Any]:
    names = {f.name for f in dataclasses.fields(cls)}
    return {k: v for k, v in raw.items() if k in names}


def _get(data: dict[str, Any], key: str) -> Any:
    node: Any = data
    for part in key.split("."):
        node = node[part]
    return node


def _set(data: dict[str, Any], key: str, value: Any) -> None:
    *parents, leaf = key.split(".")
    node = data
    for part in parents:
        node = node[part]
    node[leaf] = value


def _reason(exc: BaseException) -> str:
    return getattr(exc, "strerror", None) or str(exc) or type(exc).__name__


# ---------------------------------------------------------------- validation
Rule = Callable[[Any], "str | None"]
"""A check on a value already of the right type: the problem in a few words, or None."""


def at_least(lo: float) -> Rule:
    return lambda v: f"must be at least {lo}" if v < lo else None


def between(lo: float, hi: float) -> Rule:
    return lambda v: f"must be between {lo} and {hi}" if not lo <= v <= hi else None


FIELD_RULES: dict[str, Rule] = {
    "chunk.size_tokens": between(16, 8192),
    "chunk.overlap_tokens": at_least(0),
    "llm.n_ctx": between(512, 1 << 20),
    "llm.n_threads": between(0, 1024),
    "llm.n_gpu_layers": lambda v: (
        None if v == "auto" or v >= 0 else "must be auto or a number of layers (0: CPU only)"
    ),
    "llm.temperature": between(0.0, 5.0),
    "llm.max_answer_tokens": at_least(1),
    "llm.max_thinking_tokens": between(1, 1 << 20),
    "retrieval.n_divergent": between(1, 20),
    "retrieval.k_first": between(1, 1000),
    "retrieval.k_divergent": between(1, 1000),
    "retrieval.min_similarity": between(0.0, 1.0),
    "retrieval.judge_threshold": between(0.0, 1.0),
    "retrieval.trust_similarity": between(0.0, 1.0),
    "retrieval.judge_veto": between(0.0, 1.0),
    "retrieval.max_evidence": between(1, 1000),
    "retrieval.refine_rounds": between(0, 20),
    "retrieval.refine_target": between(0.0, 1.0),
    "retrieval.unsupported_below": between(0.0, 1.0),
    "embed_batch_size": between(1, 4096),
    "top_k": between(1, 1000),
    "max_file_mb": at_least(0),
    "max_text_mb": at_least(0),
    "max_pages": at_least(0),
    "folders.poll_seconds": between(2, 86400),
}
"""Per-field rules beyond the declared type (a ``Literal`` type already limits the choices)."""

CROSS_RULES: list[tuple[tuple[str, ...], Callable[[Settings], str | None]]] = [
    (
        ("chunk.size_tokens", "chunk.overlap_tokens"),
        lambda s: (
            None
            if s.chunk.overlap_tokens < s.chunk.size_tokens
            else f"chunk.overlap_tokens ({s.chunk.overlap_tokens}) must be smaller than chunk.size_tokens ({s.chunk.size_tokens})"
        ),
    ),
    (
        ("llm.n_ctx", "llm.max_answer_tokens"),
        lambda s: (
            None
            if s.llm.max_answer_tokens < s.llm.n_ctx
            else f"llm.max_answer_tokens ({s.llm.max_answer_tokens}) must be smaller than llm.n_ctx ({s.llm.n_ctx})"
        ),
    ),
]
"""Rules between fields: the keys reset to their defaults when a loaded file breaks one, and the rule."""


def settings_fields() -> dict[str, Any]:
    """Every leaf setting as a dotted key, with its declared type."""
    out: dict[str, Any] = {}
    module = vars(sys.modules[__name__])
    for f, hint in typing.get_type_hints(Settings, module).items():
        if dataclasses.is_dataclass(hint):
            for sub, sub_hint in typing.get_type_hints(hint, module).items():
                out[f"{f}.{sub}"] = sub_hint
        else:
            out[f] = hint
    return out


def _arms(hint: Any) -> tuple[Any, ...]:
    """The types of a union setting such as ``int | Literal["auto"]`` (empty for any other type)."""
    return get_args(hint) if get_origin(hint) in (typing.Union, types.UnionType) else ()


def _type_name(hint: Any) -> str:
    if _arms(hint):
        return " or ".join(_type_name(arm) for arm in _arms(hint))
    if get_origin(hint) is Literal:
        return "one of " + ", ".join(str(a) for a in get_args(hint))
    return {bool: "true or false", int: "a whole number", float: "a number", str: "text"}.get(
        hint, str(hint)
    )


def _shown(value: object) -> str:
    text = json.dumps(value, ensure_ascii=False) if not isinstance(value, str) else repr(value)
    return text if len(text) <= 60 else text[:59] + "…"


def check_value(key: str, value: object, hint: Any = None) -> Any:
    """``value`` for ``key`` checked against its type and rule (ints widen to floats); :class:`SettingsError` if bad."""
    hint = hint if hint is not None else settings_fields()[key]
    ok = _typed(value, hint)
    if ok is None:
        raise SettingsError(f"{key} must be {_type_name(hint)}, not {_shown(value)}")
    rule = FIELD_RULES.get(key)
    problem = rule(ok) if rule else None
    if problem:
        raise SettingsError(f"{key} {problem}, not {_shown(value)}")
    return ok


def _typed(value: object, hint: Any) -> Any:
    """``value`` if it is of type ``hint`` (ints widen to floats; a union takes its first fitting arm), else None."""
    ok: Any
    if _arms(hint):
        ok = next((v for arm in _arms(hint) if (v := _typed(value, arm)) is not None), None)
    elif get_origin(hint) is Literal:
        ok = value if value in get_args(hint) and isinstance(value, str) else None
    elif hint is bool:
        ok = value if isinstance(value, bool) else None
    elif hint is int:
        ok = value if isinstance(value, int) and not isinstance(value, bool) else None
    elif hint is float:
        ok = (
            float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None
        )
        if ok is not None and not math.isfinite(ok):
            ok = None
    elif hint is str:
        ok = value if isinstance(value, str) else None
    else:
        ok = value
    return ok


_TRUE = {"true", "yes", "on", "1"}
_FALSE = {"false", "no", "off", "0"}


def parse_value(key: str, text: str, hint: Any = None) -> Any:
    """A value typed on the command line or in a form, parsed as the field's type and checked."""
    hint = hint if hint is not None else settings_fields()[key]
    word = text.strip()
    value: object = text
    if _arms(hint):  # e.g. int | Literal["auto"]: a number if it reads as one, else the word
        try:
            value = int(word) if int in _arms(hint) else word
        except ValueError:
            value = word
    elif hint is bool:
        value = True if word.lower() in _TRUE else False if word.lower() in _FALSE else text
    elif hint is int:
        try:
            value = int(word)
        except ValueError:
            pass
    elif hint is float:
        try:
            value = float(word)
        except ValueError:
            pass
    elif get_origin(hint) is Literal:
        value = word
    return check_value(key, value, hint)


# ---------------------------------------------------------------- private files
PRIVATE_DIR = 0o700
PRIVATE_FILE = 0o600


# What KidneyTalk keeps in each folder (patterns): only these are tightened, since a data
# folder chosen by the user (e.g. the root of an encrypted drive) may hold other things.
_OWN_CONFIG = ("settings.json*", "location.json", "models.json", "prompts", "window.ini", "*.tmp")
_OWN_DATA = ("catalog.sqlite3*", "conversations.sqlite3*", "chroma", "documents", "library.lock")
_OWN_LOGS = ("kidneytalk.log*",)


def make_private(folder: Path, own: tuple[str, ...] = ("*",)) -> None:
    """Keep ``folder`` and what KidneyTalk writes in it private to the user (POSIX).

    New files: the process umask gets the group and other bits, so every file
    and folder created from now on (by KidneyTalk, SQLite, chroma, logging) is
    0600/0700 whatever the umask was. Existing content: a folder left readable
    by others (an older KidneyTalk, a generous umask) is tightened once, with
    KidneyTalk's entries in it (``own``: name patterns; folders with all they hold).
    """
    if os.name != "posix":
        return
    old = os.umask(0o077)
    os.umask(old | 0o077)
    try:
        mode = stat.S_IMODE(folder.stat().st_mode)
    except OSError:
        return
    if mode & 0o077 == 0:
        return
    _tighten(folder)
    for entry in folder.iterdir():
        if not any(fnmatch.fnmatch(entry.name, pattern) for pattern in own):
            continue
        _tighten(entry)
        if entry.is_dir() and not entry.is_symlink():
            for root, dirs, files in os.walk(entry):
                for name in dirs + files:
                    _tighten(Path(root) / name)


def _tighten(path: Path) -> None:
    try:
        st = path.lstat()
        if stat.S_ISLNK(st.st_mode):
            return
        mode = stat.S_IMODE(st.st_mode)
        if mode & 0o077:
            os.chmod(path, mode & ~0o077 | (PRIVATE_DIR if stat.S_ISDIR(st.st_mode) else 0))
    except OSError as exc:  # not ours (e.g. a shared mount): leave it, say so in the log
        log.warning("could not make %s private: %s", path, _reason(exc))


def write_private(path: Path, text: str) -> None:
    """Write ``text`` to a new file only the user can read, whatever the umask."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, PRIVATE_FILE)
    try:
        if os.name == "posix":
            os.fchmod(fd, PRIVATE_FILE)
        data = memoryview(text.encode("utf-8"))
        while data:
            data = data[os.write(fd, data) :]
    finally:
        os.close(fd)


def read_only_reason(folder: Path) -> str:
    """Why KidneyTalk cannot write in the existing ``folder`` ("" when it can, or when it does not exist yet).

    A read-only mount (``ST_RDONLY``), no write permission, or a probe file that
    cannot be created (EROFS/EACCES/EPERM: e.g. a network share that says yes to
    ``access`` and no to writes). The probe leaves nothing behind.
    """
    if not folder.is_dir():
        return ""
    with contextlib.suppress(OSError, AttributeError):  # no statvfs on Windows
        if os.statvfs(folder).f_flag & os.ST_RDONLY:
            return "on a read-only file system"
    if not os.access(folder, os.W_OK | os.X_OK):
        return "not writable by this user"
    try:
        fd, probe = tempfile.mkstemp(prefix=".kidneytalk-probe-", dir=folder)
    except OSError as exc:
        if exc.errno in (errno.EROFS, errno.EACCES, errno.EPERM):
            return "not writable (" + (exc.strerror or "refused") + ")"
        return ""  # e.g. a full disk: writable, the add path says so
    os.close(fd)
    with contextlib.suppress(OSError):
        os.unlink(probe)
    return ""
