"""tools/mutation-score: the README's mutation figures come from mutmut's results, reproducibly.

The .meta layout is mutmut 3's (mutmut/__main__.py `SourceFileMutationData.save`: a JSON object
whose "exit_code_by_key" maps each mutant to its test run's exit code, null before it ran).
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

SCRIPT = Path(__file__).resolve().parents[2] / "tools" / "mutation-score"
MUTANT = "antrea_egress.nsx.retries.x_backoff__mutmut_{}"


def write_meta(mutants: Path, module: str, exit_codes: dict[str, int | None]) -> None:
    meta = mutants / f"{module}.meta"
    meta.parent.mkdir(parents=True, exist_ok=True)
    meta.write_text(json.dumps({"exit_code_by_key": exit_codes}))


def run_score(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [
            sys.executable,
            str(SCRIPT),
            "--mutants",
            str(tmp_path / "mutants"),
            "--explained",
            str(tmp_path / "explained.md"),
            *args,
        ],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )


def row(output: str, module: str) -> list[str]:
    return next(line.split() for line in output.splitlines() if line.startswith(module))


def test_scores_count_no_test_mutants_as_survivors_and_explained_ones_apart(tmp_path):
    # 6 killed (1, 3 and a timeout 36 count as kills), 2 survived, 1 no test (33), 1 odd code.
    codes: dict[str, int | None] = {MUTANT.format(n): 1 for n in range(1, 5)}
    codes |= {MUTANT.format(5): 3, MUTANT.format(6): 36, MUTANT.format(7): 0}
    codes |= {MUTANT.format(8): 0, MUTANT.format(9): 33, MUTANT.format(10): 35}
    write_meta(tmp_path / "mutants", "antrea_egress/nsx/retries.py", codes)
    (tmp_path / "explained.md").write_text(f"- `{MUTANT.format(7)}`: equivalent\n")

    result = run_score(tmp_path, "--survivors")

    assert result.returncode == 0, result.stderr
    # killed, survivors, explained, not run, raw %, adjusted %: 6/10 and 6/9.
    assert row(result.stdout, "antrea_egress/nsx/retries.py")[1:] == [
        "6", "4", "1", "0", "60.0", "66.7",
    ]  # fmt: skip
    assert row(result.stdout, "total")[1:] == ["6", "4", "1", "0", "60.0", "66.7"]
    listed = [line for line in result.stdout.splitlines() if "__mutmut_" in line]
    assert listed == [MUTANT.format(n) for n in (10, 8, 9)]


def test_the_total_adds_up_every_module(tmp_path):
    write_meta(tmp_path / "mutants", "a/one.py", {MUTANT.format(1): 1, MUTANT.format(2): 0})
    write_meta(tmp_path / "mutants", "b/two.py", {MUTANT.format(3): 1, MUTANT.format(4): 1})

    result = run_score(tmp_path)

    assert result.returncode == 0, result.stderr
    assert row(result.stdout, "a/one.py")[1:] == ["1", "1", "0", "0", "50.0", "50.0"]
    assert row(result.stdout, "b/two.py")[1:] == ["2", "0", "0", "0", "100.0", "100.0"]
    assert row(result.stdout, "total")[1:] == ["3", "1", "0", "0", "75.0", "75.0"]


def test_mutants_not_run_yet_make_the_figures_incomplete(tmp_path):
    write_meta(tmp_path / "mutants", "a/one.py", {MUTANT.format(1): 1, MUTANT.format(2): None})

    result = run_score(tmp_path)

    assert result.returncode == 1
    assert row(result.stdout, "a/one.py")[1:] == ["1", "0", "0", "1", "100.0", "100.0"]
    assert "1 mutants not run yet: incomplete" in result.stderr


def test_no_results_say_how_to_get_them(tmp_path):
    result = run_score(tmp_path)

    assert result.returncode == 1
    assert "no results under" in result.stderr
    assert "mutmut run" in result.stderr
