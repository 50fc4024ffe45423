"""Where the project and its stacks are: one place for paths the commands share."""

from __future__ import annotations

from pathlib import Path

PROJECT_DIR = Path(__file__).resolve().parents[1]
PROJECT_NAME = "antrea-egress"


def stack_short_name(stack: str) -> str:
    """The stack's own name: the last segment of `org/prod` or `org/project/prod`.

    Pulumi Cloud stacks are often given fully qualified; the stack's settings file and the
    name the program sees (`pulumi.get_stack()`) use the last segment only. The Automation API
    gets the name as given.
    """
    return stack.rstrip("/").rsplit("/", 1)[-1]


def stack_file(stack: str, work_dir: Path = PROJECT_DIR) -> Path:
    """`Pulumi.<stack>.yaml`; for a fully qualified name, that of its last segment."""
    return work_dir / f"Pulumi.{stack_short_name(stack)}.yaml"


def known_stacks(work_dir: Path = PROJECT_DIR) -> list[str]:
    """Stacks with a committed Pulumi.<stack>.yaml."""
    return sorted(
        p.name.removeprefix("Pulumi.").removesuffix(".yaml") for p in work_dir.glob("Pulumi.*.yaml")
    )
