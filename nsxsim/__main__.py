"""`python -m nsxsim`: serve the lab on 127.0.0.1 until Ctrl-C (for manual exploration)."""

from __future__ import annotations

import argparse
import threading

from nsxsim.simulator import DEFAULT_USERS, NsxSimulator


def main(argv: list[str] | None = None) -> int:
    default_user, default_password = next(iter(DEFAULT_USERS.items()))
    parser = argparse.ArgumentParser(prog="python -m nsxsim", description=__doc__)
    parser.add_argument("--port", type=int, default=0, help="0 picks a free port")
    parser.add_argument("--user", default=default_user)
    parser.add_argument("--password", default=default_password)
    args = parser.parse_args(argv)
    simulator = NsxSimulator(users={args.user: args.password})
    simulator.seed_lab()
    simulator.start(port=args.port)
    print(
        f"host {simulator.host}",
        f"port {simulator.port}",
        f"ca_file {simulator.ca_file}",
        sep="\n",
        flush=True,
    )
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        pass
    finally:
        simulator.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
