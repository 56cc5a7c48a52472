"""What every retrieval/answer stage did: inputs, outputs, timings, and progress events."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any


@dataclass
class StageEvent:
    """Live progress for the GUI/CLI: ``stage`` with step ``i`` of ``n``."""

    stage: str  # refine | search | divergent | judge | assemble | write
    i: int = 0
    n: int = 0
    message: str = ""


StageCallback = Callable[[StageEvent], None]


@dataclass
class Step:
    stage: str
    seconds: float = 0.0
    inputs: dict[str, Any] = field(default_factory=dict)
    outputs: dict[str, Any] = field(default_factory=dict)
    skipped: bool = False

    def to_json(self) -> dict[str, Any]:
        return {
            "stage": self.stage,
            "seconds": round(self.seconds, 3),
            "skipped": self.skipped,
            "inputs": self.inputs,
            "outputs": self.outputs,
        }


@dataclass
class Trace:
    steps: list[Step] = field(default_factory=list)
    on_event: StageCallback | None = None

    def event(self, stage: str, i: int = 0, n: int = 0, message: str = "") -> None:
        if self.on_event is not None:
            self.on_event(StageEvent(stage, i, n, message))

    @contextmanager
    def step(self, stage: str, **inputs: Any) -> Iterator[Step]:
        step = Step(stage, inputs=inputs)
        self.steps.append(step)
        start = time.monotonic()
        try:
            yield step
        finally:
            step.seconds = time.monotonic() - start

    def skip(self, stage: str, reason: str) -> None:
        self.steps.append(Step(stage, skipped=True, outputs={"reason": reason}))

    def timings(self) -> dict[str, float]:
        out: dict[str, float] = {}
        for s in self.steps:
            out[s.stage] = round(out.get(s.stage, 0.0) + s.seconds, 3)
        return out

    def to_json(self) -> list[dict[str, Any]]:
        return [s.to_json() for s in self.steps]
