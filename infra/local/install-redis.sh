#!/usr/bin/env bash
# Installs Redis (the CeleryExecutor's broker) from Debian when it is absent. Idempotent. Debian's
# package starts a system-wide redis-server on port 6379; it is stopped and disabled again, since
# `chitieu pipeline run|up --executor celery` starts its own on CHITIEU_REDIS_HOST:CHITIEU_REDIS_PORT.
set -euo pipefail
if command -v redis-server >/dev/null 2>&1; then
  echo "redis: already installed ($(redis-server --version | head -n1))"
  exit 0
fi
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
export DEBIAN_FRONTEND=noninteractive
echo "redis: installing redis-server"
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends redis-server
if command -v systemctl >/dev/null 2>&1; then
  $SUDO systemctl disable --now redis-server >/dev/null 2>&1 || true
fi
