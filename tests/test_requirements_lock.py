"""The hash-locked requirements follow their human-edited inputs.

requirements.lock is generated from requirements.txt + requirements-venv.txt, and
requirements-dev.lock from requirements-dev.txt + requirements-venv.txt held to requirements.lock
(tools/lock-requirements). .ci/run, quickstart.sh and the workflows install only the locks, with
`pip install --require-hashes`, so an input edited without a re-lock must fail here: every
requirement of an input is pinned `==` in its lock to a version the input allows, with at least
one sha256. pip itself proves the rest when it installs a lock (every dependency pinned and
hashed, or it refuses).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parents[1]
RUNTIME_INPUTS = ("requirements.txt", "requirements-venv.txt")
DEV_INPUTS = ("requirements-dev.txt", "requirements-venv.txt")
LOCKS = {"requirements.lock": RUNTIME_INPUTS, "requirements-dev.lock": DEV_INPUTS}
REGENERATE = "tools/lock-requirements"
# The engine the real-engine suite builds matches these exactly (tools/engine-versions.env).
ENGINE_PINS = {"pulumi": "3.272.0", "pulumi-kubernetes": "4.25.0"}

PIN = re.compile(r"^(?P<name>[A-Za-z0-9][A-Za-z0-9._-]*)==(?P<version>\S+)$")
HASH = re.compile(r"^--hash=sha256:[0-9a-f]{64}$")


@dataclass(frozen=True)
class Locked:
    version: str
    hashes: tuple[str, ...]


def logical_lines(text: str) -> list[str]:
    """A requirements file's lines with `\\` continuations joined and comments dropped."""
    joined = re.sub(r"\\\n", " ", text)
    lines = (re.sub(r"(^|\s)#.*$", "", line).strip() for line in joined.splitlines())
    return [line for line in lines if line]


def input_requirements(name: str, base: Path = ROOT) -> list[Requirement]:
    """The requirements of an input file, following `-r` includes; local paths are skipped
    (`pulumi install` appends the generated SDK's directory to requirements.txt)."""
    found: list[Requirement] = []
    for line in logical_lines((base / name).read_text()):
        if line.startswith(("-r ", "--requirement ")):
            found += input_requirements(line.split(maxsplit=1)[1], base)
        elif line.startswith("-"):
            raise AssertionError(f"{name}: option {line!r} belongs in no input file")
        elif "/" not in line:
            found.append(Requirement(line))
    return found


def parse_lock(text: str) -> tuple[dict[str, Locked], list[str]]:
    """Every entry of a lock, and what is wrong with its lines."""
    entries: dict[str, Locked] = {}
    problems: list[str] = []
    for line in logical_lines(text):
        requirement, *options = line.split()
        pin = PIN.match(requirement)
        if not pin:
            problems.append(f"{requirement!r} is not a `name==version` pin")
            continue
        name = canonicalize_name(pin["name"])
        hashes = tuple(o for o in options if HASH.match(o))
        if not hashes or len(hashes) != len(options):
            problems.append(f"{name}: needs sha256 hashes and nothing else, has {options}")
        entries[name] = Locked(pin["version"], hashes)
    return entries, problems


def lock_problems(inputs: list[Requirement], lock_text: str) -> list[str]:
    """Why a lock does not satisfy its inputs; empty when it does."""
    entries, problems = parse_lock(lock_text)
    for requirement in inputs:
        name = canonicalize_name(requirement.name)
        locked = entries.get(name)
        if locked is None:
            problems.append(f"{name}: in the inputs, not in the lock")
        elif not requirement.specifier.contains(locked.version, prereleases=True):
            problems.append(f"{name}: locked {locked.version}, the inputs want {requirement}")
    return problems


def read_lock(name: str) -> str:
    path = ROOT / name
    assert path.is_file(), f"{name} is missing: run {REGENERATE}"
    return path.read_text()


@pytest.mark.parametrize("lock", sorted(LOCKS))
def test_the_lock_satisfies_its_inputs(lock: str) -> None:
    inputs = [r for name in LOCKS[lock] for r in input_requirements(name)]
    assert inputs
    problems = lock_problems(inputs, read_lock(lock))
    assert not problems, f"{lock} is stale, run {REGENERATE}:\n" + "\n".join(problems)


@pytest.mark.parametrize("lock", sorted(LOCKS))
def test_the_lock_names_how_to_regenerate_it(lock: str) -> None:
    header = read_lock(lock).splitlines()[:3]
    assert f"#    {REGENERATE}" in header, header
    script = ROOT / REGENERATE
    assert script.stat().st_mode & 0o111, f"{REGENERATE} is not executable"
    text = script.read_text()
    for file in (lock, *LOCKS[lock]):
        assert file in text, f"{REGENERATE} does not make {lock} from {file}"


def test_the_dev_lock_keeps_the_runtime_pins() -> None:
    """One version of each runtime package, whichever lock installed it."""
    runtime, _ = parse_lock(read_lock("requirements.lock"))
    dev, _ = parse_lock(read_lock("requirements-dev.lock"))
    assert runtime
    differing = {
        name: (locked.version, dev[name].version if name in dev else None)
        for name, locked in runtime.items()
        if name not in dev or dev[name].version != locked.version
    }
    assert not differing


def test_the_engine_pins_stay_exact() -> None:
    runtime, _ = parse_lock(read_lock("requirements.lock"))
    assert {name: runtime[name].version for name in ENGINE_PINS} == ENGINE_PINS
    pinned: dict[str, str] = {
        canonicalize_name(r.name): str(r.specifier) for r in input_requirements("requirements.txt")
    }
    assert {name: pinned[name] for name in ENGINE_PINS} == {
        name: f"=={version}" for name, version in ENGINE_PINS.items()
    }


def test_pytest_timeout_stays_a_development_requirement() -> None:
    dev = {canonicalize_name(r.name) for r in input_requirements("requirements-dev.txt")}
    assert "pytest-timeout" in dev


# Every `pip install` of the scripts a person or CI runs; the workflows are checked in
# tests/test_workflows.py.
INSTALLERS = (".ci/run", "quickstart.sh")
LOCKED_INSTALL = re.compile(
    r"-m pip install (--quiet )?(--disable-pip-version-check )?"
    r"--require-hashes --only-binary :all: -r requirements-dev\.lock$"
)


def pip_installs(script: str) -> list[str]:
    """The `pip install` commands of a shell script, continuation lines joined."""
    commands = re.sub(r"\\\n\s*", "", script).splitlines()
    return [c.strip() for c in commands if not c.lstrip().startswith("#") and "pip install" in c]


@pytest.mark.parametrize("script", INSTALLERS)
def test_scripts_install_only_the_dev_lock(script: str) -> None:
    installs = pip_installs((ROOT / script).read_text())
    assert installs, f"{script} installs nothing"
    unlocked = [c for c in installs if not LOCKED_INSTALL.search(c)]
    assert not unlocked, f"{script} installs without the hash lock: {unlocked}"


@pytest.mark.parametrize(
    "script",
    [
        "python -m pip install --quiet -r requirements-dev.txt\n",
        "python -m pip install --quiet --upgrade pip\n"
        "python -m pip install --require-hashes --only-binary :all: -r requirements-dev.lock\n",
        "venv/bin/python -m pip install --quiet \\\n  -r requirements-dev.lock\n",
    ],
)
def test_an_unlocked_install_is_found(script: str) -> None:
    assert [c for c in pip_installs(script) if not LOCKED_INSTALL.search(c)]


# -- the checker itself, on inputs that must fail ---------------------------------------------

LOCK = """\
# This file was autogenerated by uv via the following command:
#    tools/lock-requirements
httpx==0.29.0 \\
    --hash=sha256:{a} \\
    --hash=sha256:{b}
    # via -r requirements.txt
pulumi==3.272.0 \\
    --hash=sha256:{a}
""".format(a="a" * 64, b="b" * 64)


def test_a_lock_that_matches_has_no_problems() -> None:
    inputs = [Requirement("httpx>=0.27,<1"), Requirement("pulumi==3.272.0")]
    assert lock_problems(inputs, LOCK) == []


@pytest.mark.parametrize(
    ("requirement", "problem"),
    [
        ("httpx>=0.30,<1", "httpx: locked 0.29.0, the inputs want httpx<1,>=0.30"),
        ("pulumi==3.273.0", "pulumi: locked 3.272.0, the inputs want pulumi==3.273.0"),
        ("tenacity>=8.3,<10", "tenacity: in the inputs, not in the lock"),
    ],
)
def test_an_input_edited_without_a_relock_is_a_problem(requirement: str, problem: str) -> None:
    assert lock_problems([Requirement(requirement)], LOCK) == [problem]


@pytest.mark.parametrize(
    "entry",
    [
        "rich==15.0.0",  # no hash
        "rich>=15 \\\n    --hash=sha256:" + "c" * 64,  # not a pin
        "rich==15.0.0 \\\n    --hash=md5:0123456789abcdef0123456789abcdef",  # not sha256
        "rich==15.0.0 --hash=sha256:" + "c" * 64 + " --index-url https://example.invalid/simple",
        "-e ./rich",
        "--extra-index-url https://example.invalid/simple",
    ],
)
def test_an_entry_without_a_pin_and_sha256_hashes_is_a_problem(entry: str) -> None:
    _, problems = parse_lock(LOCK + entry + "\n")
    assert problems


def test_input_files_follow_includes_and_skip_local_paths(tmp_path: Path) -> None:
    (tmp_path / "base.txt").write_text("pulumi==3.272.0  # pinned\nsdks/nsxt\n")
    (tmp_path / "dev.txt").write_text("-r base.txt\n\npytest>=8,<10\n")
    assert [str(r) for r in input_requirements("dev.txt", tmp_path)] == [
        "pulumi==3.272.0",
        "pytest<10,>=8",
    ]
