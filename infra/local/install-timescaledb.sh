#!/usr/bin/env bash
# Builds TimescaleDB (Apache-2 edition) from Debian 13's source package against the
# system's PostgreSQL 15: Debian 12 ships no TimescaleDB package. Never touches the
# system's apt sources (a private list file is passed to apt-get instead).
# Idempotent: does nothing when the extension is already installed.
set -euo pipefail

CHITIEU_PG_MAJOR="${CHITIEU_PG_MAJOR:-15}"
ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
WORK="${CHITIEU_BUILD_DIR:-$ROOT/.local/build}"
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"

pg_sharedir() { "/usr/lib/postgresql/$CHITIEU_PG_MAJOR/bin/pg_config" --sharedir 2>/dev/null || true; }

extension_installed() {
  local share
  share="$(pg_sharedir)"
  [ -n "$share" ] && [ -f "$share/extension/timescaledb.control" ] \
    && ls "/usr/lib/postgresql/$CHITIEU_PG_MAJOR/lib/"timescaledb*.so >/dev/null 2>&1
}

if extension_installed; then
  echo "timescaledb: already installed for PostgreSQL $CHITIEU_PG_MAJOR"
  exit 0
fi

export DEBIAN_FRONTEND=noninteractive
need_pkgs=()
for p in "postgresql-$CHITIEU_PG_MAJOR" "postgresql-server-dev-$CHITIEU_PG_MAJOR" cmake dpkg-dev gcc make libssl-dev libkrb5-dev; do
  dpkg -s "$p" >/dev/null 2>&1 || need_pkgs+=("$p")
done
if [ "${#need_pkgs[@]}" -gt 0 ]; then
  echo "timescaledb: installing ${need_pkgs[*]}"
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq --no-install-recommends "${need_pkgs[@]}"
fi

mkdir -p "$WORK/lists/partial" "$WORK/src"
LIST="$WORK/trixie-src.list"
echo "deb-src http://deb.debian.org/debian trixie main" > "$LIST"
APT_OPTS=(-o "Dir::Etc::SourceList=$LIST" -o "Dir::Etc::SourceParts=/dev/null" -o "Dir::State::Lists=$WORK/lists")

echo "timescaledb: fetching Debian 13 source package"
apt-get "${APT_OPTS[@]}" update -qq
cd "$WORK/src"
rm -rf timescaledb-*/
apt-get "${APT_OPTS[@]}" source --download-only timescaledb
dsc="$(ls -1 timescaledb_*.dsc | sort -V | tail -n1)"
dpkg-source --no-check -x "$dsc" >/dev/null
srcdir="$(find . -maxdepth 1 -type d -name 'timescaledb-*' | sort -V | tail -n1)"

echo "timescaledb: building $srcdir against PostgreSQL $CHITIEU_PG_MAJOR"
cd "$srcdir"
PATH="/usr/lib/postgresql/$CHITIEU_PG_MAJOR/bin:$PATH" ./bootstrap \
  -DREGRESS_CHECKS=OFF -DTAP_CHECKS=OFF -DAPACHE_ONLY=1 -DWARNINGS_AS_ERRORS=OFF \
  -DPG_CONFIG="/usr/lib/postgresql/$CHITIEU_PG_MAJOR/bin/pg_config" >/dev/null
$SUDO make -C build -j"$(nproc)" install >/dev/null
extension_installed
echo "timescaledb: installed"
