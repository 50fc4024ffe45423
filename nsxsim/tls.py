"""A throw-away CA (trustme) and a server certificate for 127.0.0.1 and localhost.

Clients verify against `ca_file` exactly as they would against a real manager's CA bundle; the
SHA-256 thumbprint supports clients that pin the manager certificate instead.

The CA is new for every `ServerTls()` unless one is handed in: `load_or_create_ca(state_dir)`
keeps it on disk so that a lab manager restarted with the same state directory is trusted by
the same PEM (the server certificate itself is always issued afresh).
"""

from __future__ import annotations

import hashlib
import os
import shutil
import ssl
import tempfile
import weakref
from pathlib import Path

import trustme

SERVER_IDENTITIES = ("127.0.0.1", "localhost")
CA_ORGANIZATION = "nsxsim test CA"
CA_CERT_FILE = "nsxsim-ca.pem"
CA_KEY_FILE = "nsxsim-ca-key.pem"
# The CA key is the only secret here; keep it readable by its owner alone.
_KEY_MODE = 0o600


class ServerTls:
    def __init__(self, ca: trustme.CA | None = None) -> None:
        self._ca = ca if ca is not None else trustme.CA(organization_name=CA_ORGANIZATION)
        leaf = self._ca.issue_cert(*SERVER_IDENTITIES)
        self._directory = Path(tempfile.mkdtemp(prefix="nsxsim-"))
        # The PEM must outlive start/stop cycles but not the object: clean up when it is collected.
        weakref.finalize(self, shutil.rmtree, self._directory, ignore_errors=True)
        self.ca_file = str(self._directory / CA_CERT_FILE)
        self._ca.cert_pem.write_to_path(self.ca_file)
        self.context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        leaf.configure_cert(self.context)
        leaf_pem = leaf.cert_chain_pems[0].bytes().decode("ascii")
        self.thumbprint = hashlib.sha256(ssl.PEM_cert_to_DER_cert(leaf_pem)).hexdigest()

    @property
    def ca_pem(self) -> bytes:
        return self._ca.cert_pem.bytes()

    def write_ca(self, path: Path) -> Path:
        """Write the CA PEM to `path` (creating its directory); return the absolute path."""
        target = path.expanduser().resolve()
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(self.ca_pem)
        return target


def load_or_create_ca(state_dir: Path) -> trustme.CA:
    """The CA kept in `state_dir`, created (and saved there) on first use."""
    cert_path, key_path = state_dir / CA_CERT_FILE, state_dir / CA_KEY_FILE
    if cert_path.is_file() and key_path.is_file():
        return trustme.CA.from_pem(cert_path.read_bytes(), key_path.read_bytes())
    ca = trustme.CA(organization_name=CA_ORGANIZATION)
    state_dir.mkdir(parents=True, exist_ok=True)
    _write_private(key_path, ca.private_key_pem.bytes())
    cert_path.write_bytes(ca.cert_pem.bytes())
    return ca


def _write_private(path: Path, data: bytes) -> None:
    # Create with the final mode so the key is never readable by others, not even briefly.
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, _KEY_MODE)
    with os.fdopen(descriptor, "wb") as handle:
        handle.write(data)
