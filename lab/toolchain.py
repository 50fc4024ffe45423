"""Where tools/build-engine put the real-engine toolchain, and the environment that uses it.

The build script owns the cache layout (its key is a digest of the pinned versions): we ask it
for the directory instead of computing the key a second time.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
BUILD_SCRIPT = REPO / "tools" / "build-engine"
VERSIONS_FILE = REPO / "tools" / "engine-versions.env"
BASH = shutil.which("bash") or "/bin/bash"
BUILD_TIMEOUT_S = 60  # --print-dir and --check only read the cache


class ToolchainMissingError(RuntimeError):
    """The toolchain is not built for the pinned versions."""


@dataclass(frozen=True)
class Toolchain:
    root: Path

    @property
    def bin(self) -> Path:
        return self.root / "bin"

    @property
    def pulumi_home(self) -> Path:
        return self.root / "pulumi-home"

    def binary(self, name: str) -> Path:
        return self.bin / name

    def engine_environment(self, base: Mapping[str, str]) -> dict[str, str]:
        """An environment in which the Pulumi CLI reaches nothing but loopback and the cache.

        PULUMI_HOME holds the plugin cache the build filled (kubernetes at its exact version);
        automatic plugin downloads, the update check and registry lookups are off, so a missing
        plugin fails at once instead of trying the internet.
        """
        env = dict(base)
        env["PATH"] = f"{self.bin}{os.pathsep}{env.get('PATH', '')}"
        env.update(
            {
                "PULUMI_HOME": str(self.pulumi_home),
                "PULUMI_SKIP_UPDATE_CHECK": "true",
                "PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION": "true",
                "PULUMI_DISABLE_REGISTRY_RESOLVE": "true",
                "PULUMI_AUTOMATION_API_SKIP_VERSION_CHECK": "true",
            }
        )
        return env


def pinned_versions() -> dict[str, str]:
    """tools/engine-versions.env as a mapping (the build script sources the same file)."""
    versions: dict[str, str] = {}
    for raw in VERSIONS_FILE.read_text().splitlines():
        line = raw.strip()
        if line and not line.startswith("#") and "=" in line:
            key, value = line.split("=", 1)
            versions[key] = value
    return versions


def locate() -> Toolchain:
    """The built toolchain, or ToolchainMissingError saying how to build it."""
    root = Path(_build_script("--print-dir").stdout.strip())
    if _build_script("--check").returncode != 0:
        raise ToolchainMissingError(
            f"the real-engine toolchain is not built in {root}: run tools/build-engine "
            "(about 45 minutes on 2 cores the first time, seconds once cached)"
        )
    return Toolchain(root)


def _build_script(flag: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(  # noqa: S603 - our own script, fixed arguments
        [BASH, str(BUILD_SCRIPT), flag],
        capture_output=True,
        text=True,
        timeout=BUILD_TIMEOUT_S,
        check=False,
    )
