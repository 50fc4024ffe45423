"""What every dynamic provider of this project shares: settings from configure(), nothing pickled.

The engine serializes a provider instance into the state of every resource it manages. Ours
serialize to a bare class reference: settings arrive through `configure()` (the whole stack
config) and live only in the provider process. Class attributes are the test seams; they are
not part of the pickled instance.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any, ClassVar

import httpx
from pulumi.dynamic import ConfigureRequest, ResourceProvider
from pulumi.output import Unknown
from pulumi.runtime import rpc

from antrea_egress import kube
from antrea_egress.nsx.client import ClientTuning, NsxClient
from antrea_egress.nsx.settings import ALL_KEYS, NsxSettings

# The engine's placeholder for a value that is not known yet (during previews).
UNKNOWN: str = rpc.UNKNOWN


def is_unknown(value: Any) -> bool:
    """An input the engine does not know yet. The SDK's dynamic-provider host hands those to
    `check` and `diff` as `pulumi.output.Unknown` objects (pulumi/dynamic/__main__.py
    deserializes with keep_unknowns=True); on the wire, and in our unit tests, it is the
    sentinel string."""
    return isinstance(value, Unknown) or (isinstance(value, str) and value == UNKNOWN)


class StatelessProvider(ResourceProvider):
    """A provider that reads the config keys it needs in configure() and pickles to nothing."""

    # The serialized provider holds no secret (only the class reference), so it need not be
    # stored encrypted; tests assert that no credential ever appears in it.
    serialize_as_secret_always = False
    config_keys: ClassVar[tuple[str, ...]] = ()

    # Test seams.
    environ: ClassVar[Mapping[str, str] | None] = None

    def __init__(self) -> None:
        super().__init__()
        self._config: dict[str, Any] = {}

    def __getstate__(self) -> dict[str, Any]:
        # Never pickle settings: the serialized provider lands in Pulumi state.
        return {}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self._config = {}

    def configure(self, req: ConfigureRequest) -> None:
        # Resolve lazily: previews run check/diff without needing any settings at all.
        self._config = {key: req.config.get(key) for key in self.config_keys}

    def _environ(self) -> Mapping[str, str]:
        return self.environ if self.environ is not None else os.environ


class NsxProvider(StatelessProvider):
    """A provider that talks to NSX with the `nsxt:*` settings."""

    config_keys: ClassVar[tuple[str, ...]] = tuple(key.config_key for key in ALL_KEYS)
    transport: ClassVar[httpx.BaseTransport | None] = None
    tuning: ClassVar[ClientTuning] = ClientTuning()

    def _nsx(self) -> NsxClient:
        settings = NsxSettings.resolve(self._config.get, self._environ())
        return NsxClient(settings, tuning=self.tuning, transport=self.transport)


class NsxAndSupervisorProvider(NsxProvider):
    """A provider that also reads the Supervisor through the `kubernetes:*` settings."""

    config_keys: ClassVar[tuple[str, ...]] = (
        *NsxProvider.config_keys,
        kube.KUBECONFIG_KEY,
        kube.CONTEXT_KEY,
    )

    def _supervisor(self) -> kube.KubeClient:
        return kube.KubeClient(kube.KubeAccess.resolve(self._config.get, self._environ()))
