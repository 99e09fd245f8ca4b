#!/usr/bin/env bash
# Runs every Postern test: installs the real clients the integration tests
# drive when they are missing (Debian packages), then vets and tests the module.
#
#   scripts/test.sh            # everything
#   scripts/test.sh -short     # skips the slowest tests (large objects)
set -euo pipefail
cd "$(dirname "$0")/.."

need=()
command -v aws >/dev/null 2>&1 || need+=(awscli)
command -v curl >/dev/null 2>&1 || need+=(curl)
command -v s3cmd >/dev/null 2>&1 || need+=(s3cmd)
python3 -c 'import boto3' >/dev/null 2>&1 || need+=(python3-boto3)
command -v chromium >/dev/null 2>&1 || need+=(chromium chromium-driver)
if ((${#need[@]})); then
  echo "test.sh: installing ${need[*]} (Debian packages)"
  SUDO=""
  [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi

unformatted=$(gofmt -l $(git ls-files '*.go' 2>/dev/null || find . -name '*.go'))
if [ -n "$unformatted" ]; then
  echo "gofmt needed on:"; echo "$unformatted"; exit 1
fi
go vet ./...
# The platform-specific files (SIMD kernels, direct I/O) must still build
# and vet where they do not apply.
GOARCH=arm64 go vet ./...
go test -count=1 -timeout 30m "$@" ./...
