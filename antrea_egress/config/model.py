"""The base of every configuration model: frozen, camelCase keys, and the rule table enforced.

A model built directly (`ZoneConfig.model_validate(...)`) enforces the rules of `rules.RULES`
for its scope and for the models nested in it: its after-validator raises with all of its
problems, unless the loader asked it to defer them (the loader runs the same rules itself, to
report them with full keys). So every instance handed out is valid, and its helper properties
(`ZoneConfig.subnet`, `IpRange.bounds`, ...) cannot fail. Partly parsed instances exist only
inside the loader, to run the rules; it never returns one.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import ClassVar, Final, Self

from pydantic import BaseModel, ConfigDict, PrivateAttr, ValidationInfo, model_validator
from pydantic.alias_generators import to_camel

from antrea_egress.config import rules
from antrea_egress.config.keys import KeyFunction, Loc, Problem, render_path

# Set in the validation context, models leave their rules to the loader.
DEFER_RULES: Final = "antrea_egress.config.defer_rules"
# In the validation context of a StackConfig: its `rules.StackAccess` (stack name, nsxt flag).
STACK_ACCESS: Final = "antrea_egress.config.stack_access"


class ConfigModel(BaseModel):
    model_config = ConfigDict(
        frozen=True, extra="forbid", populate_by_name=True, alias_generator=to_camel
    )

    # The loader parses these models field by field (see parsing.parse_partial) so that one bad
    # field does not hide the rules of the others; a model with a before-validator opts out.
    _partial_parse: ClassVar[bool] = True
    # The rules of the table this model runs on itself, and the fields holding models (or
    # lists of them) whose rules it runs too, in this order.
    _scope: ClassVar[rules.Scope | None] = None
    _nested: ClassVar[tuple[str, ...]] = ()
    # Fields that failed to parse on an instance the loader built from the parts that did.
    _incomplete: frozenset[str] = PrivateAttr(default_factory=frozenset)

    def _has(self, *fields: str) -> bool:
        """Whether these fields parsed; rules that need a field that did not are skipped."""
        return not self._incomplete.intersection(fields)

    def _problems(self, at: Loc, key: KeyFunction) -> list[Problem]:
        """The table's rules for this model and its nested ones; locations are absolute
        (`at` + the field's path)."""
        own = rules.check(self._scope, self, at, key) if self._scope else []
        return [*own, *self._nested_problems(at, key)]

    def _nested_problems(self, at: Loc, key: KeyFunction) -> list[Problem]:
        problems: list[Problem] = []
        for name in self._nested:
            if not self._has(name):
                continue
            value = getattr(self, name)
            loc: Loc = (*at, to_camel(name))
            if isinstance(value, list):
                for index, item in enumerate(value):
                    problems += item._problems((*loc, index), key)
            else:
                problems += value._problems(loc, key)
        return problems

    def _warnings(self, at: Loc, key: KeyFunction) -> list[Problem]:
        del at, key
        return []

    @classmethod
    def _key_function(cls) -> KeyFunction:
        return render_path

    def _take_context(self, context: Mapping[str, object]) -> None:
        """What a model takes from its validation context besides DEFER_RULES (none here)."""
        del context

    @model_validator(mode="after")
    def _enforce_rules(self, info: ValidationInfo) -> Self:
        context = info.context if isinstance(info.context, Mapping) else {}
        self._take_context(context)
        if context.get(DEFER_RULES):
            return self
        key = self._key_function()
        problems = self._problems((), key)
        if problems:
            raise ValueError(
                "; ".join(f"{key(loc)}: {message}" if loc else message for loc, message in problems)
            )
        return self
