"""Where the project and its stacks are: one place for paths the commands share."""

from __future__ import annotations

from pathlib import Path

PROJECT_DIR = Path(__file__).resolve().parents[1]
PROJECT_NAME = "antrea-egress"


def stack_file(stack: str, work_dir: Path = PROJECT_DIR) -> Path:
    return work_dir / f"Pulumi.{stack}.yaml"


def known_stacks(work_dir: Path = PROJECT_DIR) -> list[str]:
    """Stacks with a committed Pulumi.<stack>.yaml."""
    return sorted(
        p.name.removeprefix("Pulumi.").removesuffix(".yaml") for p in work_dir.glob("Pulumi.*.yaml")
    )
