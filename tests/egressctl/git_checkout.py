"""A throwaway git checkout, for tests of what egressctl reads from one."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path


def git_commit_all(directory: Path) -> str:
    """`git init` and commit everything in `directory`; its HEAD."""
    git = shutil.which("git")
    assert git is not None, "git is needed to make a checkout"
    # Whatever the machine's git configuration asks of a commit, this one needs no more.
    identity = ["-c", "user.name=test", "-c", "user.email=test@example.invalid"]
    identity += ["-c", "commit.gpgsign=false", "-c", "core.hooksPath=/dev/null"]
    env = {k: v for k, v in os.environ.items() if not k.startswith("GIT_")}

    def run(*args: str) -> str:
        done = subprocess.run(
            [git, *args], cwd=directory, check=True, timeout=60, env=env, capture_output=True
        )
        return done.stdout.decode().strip()

    run("init", "-q")
    run("add", ".")
    run(*identity, "commit", "-q", "-m", "stack")
    return run("rev-parse", "HEAD")
