"""A throw-away CA (trustme) and a server certificate for 127.0.0.1 and localhost.

Clients verify against `ca_file` exactly as they would against a real manager's CA bundle; the
SHA-256 thumbprint supports clients that pin the manager certificate instead.
"""

from __future__ import annotations

import hashlib
import shutil
import ssl
import tempfile
import weakref
from pathlib import Path

import trustme

SERVER_IDENTITIES = ("127.0.0.1", "localhost")


class ServerTls:
    def __init__(self) -> None:
        ca = trustme.CA(organization_name="nsxsim test CA")
        leaf = ca.issue_cert(*SERVER_IDENTITIES)
        self._directory = Path(tempfile.mkdtemp(prefix="nsxsim-"))
        # The PEM must outlive start/stop cycles but not the object: clean up when it is collected.
        weakref.finalize(self, shutil.rmtree, self._directory, ignore_errors=True)
        self.ca_file = str(self._directory / "nsxsim-ca.pem")
        ca.cert_pem.write_to_path(self.ca_file)
        self.context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        leaf.configure_cert(self.context)
        leaf_pem = leaf.cert_chain_pems[0].bytes().decode("ascii")
        self.thumbprint = hashlib.sha256(ssl.PEM_cert_to_DER_cert(leaf_pem)).hexdigest()
