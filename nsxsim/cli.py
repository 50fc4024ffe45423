"""`python -m nsxsim`: the NSX Manager of the local lab stack, until Ctrl-C.

It serves https://127.0.0.1:8443 (the port Pulumi.lab.yaml names), seeded with the lab's Tier-1
and node segment, writes its CA certificate to a stable path (`--ca-out`, by default
./.lab/nsxsim-ca.pem) and prints the `pulumi config set` commands that point the stack at it.

The CA is new on every start unless `--state-dir` keeps it; either way it is written to the same
`--ca-out` path, so the stack's `nsxt:caFile` stays valid across restarts. NSX objects live in
memory only: a restarted simulator has the seeds and nothing else.
"""

from __future__ import annotations

import argparse
import shlex
import signal
import sys
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

from nsxsim.lab import LAB, LAB_STACK
from nsxsim.simulator import DEFAULT_USERS, NsxSimulator
from nsxsim.tls import ServerTls, load_or_create_ca

DEFAULT_CA_OUT = Path(".lab") / "nsxsim-ca.pem"
DESCRIPTION = "Serve the lab stack's NSX Manager on https://127.0.0.1 until Ctrl-C."


@dataclass(frozen=True)
class Options:
    port: int
    user: str
    password: str
    ca_out: Path
    state_dir: Path | None
    stack: str


def parse_args(argv: list[str] | None) -> Options:
    default_user, default_password = next(iter(DEFAULT_USERS.items()))
    parser = argparse.ArgumentParser(prog="python -m nsxsim", description=DESCRIPTION)
    parser.add_argument(
        "--port",
        type=int,
        default=LAB_STACK.port,
        help="0 picks a free port (default: %(default)s)",
    )
    parser.add_argument("--user", default=default_user, help="default: %(default)s")
    parser.add_argument(
        "--password", default=default_password, help="a throw-away lab password (has a default)"
    )
    parser.add_argument(
        "--ca-out",
        type=Path,
        default=DEFAULT_CA_OUT,
        help="where to write the CA PEM for nsxt:caFile (default: ./%(default)s)",
    )
    parser.add_argument(
        "--state-dir", type=Path, default=None, help="keep the CA (and its key) here across starts"
    )
    parser.add_argument(
        "--stack", default=LAB_STACK.name, help="stack name in the printed commands"
    )
    args = parser.parse_args(argv)
    return Options(
        port=args.port,
        user=args.user,
        password=args.password,
        ca_out=args.ca_out,
        state_dir=args.state_dir,
        stack=args.stack,
    )


def _server_tls(options: Options) -> ServerTls:
    if options.state_dir is None:
        return ServerTls()
    return ServerTls(load_or_create_ca(options.state_dir.expanduser().resolve()))


def config_commands(simulator: NsxSimulator, ca_path: Path, options: Options) -> list[str]:
    """The `pulumi config set` lines that point the stack at this simulator, shell-quoted."""
    stack = shlex.quote(options.stack)

    def command(key: str, value: str, *, secret: bool = False) -> str:
        flag = "--secret " if secret else ""
        return f"pulumi config set {flag}{key} {shlex.quote(value)} -s {stack}"

    return [
        command("nsxt:host", simulator.host),
        command("nsxt:username", options.user),
        command("nsxt:password", options.password, secret=True),
        command("nsxt:caFile", str(ca_path)),
    ]


def banner(simulator: NsxSimulator, ca_path: Path, options: Options) -> list[str]:
    # The first three lines are machine-readable ("key value"); scripts and tests parse them.
    return [
        f"host {simulator.host}",
        f"port {simulator.port}",
        f"ca_file {ca_path}",
        "",
        f"NSX Manager simulator (NSX {simulator.nsx_version}) for the {options.stack!r} stack "
        f"at {simulator.base_url}",
        f"Seeded: Tier-1 {LAB.tier1_path}",
        f"        node segment {LAB.node_segment_path}",
        f"        (cluster {LAB_STACK.cluster} in vSphere Namespace {LAB_STACK.vsphere_namespace})",
        "",
        "Point the stack at it (run these in the project directory):",
        *(f"  {line}" for line in config_commands(simulator, ca_path, options)),
        "",
        f"The password is a throw-away that only this simulator accepts ({options.user}); never "
        "put a real NSX password here.",
        *_ca_note(options),
        "NSX objects live in memory only: after restarting the simulator, run "
        f"`pulumi refresh -s {shlex.quote(options.stack)}` before the next `pulumi up`.",
        "Serving until Ctrl-C.",
    ]


def _ca_note(options: Options) -> list[str]:
    if options.state_dir is not None:
        return [
            f"The CA is kept in {options.state_dir} and reused on every start (with its key, "
            "mode 0600)."
        ]
    return [
        "The CA changes on every start but is rewritten to the same file, so nsxt:caFile stays "
        "valid; re-run the caFile command only when you start with another --ca-out. Use "
        "--state-dir DIR to keep one CA."
    ]


def _stopped_by_sigterm() -> threading.Event:
    """An event SIGTERM sets. A service manager stops servers with SIGTERM, and a process
    started in the background by a non-interactive shell has SIGINT ignored, so Ctrl-C's
    signal alone is not a way to stop it."""
    stopped = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stopped.set())
    return stopped


def main(
    argv: list[str] | None = None,
    *,
    stop: threading.Event | None = None,
    out: TextIO | None = None,
) -> int:
    """Serve until Ctrl-C or SIGTERM (or until `stop` is set, for tests); 1 if the port is
    taken."""
    options = parse_args(argv)
    stream = out if out is not None else sys.stdout
    tls = _server_tls(options)
    simulator = NsxSimulator(users={options.user: options.password}, tls=tls)
    simulator.seed_lab()
    try:
        simulator.start(port=options.port)
    except OSError as exc:
        print(
            f"nsxsim: cannot listen on 127.0.0.1:{options.port}: {exc.strerror or exc}. "
            "Is another simulator running? Choose a free port with --port.",
            file=sys.stderr,
        )
        return 1
    try:
        # Only now: a second instance that failed to bind must not replace the first one's CA.
        ca_path = tls.write_ca(options.ca_out)
        print(*banner(simulator, ca_path, options), sep="\n", file=stream, flush=True)
        (stop if stop is not None else _stopped_by_sigterm()).wait()
    except KeyboardInterrupt:
        pass
    finally:
        simulator.stop()
    return 0
