"""`python -m nsxsim`: serve the lab's NSX Manager on 127.0.0.1 until Ctrl-C (see nsxsim.cli)."""

from __future__ import annotations

from nsxsim.cli import main

__all__ = ["main"]

if __name__ == "__main__":
    raise SystemExit(main())
