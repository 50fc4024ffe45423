#!/usr/bin/env bash
# A newcomer's first run: install the hash-locked dependencies into ./venv, then render the
# staging stack offline and print its plan and the firewall change request. No Pulumi CLI,
# credentials or network beyond the package index are needed; nothing outside this directory is
# contacted.
set -euo pipefail
cd "$(dirname "$0")"
stack="${1:-staging}"

if ! python3 -c 'import sys; sys.exit(sys.version_info < (3, 11))'; then
  echo "Python 3.11 or newer is needed (python3 is $(python3 --version 2>&1))" >&2
  exit 1
fi
if [ ! -x venv/bin/python ]; then
  python3 -m venv venv
fi
# The hash lock, not the ranges of requirements-dev.txt: every file checked against its sha256.
venv/bin/python -m pip install --quiet --disable-pip-version-check \
  --require-hashes --only-binary :all: -r requirements-dev.lock

venv/bin/python -m egressctl render --stack "$stack"
echo
venv/bin/python -m egressctl report --stack "$stack" --format md --offline
