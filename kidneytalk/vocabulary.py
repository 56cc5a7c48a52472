"""The names a user can choose, defined once.

Settings validation (:mod:`kidneytalk.config`), the CLI's ``choices``, the
desktop app's combo boxes and the evaluation harness all read these; a name
added here is accepted everywhere at once. Each ``Literal`` type is what mypy
checks; the tuple next to it is the same names, in display order, for code.
"""

from __future__ import annotations

from typing import Literal, get_args

Mode = Literal["naive", "hybrid", "addrep"]
"""Retrieval mode: vector search, vector + keyword search, or AddRep's agents on top."""
MODES: tuple[Mode, ...] = get_args(Mode)

Style = Literal["off", "cp-order", "cp-link", "cp-refine"]
"""Answer style: free answer, or sentences copied from the evidence (three ways)."""
STYLES: tuple[Style, ...] = get_args(Style)

Base = Literal["naive", "hybrid"]
"""The search AddRep's agents build on."""
BASES: tuple[Base, ...] = get_args(Base)

JudgeReasons = Literal["kept", "all", "none"]
"""Which judged candidates get a generated reason."""
JUDGE_REASONS: tuple[JudgeReasons, ...] = get_args(JudgeReasons)

Precision = Literal["auto", "fp32", "bf16", "int8"]
"""Embedding precision: ``auto`` picks bf16 only where the CPU computes it natively."""
PRECISIONS: tuple[Precision, ...] = get_args(Precision)

Language = Literal["en", "zh"]
"""Language of the interface and of the prompts (``zh``: Simplified Chinese)."""
LANGUAGES: tuple[Language, ...] = get_args(Language)

GpuLayers = int | Literal["auto"]
"""Layers of the LLM offloaded to a GPU: ``auto`` (all when llama-cpp-python has a GPU backend, else none) or a count."""

EvalMode = Literal["no-rag", "naive", "hybrid", "addrep"]
"""What the evaluation harness can score: the retrieval modes plus the model alone."""
EVAL_MODES: tuple[EvalMode, ...] = get_args(EvalMode)

RemoveDeleted = Literal["ask", "always", "never"]
"""What a sync does with documents whose file was deleted from a followed folder."""
REMOVE_DELETED: tuple[RemoveDeleted, ...] = get_args(RemoveDeleted)

__all__ = [
    "BASES",
    "EVAL_MODES",
    "JUDGE_REASONS",
    "LANGUAGES",
    "MODES",
    "PRECISIONS",
    "REMOVE_DELETED",
    "STYLES",
    "Base",
    "EvalMode",
    "GpuLayers",
    "JudgeReasons",
    "Language",
    "Mode",
    "Precision",
    "RemoveDeleted",
    "Style",
]
