#!/usr/bin/env bash
# Runs every Postern test: installs what the tests need when it is missing
# (scripts/deps.sh), then checks formatting, vets and tests the module.
#
#   scripts/test.sh            # everything
#   scripts/test.sh -short     # skips the slowest tests (large objects)
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/deps.sh

unformatted=$(gofmt -l $(git ls-files '*.go' 2>/dev/null || find . -name '*.go'))
if [ -n "$unformatted" ]; then
  echo "gofmt needed on:"; echo "$unformatted"; exit 1
fi
go vet ./...
# The platform-specific files (SIMD kernels, direct I/O) must still build
# and vet where they do not apply.
GOARCH=arm64 go vet ./...
go test -count=1 -timeout 30m "$@" ./...
