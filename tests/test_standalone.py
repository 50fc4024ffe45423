"""The repository stands on its own: nothing points outside it, and every cited fact is in docs/.

Two rules for every file in the repository (tracked by git, or new and not ignored):
- it names no reading folder that sits beside a checkout on some machines but not on a user's;
- a citation of the form `<file>.md §N` names `docs/<file>.md`, and that doc has a heading for
  section N (`## N. ...` or `### N.M ...`).
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
# Built from parts so that this file does not match itself.
_FOLDER = "sha" + "red"
OUTSIDE_REFERENCES = (f"../{_FOLDER}", f"{_FOLDER}/reference", f"{_FOLDER}/crds")
CITATION = re.compile(r"(?P<doc>[\w./-]+\.md) §(?P<section>\d+(?:\.\d+)*)")
_SKIPPED_DIRS = frozenset({".git", "venv", ".ci-venv", "sdks", "rendered", ".lab", "__pycache__"})


def repository_files(root: Path) -> list[Path]:
    """What git would commit from `root`: tracked files and new, not ignored ones."""
    try:
        listed = subprocess.run(
            ["git", "ls-files", "--cached", "--others", "--exclude-standard", "-z"],  # noqa: S607
            cwd=root,
            capture_output=True,
            check=True,
            timeout=60,
        ).stdout
    except (OSError, subprocess.CalledProcessError):  # not a git checkout: walk it instead
        return [
            p
            for p in sorted(root.rglob("*"))
            if p.is_file() and not _SKIPPED_DIRS.intersection(p.relative_to(root).parts)
        ]
    return [root / name for name in sorted(set(listed.decode().split("\0"))) if name]


def text_of(path: Path) -> str:
    try:
        return path.read_text()
    except (UnicodeDecodeError, FileNotFoundError):  # binary, or deleted but still tracked
        return ""


def outside_references(root: Path) -> list[str]:
    found = []
    for path in repository_files(root):
        for number, line in enumerate(text_of(path).splitlines(), start=1):
            if any(ref in line for ref in OUTSIDE_REFERENCES):
                found.append(f"{path.relative_to(root)}:{number}: {line.strip()}")
    return found


def section_headings(doc: Path) -> set[str]:
    headings = re.findall(r"^#+\s+§?(\d+(?:\.\d+)*)[.\s]", text_of(doc), flags=re.M)
    return set(headings)


def unresolved_citations(root: Path) -> list[str]:
    found = []
    for path in repository_files(root):
        for number, line in enumerate(text_of(path).splitlines(), start=1):
            for cite in CITATION.finditer(line):
                doc, section = cite["doc"], cite["section"]
                where = f"{path.relative_to(root)}:{number}: {doc} §{section}"
                if not doc.startswith("docs/"):
                    found.append(f"{where} (cite docs/<file>.md)")
                elif section not in section_headings(root / doc):
                    found.append(f"{where} (no such section heading in {doc})")
    return found


def test_no_file_points_outside_the_repository() -> None:
    assert outside_references(ROOT) == []


def test_every_cited_section_exists_in_docs() -> None:
    assert unresolved_citations(ROOT) == []


@pytest.fixture
def small_repo(tmp_path: Path) -> Path:
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "facts.md").write_text("# Facts\n\n## 1. One\n\n### 1.2 Two\n")
    return tmp_path


def test_the_guards_can_fail(small_repo: Path) -> None:
    s = "§"  # kept apart from the file names, so that this file cites nothing itself
    (small_repo / "a.py").write_text(
        f"# see {OUTSIDE_REFERENCES[0]}/reference/x.md\n"
        f"# facts.md {s}1, docs/facts.md {s}1.2, docs/facts.md {s}3, docs/none.md {s}1\n"
    )
    assert outside_references(small_repo) == [
        f"a.py:1: # see {OUTSIDE_REFERENCES[0]}/reference/x.md"
    ]
    assert unresolved_citations(small_repo) == [
        f"a.py:2: facts.md {s}1 (cite docs/<file>.md)",
        f"a.py:2: docs/facts.md {s}3 (no such section heading in docs/facts.md)",
        f"a.py:2: docs/none.md {s}1 (no such section heading in docs/none.md)",
    ]
