#!/usr/bin/env bash
# Node.js and npm for the dashboards' schema check (tsc against @grafana/schema, see
# infra/grafana/schema-check). Idempotent: does nothing when node and npm are already there.
# Debian 12 ships Node 18, enough for the pinned TypeScript.
set -euo pipefail

if command -v node >/dev/null 2>&1 && command -v npm >/dev/null 2>&1; then
  exit 0
fi
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends nodejs npm
