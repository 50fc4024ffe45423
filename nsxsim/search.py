"""The small Lucene subset of `GET /policy/api/v1/search/query` and list pagination.

Supported: `field:value` clauses joined by ` AND `, or a disjunction of parenthesized AND
groups, `(a:b AND c:d) OR (e:f)`; an object matches if it matches any group. Values escape
Lucene specials with a backslash (`\\/`, `\\:`, `\\(`) or are double-quoted. Anything else
(nested parentheses, bare clauses next to groups, `OR` outside groups, ...) is a 400, so a
client relying on syntax the simulator does not model finds out instead of silently matching
nothing.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from nsxsim import errors

Json = dict[str, Any]

SEARCHABLE_TYPES = frozenset({"Segment", "SegmentConnectionBindingMap", "Tier1", "PolicyNatRule"})
SCALAR_FIELDS = frozenset(
    {
        "resource_type",
        "id",
        "path",
        "segment_path",
        "parent_path",
        "unique_id",
        "display_name",
        "connectivity_path",
        "action",
        "vlan_traffic_tag",
    }
)
TAG_SCOPE, TAG_VALUE = "tags.scope", "tags.tag"
_SEPARATOR = " AND "
_OR = "OR"
# An unescaped Lucene special character (or blank) in a bare value means syntax we do not model.
_SPECIALS = frozenset('+!(){}[]^"~*?:\\/&| \t')

DEFAULT_PAGE_SIZE = 1000
MAX_PAGE_SIZE = 1000


@dataclass(frozen=True)
class Clause:
    field: str
    value: str


@dataclass(frozen=True)
class Query:
    """A disjunction of AND groups; a query without parentheses is a single group."""

    groups: tuple[tuple[Clause, ...], ...]


def parse_query(text: str) -> Query:
    if not text.strip():
        raise _unsupported(text, "the query is empty")
    bodies = _split_groups(text.strip(), text)
    return Query(tuple(_parse_group(body, text) for body in bodies))


def _parse_group(body: str, query: str) -> tuple[Clause, ...]:
    if not body.strip():
        raise _unsupported(query, "a group is empty")
    return tuple(_parse_clause(part.strip(), query) for part in _split_and(body.strip()))


def _split_groups(text: str, query: str) -> list[str]:
    """`(g1) OR (g2) ...` -> the group bodies; text without structural parentheses -> [text].

    Parentheses that are backslash-escaped or inside double quotes belong to a value.
    """
    parens = _structural_parens(text)
    if not parens:
        return [text]
    depth = 0
    for pos in parens:
        depth += 1 if text[pos] == "(" else -1
        if depth < 0:
            raise _unsupported(query, "unbalanced parentheses")
        if depth > 1:
            raise _unsupported(query, "nested parentheses are not supported")
    if depth:
        raise _unsupported(query, "unbalanced parentheses")
    opens, closes = parens[0::2], parens[1::2]
    if opens[0] != 0 or closes[-1] != len(text) - 1:
        raise _unsupported(query, "clauses outside parentheses cannot be mixed with groups")
    for close, next_open in zip(closes, opens[1:], strict=False):
        between = text[close + 1 : next_open]
        if between.strip() != _OR or not (between[0].isspace() and between[-1].isspace()):
            raise _unsupported(query, f"groups must be joined by {_OR!r}, not {between!r}")
    return [text[start + 1 : end] for start, end in zip(opens, closes, strict=True)]


def _structural_parens(text: str) -> list[int]:
    """Indexes of `(` / `)` that are neither backslash-escaped nor inside double quotes."""
    found: list[int] = []
    index, quoted = 0, False
    while index < len(text):
        char = text[index]
        if char == "\\":
            index += 2
            continue
        if char == '"':
            quoted = not quoted
        elif not quoted and char in "()":
            found.append(index)
        index += 1
    return found


def _split_and(text: str) -> list[str]:
    """Split on ` AND ` outside double quotes, honouring backslash escapes."""
    parts: list[str] = []
    start, index, quoted = 0, 0, False
    while index < len(text):
        char = text[index]
        if char == "\\":
            index += 2
            continue
        if char == '"':
            quoted = not quoted
        elif not quoted and text.startswith(_SEPARATOR, index):
            parts.append(text[start:index])
            index += len(_SEPARATOR)
            start = index
            continue
        index += 1
    parts.append(text[start:])
    return parts


def _parse_clause(clause: str, query: str) -> Clause:
    field, colon, raw = clause.partition(":")
    if not colon:
        raise _unsupported(query, f"clause {clause!r} is not field:value")
    if field not in SCALAR_FIELDS and field not in (TAG_SCOPE, TAG_VALUE):
        raise _unsupported(query, f"field {field!r} is not searchable in the simulator")
    value = _quoted_value(raw, query) if raw.startswith('"') else _bare_value(raw, query)
    if not value:
        raise _unsupported(query, f"clause {clause!r} has an empty value")
    return Clause(field, value)


def _quoted_value(raw: str, query: str) -> str:
    body, ok = _unescape(raw[1:], stop='"')
    if ok is None or ok != len(raw) - 1:
        raise _unsupported(query, f"unbalanced quotes in {raw!r}")
    return body


def _bare_value(raw: str, query: str) -> str:
    body, stopped = _unescape(raw, stop=None)
    if stopped is not None:
        raise _unsupported(query, f"unescaped special character in {raw!r}")
    return body


def _unescape(raw: str, stop: str | None) -> tuple[str, int | None]:
    """Unescape until `stop` (returns the index after it) or a bare special (returns its index)."""
    out: list[str] = []
    index = 0
    while index < len(raw):
        char = raw[index]
        if char == "\\" and index + 1 < len(raw):
            out.append(raw[index + 1])
            index += 2
            continue
        if stop is not None and char == stop:
            return "".join(out), index + 1
        if stop is None and char in _SPECIALS:
            return "".join(out), index
        out.append(char)
        index += 1
    return "".join(out), None


def _unsupported(query: str, why: str) -> errors.NsxApiError:
    return errors.bad_request(f"Unsupported search query {query!r}: {why}")


def matches(obj: Json, query: Query) -> bool:
    if obj.get("resource_type") not in SEARCHABLE_TYPES:
        return False
    return any(_group_matches(obj, group) for group in query.groups)


def _group_matches(obj: Json, clauses: tuple[Clause, ...]) -> bool:
    scalar = [c for c in clauses if c.field in SCALAR_FIELDS]
    if not all(_scalar_equals(obj.get(c.field), c.value) for c in scalar):
        return False
    return _tags_match(obj.get("tags") or [], clauses)


def _scalar_equals(actual: object, wanted: str) -> bool:
    return actual is not None and not isinstance(actual, dict | list) and str(actual) == wanted


def _tags_match(tags: list[Json], clauses: tuple[Clause, ...]) -> bool:
    # Pair the k-th tags.scope clause with the k-th tags.tag clause: both must hold for one tag.
    scopes = [c.value for c in clauses if c.field == TAG_SCOPE]
    values = [c.value for c in clauses if c.field == TAG_VALUE]
    pairs = max(len(scopes), len(values))
    for k in range(pairs):
        scope = scopes[k] if k < len(scopes) else None
        value = values[k] if k < len(values) else None
        if not any(_tag_has(tag, scope, value) for tag in tags):
            return False
    return True


def _tag_has(tag: Json, scope: str | None, value: str | None) -> bool:
    return (scope is None or tag.get("scope") == scope) and (
        value is None or tag.get("tag") == value
    )


def paginate(items: list[Json], query: Mapping[str, str]) -> Json:
    """NSX list shape: result_count is the total; cursor appears only while pages remain."""
    size = _int_param(query, "page_size", DEFAULT_PAGE_SIZE) or DEFAULT_PAGE_SIZE
    if size > MAX_PAGE_SIZE:
        raise errors.bad_request(f"page_size must be at most {MAX_PAGE_SIZE}")
    start = _int_param(query, "cursor", 0)
    end = start + size
    result: Json = {"results": items[start:end], "result_count": len(items)}
    if end < len(items):
        result["cursor"] = str(end)
    return result


def _int_param(query: Mapping[str, str], name: str, default: int) -> int:
    raw = query.get(name)
    if raw is None or raw == "":
        return default
    if not raw.isdigit():
        raise errors.bad_request(f"Invalid {name} {raw!r}")
    return int(raw)
