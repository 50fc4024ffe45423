"""The object store: policy objects by path, revisions, delete/purge and realization.

Not thread-safe by itself: `NsxSimulator` serialises every call under its single lock, so the
rules here can read and write freely without partial-update races.
"""

from __future__ import annotations

import copy
import re
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from nsxsim import errors, search
from nsxsim.kinds import Kind, kind_of, object_id, parent_of

Json = dict[str, Any]

SEED_USER = "system"
OOB_USER = "nsx-sim-oob"
DEFAULT_REALIZATION = ("UNREALIZED", "REALIZED")
DEFAULT_ALARM = "Realization failed (injected by the simulator)"
REALIZATION_STATES = ("UNAVAILABLE", "UNREALIZED", "REALIZED", "ERROR")

# Fields the server owns: ignored when a client sends them, (re)computed on every write.
READ_ONLY_FIELDS = frozenset(
    {
        "resource_type",
        "id",
        "path",
        "parent_path",
        "relative_path",
        "unique_id",
        "realization_id",
        "marked_for_delete",
        "overridden",
        "_revision",
        "_create_time",
        "_create_user",
        "_last_modified_time",
        "_last_modified_user",
        "_system_owned",
        "_protection",
        "type",
    }
)


@dataclass
class Entry:
    body: Json
    sequence: list[str]
    polls: int = 0
    deleted_at: float | None = None
    # With a realization delay: when the write is realized (by the clock, not by polls).
    realize_at: float | None = None


@dataclass(frozen=True)
class RealizationRule:
    pattern: re.Pattern[str]
    states: tuple[str, ...]
    alarm: str | None


@dataclass
class Store:
    realization: list[str] = field(default_factory=lambda: list(DEFAULT_REALIZATION))
    purge_delay: float = 0.0
    # When set, a write is UNREALIZED until this many seconds have passed, then REALIZED, as
    # NSX realizes an intent asynchronously, after its own time rather than after a number of
    # polls (docs/nsx-policy-api.md §3.5). A set_realization rule still takes precedence.
    realization_delay: float | None = None
    clock: Callable[[], float] = time.monotonic
    _entries: dict[str, Entry] = field(default_factory=dict)
    _rules: list[RealizationRule] = field(default_factory=list)

    # --- Lookup protocol (live objects only; callers must not mutate what they get) -------

    def live(self, path: str) -> Json | None:
        entry = self._entries.get(path)
        return entry.body if entry is not None and entry.deleted_at is None else None

    def live_objects(self) -> list[Json]:
        return [e.body for e in self._entries.values() if e.deleted_at is None]

    # --- reads -----------------------------------------------------------------------------

    def get(self, path: str) -> Json | None:
        self._purge()
        found = self.live(path)
        return copy.deepcopy(found) if found is not None else None

    def require(self, path: str) -> Json:
        found = self.get(path)
        if found is None:
            raise errors.not_found(object_id(path))
        return found

    def objects(self, prefix: str, *, include_marked: bool = False) -> dict[str, Json]:
        self._purge()
        return {
            path: copy.deepcopy(entry.body)
            for path, entry in self._entries.items()
            if _under(path, prefix) and (include_marked or entry.deleted_at is None)
        }

    def list_under(self, collection: str, *, include_marked: bool = False) -> list[Json]:
        """Direct members of a collection path such as /infra/segments, in creation order."""
        self._purge()
        return [
            copy.deepcopy(entry.body)
            for path, entry in self._entries.items()
            if path.rsplit("/", 1)[0] == collection and (include_marked or entry.deleted_at is None)
        ]

    def search(self, query: str) -> list[Json]:
        clauses = search.parse_query(query)
        self._purge()
        return [copy.deepcopy(obj) for obj in self.live_objects() if search.matches(obj, clauses)]

    # --- writes through the API --------------------------------------------------------------

    def write(self, path: str, body: Json, *, method: str, user: str) -> Json:
        """PATCH (create or merge; binding maps replace) or PUT (replace, _revision required)."""
        self._purge()
        kind, match = self._kind(path)
        kind.check_parent(self, match)
        _check_identity(path, body, kind)
        entry = self._entries.get(path)
        if entry is not None and entry.deleted_at is not None:
            raise errors.bad_request(
                f"The object {path} is marked for deletion. Wait until it is purged or use "
                "another id.",
                errors.ERR_MARKED_FOR_DELETE,
            )
        current = entry.body if entry is not None else None
        _check_revision(path, body, current, required=method == "PUT")
        replace = method == "PUT" or kind.patch_replaces or current is None
        fields = (
            _client_fields(body)
            if replace
            else {**_client_fields(current or {}), **_client_fields(body)}
        )
        stored = _stamp(path, kind, kind.prepare(self, path, fields), current, user)
        delay = self.realization_delay
        realize_at = None if delay is None else self.clock() + delay
        self._entries[path] = Entry(stored, sequence=list(self.realization), realize_at=realize_at)
        return copy.deepcopy(stored)

    def delete(self, path: str) -> None:
        self._purge()
        kind, _match = self._kind(path)
        if self.live(path) is None:
            raise errors.not_found(object_id(path))
        kind.check_delete(self, path)
        self._mark_deleted(path)

    def _mark_deleted(self, path: str) -> None:
        if self.purge_delay <= 0:
            del self._entries[path]
            return
        entry = self._entries[path]
        entry.deleted_at = self.clock()
        entry.body["marked_for_delete"] = True

    def _purge(self) -> None:
        now = self.clock()
        expired = [
            path
            for path, entry in self._entries.items()
            if entry.deleted_at is not None and now - entry.deleted_at >= self.purge_delay
        ]
        for path in expired:
            del self._entries[path]

    def _kind(self, path: str) -> tuple[Kind, re.Match[str]]:
        found = kind_of(path)
        if found is None:
            raise errors.not_found(object_id(path))
        return found

    # --- out-of-band control (seeding, tests) ------------------------------------------------

    def seed(self, path: str, fields: Json, *, unique_id: str | None = None) -> Json:
        """Create or overwrite an object as if NSX itself (or NCP) made it: already realized."""
        kind, _match = self._kind(path)
        stored = _stamp(path, kind, kind.derive(_client_fields(fields)), None, SEED_USER)
        if unique_id is not None:
            stored["unique_id"] = stored["realization_id"] = unique_id
        self._entries[path] = Entry(stored, sequence=["REALIZED"])
        return copy.deepcopy(stored)

    def modify(self, path: str, fields: Json) -> None:
        """Merge fields as another admin would, bumping _revision; realization is untouched."""
        self._purge()
        current = self.live(path)
        if current is None:
            raise KeyError(path)
        kind, _match = self._kind(path)
        merged = kind.derive({**current, **fields})
        merged.update(
            _revision=current["_revision"] + 1,
            _last_modified_time=_now_ms(),
            _last_modified_user=OOB_USER,
        )
        self._entries[path].body = merged

    def remove(self, path: str) -> None:
        """Drop the object and everything under it at once, with no checks and no purge delay."""
        for other in [p for p in self._entries if p == path or p.startswith(path + "/")]:
            del self._entries[other]

    # --- realization -------------------------------------------------------------------------

    def set_realization(self, path_regex: str, states: list[str], alarm: str | None) -> None:
        unknown = [s for s in states if s not in REALIZATION_STATES]
        if not states or unknown:
            raise ValueError(f"states must be a non-empty list of {REALIZATION_STATES}")
        rule = RealizationRule(re.compile(path_regex), tuple(states), alarm)
        self._rules.append(rule)
        for path, entry in self._entries.items():
            if rule.pattern.search(path):
                entry.polls = 0

    def realized(self, intent_path: str) -> list[Json]:
        """One poll: answer the current state of the sequence, then advance it."""
        self._purge()
        entry = self._entries.get(intent_path)
        if entry is None or entry.deleted_at is not None:
            raise errors.not_found(object_id(intent_path))
        rule = self._rule_for(intent_path)
        if rule is not None:
            states, alarm = list(rule.states), rule.alarm
        elif entry.realize_at is not None:
            states = ["REALIZED" if self.clock() >= entry.realize_at else "UNREALIZED"]
            alarm = None
        else:
            states, alarm = entry.sequence, None
        state = states[min(entry.polls, len(states) - 1)]
        entry.polls += 1
        kind, _match = self._kind(intent_path)
        return [_realized_entity(entry.body, kind, state, alarm)]

    def _rule_for(self, path: str) -> RealizationRule | None:
        for rule in reversed(self._rules):
            if rule.pattern.search(path):
                return rule
        return None


def _under(path: str, prefix: str) -> bool:
    prefix = prefix.rstrip("/")
    return path == prefix or path.startswith(prefix + "/") or not prefix


def _client_fields(body: Json) -> Json:
    return {k: copy.deepcopy(v) for k, v in body.items() if k not in READ_ONLY_FIELDS}


def _check_identity(path: str, body: Json, kind: Kind) -> None:
    if "id" in body and body["id"] != object_id(path):
        raise errors.bad_request(
            f"The id {body['id']!r} in the body does not match the id in the URL "
            f"{object_id(path)!r}"
        )
    if "resource_type" in body and body["resource_type"] != kind.resource_type:
        raise errors.bad_request(
            f"Invalid resource_type {body['resource_type']!r}: expected {kind.resource_type}"
        )


def _check_revision(path: str, body: Json, current: Json | None, *, required: bool) -> None:
    if current is None:
        return
    given = body.get("_revision")
    # PUT must carry the current _revision; PATCH is checked only when it carries one.
    if given is None and not required:
        return
    if given != current["_revision"] or isinstance(given, bool):
        raise errors.stale_revision(path, given, current["_revision"])


def _now_ms() -> int:
    return int(time.time() * 1000)


def _stamp(path: str, kind: Kind, fields: Json, current: Json | None, user: str) -> Json:
    now = _now_ms()
    oid = object_id(path)
    unique_id = current["unique_id"] if current is not None else str(uuid.uuid4())
    return {
        "resource_type": kind.resource_type,
        "id": oid,
        **fields,
        "display_name": fields.get("display_name") or oid,
        "path": path,
        "parent_path": parent_of(path),
        "relative_path": oid,
        "unique_id": unique_id,
        "realization_id": unique_id,
        "marked_for_delete": False,
        "overridden": False,
        "_revision": current["_revision"] + 1 if current is not None else 0,
        "_create_time": current["_create_time"] if current is not None else now,
        "_create_user": current["_create_user"] if current is not None else user,
        "_last_modified_time": now,
        "_last_modified_user": user,
        "_system_owned": False,
        "_protection": "NOT_PROTECTED",
    }


def _realized_entity(body: Json, kind: Kind, state: str, alarm: str | None) -> Json:
    entity: Json = {
        "resource_type": "GenericPolicyRealizedResource",
        "id": body["unique_id"],
        "display_name": body["id"],
        "state": state,
        "publish_status": state,
        "entity_type": kind.entity_type,
        "intent_path": body["path"],
        "intent_paths": [body["path"]],
        "realization_specific_identifier": body["unique_id"],
        "extended_attributes": [],
        "runtime_status": "UNINITIALIZED",
    }
    if state == "ERROR":
        entity["alarms"] = [_alarm(alarm or DEFAULT_ALARM)]
    return entity


def _alarm(message: str) -> Json:
    related = {
        "error_code": errors.ERR_REALIZATION_FAILED,
        "module_name": errors.MODULE_NAME,
        "error_message": message,
    }
    return {
        "message": message,
        "error_details": {**related, "related_errors": [related]},
    }
