"""``python -m echo_server``: see :mod:`echo_server.cli`."""

from echo_server.cli import main

if __name__ == "__main__":
    raise SystemExit(main())
