"""Problems and warnings of one load, and the readers of plain values that add to them."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping

from antrea_egress import booleans
from antrea_egress.config.keys import SECURE, Loc, Problem, config_key
from antrea_egress.config.parsing import show


def is_secure(value: object) -> bool:
    """Whether `value` is an encrypted value as a stack file holds it: `{secure: ...}`."""
    return isinstance(value, Mapping) and set(value) == {SECURE}


class Collector:
    """Problems and warnings of one load, rendered with the project's keys."""

    def __init__(self, project: str) -> None:
        self.project = project
        self.problems: list[str] = []
        self.warnings: list[str] = []
        # Keys of other namespaces that were given but are unusable (reported already).
        self.failed: set[str] = set()

    def key(self, loc: Loc) -> str:
        return config_key(loc, project=self.project)

    def add(self, problems: Iterable[Problem], *, warnings: bool = False) -> None:
        target = self.warnings if warnings else self.problems
        target.extend(f"{self.key(loc)}: {message}" for loc, message in problems)

    def decode(self, loc: Loc, value: object) -> tuple[bool, object]:
        """pulumi.Config hands objects over as JSON text; stack files as parsed YAML."""
        if is_secure(value):
            self.add([(loc, "is a secret; this key must be plain text")])
            return False, None
        if isinstance(value, str):
            try:
                return True, json.loads(value)
            except json.JSONDecodeError as error:
                message = (
                    f"not valid JSON ({error.msg} at line {error.lineno} column {error.colno})"
                )
                self.add([(loc, message)])
                return False, None
        return True, value

    def flag(self, name: str, value: object, *, default: bool) -> bool:
        if value is None:
            return default
        if is_secure(value):
            self.add([((name,), "is a secret; this key must be plain text")])
            return default
        try:
            return booleans.parse_boolean(value)
        except ValueError as error:
            self.add([((name,), str(error))])
            return default

    def text(self, name: str, value: object) -> str | None:
        """A plain string key; empty means unset (Pulumi.yaml declares such keys with "")."""
        if value is None:
            return None
        if is_secure(value):
            self.add([((name,), "is a secret; this key must be plain text")])
            return None
        if not isinstance(value, str):
            self.add([((name,), f"must be a string, got {show(value)}")])
            return None
        return value.strip() or None

    def provider_text(self, key: str, value: object) -> str | None:
        """A plain string of another namespace; empty means unset."""
        if value is None:
            return None
        if is_secure(value):
            self.provider_problem(key, "is a secret; this key must be plain text")
            return None
        # A number in a stack file reaches the program as its text, as any scalar does.
        if isinstance(value, bool) or not isinstance(value, str | int):
            self.provider_problem(key, f"must be a string, got {show(value)}")
            return None
        return str(value).strip() or None

    def provider_flag(self, key: str, value: object) -> bool | None:
        if value is None:
            return None
        if is_secure(value):
            self.provider_problem(key, "is a secret; this key must be plain text")
            return None
        try:
            return booleans.parse_boolean(value)
        except ValueError as error:
            self.provider_problem(key, str(error))
            return None

    def provider_problem(self, key: str, message: str) -> None:
        self.failed.add(key)
        self.problems.append(f"{key}: {message}")
