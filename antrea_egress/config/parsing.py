"""Parsing a section field by field, and pydantic's errors as short messages with their keys.

The loader parses every section (the cluster, each zone) field by field, nested models
included: each field is validated by pydantic with its own type, so one bad field hides
neither the problems of the other fields nor the rules that do not need it.
"""

from __future__ import annotations

import difflib
import types
from collections.abc import Iterable, Mapping
from typing import Any, Final, TypeVar, Union, get_args, get_origin

from pydantic import BaseModel, TypeAdapter, ValidationError
from pydantic.fields import FieldInfo

from antrea_egress.config.cluster import (
    AntreaSettings,
    ClusterConfig,
    ClusterNetwork,
    ControlPlane,
    NodePool,
)
from antrea_egress.config.keys import Loc, Problem
from antrea_egress.config.model import DEFER_RULES, ConfigModel
from antrea_egress.config.selectors import LabelSelector, LabelSelectorRequirement
from antrea_egress.config.stack import StackConfig
from antrea_egress.config.zones import AppliedTo, Bandwidth, IpRange, ZoneConfig

_M = TypeVar("_M", bound=ConfigModel)


def _all_aliases() -> frozenset[str]:
    models: list[type[BaseModel]] = [
        IpRange, LabelSelectorRequirement, LabelSelector, AppliedTo, Bandwidth, ControlPlane,
        NodePool, ClusterNetwork, AntreaSettings, ClusterConfig, ZoneConfig, StackConfig,
    ]  # fmt: skip
    return frozenset(
        field.alias or name for model in models for name, field in model.model_fields.items()
    )


def suggestion(word: str, candidates: Iterable[str]) -> str:
    matches = difflib.get_close_matches(word, sorted(candidates), n=1, cutoff=0.6)
    return f" (did you mean {matches[0]!r}?)" if matches else ""


def show(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


_MESSAGES_BY_ERROR_TYPE: Final = {
    "model_type": "must be a mapping, got {value}",
    "model_attributes_type": "must be a mapping, got {value}",
    "dict_type": "must be a mapping, got {value}",
    "list_type": "must be a list, got {value}",
    "tuple_type": "must be a list, got {value}",
    "string_type": "must be a string, got {value}",
    "int_type": "must be an integer, got {value}",
    "int_parsing": "must be an integer, got {value}",
    "int_from_float": "must be an integer, got {value}",
    "bool_type": "must be true or false, got {value}",
    "bool_parsing": "must be true or false, got {value}",
    "too_short": "must not be empty",
}


def _error_message(error: Mapping[str, Any]) -> str:
    """pydantic's error as one short phrase, without pydantic's own decoration."""
    kind = error["type"]
    if kind == "missing":
        return "required"
    if kind == "extra_forbidden":
        name = error["loc"][-1] if error["loc"] else ""
        return "unknown key" + (suggestion(name, _all_aliases()) if isinstance(name, str) else "")
    if kind in ("value_error", "assertion_error"):
        return str(error.get("ctx", {}).get("error", error["msg"]))
    value = show(error.get("input"))
    if kind in _MESSAGES_BY_ERROR_TYPE:
        return _MESSAGES_BY_ERROR_TYPE[kind].format(value=value)
    message = str(error["msg"])
    return f"{message[:1].lower()}{message[1:]}, got {value}"


def translate(error: ValidationError, at: Loc) -> list[Problem]:
    problems: list[Problem] = []
    for item in error.errors(include_url=False):
        # A bad dict key is reported at (..., key, "[key]"): the key is the location.
        loc: Loc = (*at, *(part for part in item["loc"] if part != "[key]"))
        problems.append((loc, _error_message(item)))
    return problems


_ADAPTERS: dict[int, TypeAdapter[Any]] = {}


def _field_adapter(field: FieldInfo) -> TypeAdapter[Any]:
    adapter = _ADAPTERS.get(id(field))
    if adapter is None:
        adapter = _ADAPTERS[id(field)] = TypeAdapter(field.rebuild_annotation())
    return adapter


def _nested_model(annotation: Any) -> tuple[str, type[ConfigModel]] | None:
    """("model" | "optional" | "list", model) for fields the loader parses field by field."""
    if isinstance(annotation, type) and issubclass(annotation, ConfigModel):
        return ("model", annotation) if annotation._partial_parse else None
    origin, args = get_origin(annotation), get_args(annotation)
    if origin is list and len(args) == 1:
        inner = _nested_model(args[0])
        return ("list", inner[1]) if inner and inner[0] == "model" else None
    if origin in (Union, types.UnionType) and len(args) == 2 and type(None) in args:
        other = args[0] if args[1] is type(None) else args[1]
        inner = _nested_model(other)
        return ("optional", inner[1]) if inner and inner[0] == "model" else None
    return None


def parse_partial(model: type[_M], data: object, at: Loc) -> tuple[_M | None, list[Problem]]:
    """Parse `data` field by field: the problems of every field, and an instance.

    Without problems the instance is fully validated (rules deferred). Otherwise it is built
    from the fields that parsed, marks the others in `_incomplete`, and serves only to run the
    rules that need no failed field. None when `data` is not even a mapping.
    """
    if isinstance(data, model):
        return data, []
    if not isinstance(data, Mapping):
        return None, [(at, f"must be a mapping, got {show(data)}")]
    given, problems = _given_fields(model, data, at)
    values: dict[str, Any] = {}
    failed: set[str] = set()
    for name, field in model.model_fields.items():
        if name not in given:
            if field.is_required():
                problems.append(((*at, field.alias or name), "required"))
                failed.add(name)
            continue
        loc, value = given[name]
        ok, parsed, field_problems = _parse_field(field, loc, value)
        problems += field_problems
        if ok:
            values[name] = parsed
        else:
            failed.add(name)
    if not problems:
        try:
            return model.model_validate(data, context={DEFER_RULES: True}), []
        except ValidationError as error:  # pragma: no cover - the fields parsed one by one
            problems = translate(error, at)
            failed = set(model.model_fields)
    partial = model.model_construct(set(given) - failed, **values)
    partial._incomplete = frozenset(failed)
    return partial, problems


def _given_fields(
    model: type[ConfigModel], data: Mapping[Any, Any], at: Loc
) -> tuple[dict[str, tuple[Loc, object]], list[Problem]]:
    """The given values by field name, with their location; unknown keys are problems."""
    fields = model.model_fields
    names = {field.alias or name: name for name, field in fields.items()} | {n: n for n in fields}
    given: dict[str, tuple[Loc, object]] = {}
    problems: list[Problem] = []
    for raw_key, value in data.items():
        name = names.get(raw_key) if isinstance(raw_key, str) else None
        if name is None:
            problems.append(
                ((*at, str(raw_key)), f"unknown key{suggestion(str(raw_key), _all_aliases())}")
            )
        elif name in given:
            problems.append(((*at, raw_key), f"given twice (also as {given[name][0][-1]})"))
        else:
            given[name] = ((*at, raw_key), value)
    return given, problems


def _parse_field(field: FieldInfo, loc: Loc, value: object) -> tuple[bool, object, list[Problem]]:
    """(parsed, value, problems) for one field; nested models are parsed field by field too."""
    nested = _nested_model(field.annotation)
    if nested is None:
        try:
            parsed = _field_adapter(field).validate_python(value, context={DEFER_RULES: True})
        except ValidationError as error:
            return False, None, translate(error, loc)
        return True, parsed, []
    kind, model = nested
    if kind == "list":
        return _parse_list(field, model, loc, value)
    if kind == "optional" and value is None:
        return True, None, []
    instance, problems = parse_partial(model, value, loc)
    return instance is not None, instance, problems


def _parse_list(
    field: FieldInfo, model: type[ConfigModel], loc: Loc, value: object
) -> tuple[bool, object, list[Problem]]:
    if not isinstance(value, list):
        return False, None, [(loc, f"must be a list, got {show(value)}")]
    items: list[ConfigModel | None] = []
    problems: list[Problem] = []
    for index, item in enumerate(value):
        instance, item_problems = parse_partial(model, item, (*loc, index))
        items.append(instance)
        problems += item_problems
    min_length = next((m.min_length for m in field.metadata if hasattr(m, "min_length")), 0)
    if len(items) < min_length:
        problems.append((loc, "must not be empty"))
        return False, None, problems
    return all(item is not None for item in items), items, problems
