"""What the engine did, from its own event stream: the operations per resource, in order."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from typing import Any

from pulumi.automation import EngineEvent


class Steps:
    """The engine's steps of one operation (preview, up, refresh, destroy)."""

    def __init__(self) -> None:
        self.all_ops: dict[tuple[str, str], list[str]] = defaultdict(list)
        # The op of each step's outputs event: for a refresh, what it found (same, update:
        # drifted, delete: gone).
        self.outcomes: dict[tuple[str, str], list[str]] = defaultdict(list)
        self.order: list[tuple[str, str, str]] = []  # (event, type, name) as they came

    def __call__(self, event: EngineEvent) -> None:
        for kind, payload in (
            ("pre", event.resource_pre_event),
            ("outputs", event.res_outputs_event),
        ):
            if payload is None:
                continue
            metadata = payload.metadata
            key = (metadata.type, metadata.urn.rsplit("::", 1)[-1])
            op = str(metadata.op.value if hasattr(metadata.op, "value") else metadata.op)
            if kind == "pre":
                self.all_ops[key].append(op)
            else:
                self.outcomes[key].append(op)
            self.order.append((kind, *key))

    @property
    def ops(self) -> dict[tuple[str, str], str]:
        """The last operation per resource."""
        return {key: ops[-1] for key, ops in self.all_ops.items()}

    def ops_of(self, name: str) -> list[str]:
        """Every operation on the resource called `name` (a replacement is several)."""
        return [op for (_, n), ops in self.all_ops.items() if n == name for op in ops]

    def changed(self) -> dict[str, list[str]]:
        """Resource name -> operations, for every resource that is not `same` or a read.

        Providers are left out: the dynamic-provider host's default provider takes the whole
        stack config as its inputs, so every config edit shows it as an update."""
        return {
            name: ops
            for (kind, name), ops in self.all_ops.items()
            if set(ops) - {"same", "read"} and not kind.startswith("pulumi:providers:")
        }

    def outcome_of(self, name: str) -> list[str]:
        return [op for (_, n), ops in self.outcomes.items() if n == name for op in ops]

    def index(self, kind: str, name: str) -> int:
        return next(i for i, (k, _, n) in enumerate(self.order) if k == kind and n == name)


def operate(call: Callable[..., Any], **kwargs: Any) -> tuple[Any, Steps]:
    steps = Steps()
    result = call(on_event=steps, **kwargs)
    return result, steps
