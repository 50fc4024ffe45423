"""No credential in plain text: not in the checkpoint and its backups, the engine's output, or
the stack's outputs, after preview, up, refresh and destroy under the real engine."""

from __future__ import annotations

import base64
from pathlib import Path

import pytest

from lab.lab import Lab
from lab.program import LabProgram

pytestmark = pytest.mark.timeout(900)


def credentials(lab: Lab) -> dict[str, str]:
    """Every secret the lab hands the program, by what it is."""
    guest = lab.control_plane.guest.credentials
    assert guest.client_key_file is not None
    key_pem = Path(guest.client_key_file).read_text()
    key_body = "".join(line for line in key_pem.splitlines() if "PRIVATE KEY" not in line)
    supervisor_token = lab.control_plane.supervisor.credentials.token
    assert supervisor_token
    return {
        "NSX password": lab.nsx.password,
        "Supervisor token": supervisor_token,
        "guest client key (PEM body)": key_body[:48],
        "guest client key (base64 of the PEM)": base64.b64encode(key_pem.encode()).decode()[:48],
    }


def leaks(text: str, secrets: dict[str, str]) -> list[str]:
    return [what for what, value in secrets.items() if value in text]


def state_files(program: LabProgram) -> list[Path]:
    return [p for p in program.state_dir.rglob("*") if p.is_file()]


def test_no_credential_in_state_output_or_engine_logs(program: LabProgram, lab: Lab) -> None:
    secrets = credentials(lab)
    printed: list[str] = []
    stack = program.stack()
    stack.preview(on_output=printed.append)
    up = stack.up(on_output=printed.append)
    stack.refresh(on_output=printed.append)
    outputs = stack.outputs()

    assert leaks("\n".join(printed), secrets) == []
    assert outputs["kubeconfig"].secret is True
    plain_outputs = {k: v.value for k, v in outputs.items() if not v.secret}
    assert leaks(repr(plain_outputs), secrets) == []
    assert leaks(up.stdout + up.stderr, secrets) == []
    files = state_files(program)
    assert files, "the file backend wrote no state"
    # The secrets did pass through the state: encrypted, as ciphertext under the secret marker.
    assert '"ciphertext"' in program.checkpoint_text()
    for path in files:
        assert leaks(path.read_text(errors="replace"), secrets) == [], path

    stack.destroy(on_output=printed.append)
    assert leaks("\n".join(printed), secrets) == []
    for path in state_files(program):
        assert leaks(path.read_text(errors="replace"), secrets) == [], path
