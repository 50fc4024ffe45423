"""The manager (`/api/v1/...`) calls that terraform-provider-nsxt makes when it is configured,
and the two schema reads that tell a client NSX's tag limits.

With default settings the provider asks for the NSX version once per configure (twice if its
plugin-framework half is muxed in, UNCONFIRMED for 3.12.0): `GET /api/v1/node/version`,
answered with a `NodeVersion` (`node_version`, `product_version`; the schema allows no other
properties). It compares `node_version` with hashicorp/go-version, so the full NSX build string
works. Licenses are only read when the provider's `license_keys` is set, which the lab never
does, so `/api/v1/licenses` is not simulated. Sources and open points: nsxsim/TERRAFORM.md.
"""

from __future__ import annotations

from typing import Any

from nsxsim import errors, kinds
from nsxsim.messages import ApiRequest, ApiResponse

MANAGER_PREFIX = "/api/v1"
NODE_VERSION_PATH = "/api/v1/node/version"
# NSX 4.2.1 as the lab's manager; the build number is UNCONFIRMED (TERRAFORM.md).
DEFAULT_NSX_VERSION = "4.2.1.0.0.24304122"


def is_manager_path(path: str) -> bool:
    return path == MANAGER_PREFIX or path.startswith(MANAGER_PREFIX + "/")


def node_version_body(version: str) -> dict[str, Any]:
    return {"node_version": version, "product_version": version}


# The API's own schema of a type (vmware-nsxlib v3/lib.py get_tag_limits reads these two:
# Tag's properties.{scope,tag}.maxLength and ManagedResource's properties.tags.maxItems); the
# simulator's limits are the ones it enforces (nsxsim/kinds.py).
SCHEMA_TYPES_PATH = "/api/v1/spec/vmware/types/"
_SCHEMAS: dict[str, dict[str, Any]] = {
    "Tag": {
        "id": "Tag",
        "type": "object",
        "properties": {
            "scope": {"type": "string", "maxLength": kinds.TAG_SCOPE_MAX},
            "tag": {"type": "string", "maxLength": kinds.TAG_VALUE_MAX},
        },
    },
    "ManagedResource": {
        "id": "ManagedResource",
        "type": "object",
        "properties": {"tags": {"type": "array", "maxItems": kinds.MAX_TAGS}},
    },
}


def dispatch(request: ApiRequest, version: str) -> ApiResponse:
    schema = request.path.removeprefix(SCHEMA_TYPES_PATH)
    if request.path != NODE_VERSION_PATH and schema not in _SCHEMAS:
        raise errors.not_found(request.path)
    if request.method != "GET":
        raise errors.method_not_allowed(request.method, request.path)
    if request.path == NODE_VERSION_PATH:
        return ApiResponse(200, node_version_body(version))
    return ApiResponse(200, _SCHEMAS[schema])
