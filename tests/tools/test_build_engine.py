"""tools/build-engine: its cache key, its checks, and the pins the Python side must match."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

from lab.toolchain import BASH, BUILD_SCRIPT, REPO, ToolchainMissingError, locate, pinned_versions

pytestmark = pytest.mark.timeout(60)


def run(*args: str, cache: Path) -> subprocess.CompletedProcess[str]:
    env = {"ANTREA_EGRESS_ENGINE_CACHE": str(cache), "PATH": "/usr/local/go/bin:/usr/bin:/bin"}
    return subprocess.run(
        [BASH, str(BUILD_SCRIPT), *args], capture_output=True, text=True, env=env, check=False
    )


def test_the_cache_directory_is_keyed_by_the_pins_and_stable(tmp_path: Path) -> None:
    first = run("--print-dir", cache=tmp_path).stdout.strip()
    second = run("--print-dir", cache=tmp_path).stdout.strip()
    assert first == second
    assert re.fullmatch(re.escape(str(tmp_path)) + r"/[0-9a-f]{16}", first)


def test_an_empty_cache_is_reported_not_built(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert run("--check", cache=tmp_path).returncode == 1
    monkeypatch.setenv("ANTREA_EGRESS_ENGINE_CACHE", str(tmp_path))
    with pytest.raises(ToolchainMissingError, match="run tools/build-engine"):
        locate()


def test_unknown_arguments_are_refused(tmp_path: Path) -> None:
    assert run("--frobnicate", cache=tmp_path).returncode == 2


def test_the_python_sdks_are_pinned_to_the_engine_we_build() -> None:
    """The Kubernetes plugin is looked up at exactly the SDK's version; the CLI must not be
    older than the SDK."""
    pins = dict(
        re.findall(
            r"^(pulumi|pulumi-kubernetes)==(\S+)$", (REPO / "requirements.txt").read_text(), re.M
        )
    )
    versions = pinned_versions()
    assert pins["pulumi-kubernetes"] == versions["KUBERNETES_PROVIDER_VERSION"]
    sdk = tuple(int(p) for p in pins["pulumi"].split("."))
    cli = tuple(int(p) for p in versions["PULUMI_VERSION"].lstrip("v").split("."))
    assert sdk <= cli
