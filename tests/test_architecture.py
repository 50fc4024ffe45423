"""docs/architecture.md stays true: its module table, its dotted names and its rule table."""

from __future__ import annotations

import importlib
import re
from pathlib import Path

from antrea_egress.config import rules

ROOT = Path(__file__).resolve().parents[1]
DOC = ROOT / "docs" / "architecture.md"
PACKAGES = ("components", "antrea_egress", "egressctl")
DOTTED = re.compile(r"`((?:antrea_egress|components|egressctl)(?:\.\w+)+)`")


def program_modules() -> set[str]:
    """The program's modules (`__init__.py` files aside), as paths from the root."""
    return {"__main__.py"} | {
        str(path.relative_to(ROOT))
        for package in PACKAGES
        for path in (ROOT / package).rglob("*.py")
        if path.name != "__init__.py" and "__pycache__" not in path.parts
    }


def resolves(dotted: str) -> bool:
    """Whether `a.b.c.d` is a module followed by attributes that exist."""
    parts = dotted.split(".")
    for split in range(len(parts), 0, -1):
        try:
            target: object = importlib.import_module(".".join(parts[:split]))
        except ModuleNotFoundError:
            continue
        for name in parts[split:]:
            if not hasattr(target, name):
                return False
            target = getattr(target, name)
        return True
    return False


def rule_table() -> str:
    rows = [
        f"| `{rule.name}` | {rule.scope.value} | "
        f"{', '.join(f'`{key}`' for key in rule.keys)} | {rule.summary} |"
        for rule in rules.RULES
    ]
    return "\n".join(["| rule | checks | reported at | what |", "|---|---|---|---|", *rows])


def test_every_program_module_is_in_the_table_and_every_module_named_exists() -> None:
    text = DOC.read_text()
    table = set(re.findall(r"^\| `([\w/]+\.py)` \|", text, re.MULTILINE))
    named = set(re.findall(r"`([\w/]+\.py)`", text))

    assert sorted(program_modules() - table) == []
    assert sorted(path for path in named if not (ROOT / path).is_file()) == []


def test_every_dotted_name_resolves() -> None:
    names = set(DOTTED.findall(DOC.read_text()))

    assert names
    assert sorted(name for name in names if not resolves(name)) == []


def test_the_rule_table_is_the_one_in_the_code() -> None:
    assert rule_table() in DOC.read_text(), "docs/architecture.md should have:\n" + rule_table()
