#!/usr/bin/env bash
# Install what scv needs on this machine, idempotently, and say what is being done.
#
# Debian/Ubuntu as root: apt packages (PostgreSQL 15, MariaDB 10.11, Java 17, Maven) are
# installed without starting their system services (scv runs its own instances). Elsewhere it
# prints exactly what to install. Then the Python venv in .venv with scv and its dev tools.
set -euo pipefail
cd "$(dirname "$0")/.."

say() { printf '\033[1m==> %s\033[0m\n' "$*" >&2; }

missing=()
ls /usr/lib/postgresql/15/bin/postgres >/dev/null 2>&1 || missing+=(postgresql-15)
command -v mariadbd >/dev/null 2>&1 || [ -x /usr/sbin/mariadbd ] || missing+=(mariadb-server mariadb-client)
command -v java >/dev/null 2>&1 || missing+=(openjdk-17-jre-headless)
command -v mvn >/dev/null 2>&1 || missing+=(maven)
command -v make >/dev/null 2>&1 || missing+=(make)
python3 -c 'import ensurepip, venv' >/dev/null 2>&1 || missing+=(python3-venv)
[ -x /usr/bin/chromium ] || missing+=(chromium)  # quality report render test
for extra in ${SCV_EXTRA_APT:-}; do
  dpkg -s "$extra" >/dev/null 2>&1 || missing+=("$extra")
done

if ((${#missing[@]})); then
  if command -v apt-get >/dev/null 2>&1 && [ "$(id -u)" = 0 ]; then
    say "installing ${missing[*]} (apt-get; their system services stay off)"
    # policy-rc.d 101 = "do not start services": scv starts its own database instances.
    created_policy=0
    if [ ! -e /usr/sbin/policy-rc.d ]; then
      printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d && chmod +x /usr/sbin/policy-rc.d
      created_policy=1
    fi
    mkdir -p /etc/postgresql-common/createcluster.d
    echo 'create_main_cluster = false' >/etc/postgresql-common/createcluster.d/scv.conf
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -q
    apt-get install -y -q --no-install-recommends "${missing[@]}"
    [ "$created_policy" = 1 ] && rm -f /usr/sbin/policy-rc.d
  else
    say "scv needs these system packages, which this script installs only as root on Debian/Ubuntu:"
    echo "    sudo apt-get install ${missing[*]}" >&2
    echo "  elsewhere: a PostgreSQL 15 server, MariaDB 10.11 server and client, Java 17+," >&2
    echo "  Maven 3.8+, make and Python 3.11+ with venv, on the PATH." >&2
    exit 1
  fi
fi

PYTHON=${PYTHON:-python3}
if ! "$PYTHON" -c 'import sys; sys.exit(sys.version_info < (3, 11))'; then
  say "scv needs Python 3.11 or newer; set PYTHON=/path/to/python3.11"
  exit 1
fi
if [ ! -x .venv/bin/python ]; then
  say "creating the Python venv in .venv"
  "$PYTHON" -m venv .venv
fi
stamp=$(sha256sum pyproject.toml | cut -c1-16)
if [ "$(cat .venv/.scv-installed 2>/dev/null)" != "$stamp" ]; then
  say "installing scv and its dependencies into .venv (pip)"
  .venv/bin/python -m pip install -q --upgrade pip
  .venv/bin/python -m pip install -q -e '.[dev]'
  echo "$stamp" >.venv/.scv-installed
fi
