#!/usr/bin/env bash
# Installs what the tests drive when it is missing (Debian packages): the
# real clients (aws CLI, s3cmd, boto3, curl), Chromium for the console and
# the PostgreSQL server the metadata tests start throw-away clusters from
# (internal/pgtest; they use none of the package's own clusters), and nginx
# for the multi-node tests (run as the test's own process, not a service).
# scripts/test.sh runs it first; run it alone to prepare a machine.
set -euo pipefail

need=()
command -v aws >/dev/null 2>&1 || need+=(awscli)
command -v curl >/dev/null 2>&1 || need+=(curl)
command -v s3cmd >/dev/null 2>&1 || need+=(s3cmd)
python3 -c 'import boto3' >/dev/null 2>&1 || need+=(python3-boto3)
command -v chromium >/dev/null 2>&1 || need+=(chromium chromium-driver)
compgen -G '/usr/lib/postgresql/*/bin/postgres' >/dev/null || need+=(postgresql)
# nginx in front of several nodes (tests/cluster, deploy/nginx/postern.conf).
command -v nginx >/dev/null 2>&1 || [ -x /usr/sbin/nginx ] || need+=(nginx-light)
if ((${#need[@]})); then
  echo "deps.sh: installing ${need[*]} (Debian packages)"
  SUDO=""
  [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi
