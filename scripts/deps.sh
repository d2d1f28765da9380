#!/usr/bin/env bash
# Installs what rwsplit's scripts and tests need, when missing (Debian/Ubuntu):
#   (always)  MariaDB server and client (Debian's mariadb-server, mariadb-client)
#   --test    PyMySQL (pip) and sysbench
#   --bench   sysbench and haproxy
#   --browser chromium and chromium-driver (the bookstore's browser test)
set -euo pipefail

want_test=0 want_bench=0 want_browser=0
for a in "$@"; do
  case "$a" in
    --test) want_test=1 ;;
    --bench) want_bench=1 ;;
    --browser) want_browser=1 ;;
    *) echo "deps.sh: unknown option $a" >&2; exit 2 ;;
  esac
done

SUDO=()
[ "$(id -u)" -eq 0 ] || SUDO=(sudo)
pkgs=()
have() { command -v "$1" >/dev/null 2>&1 || [ -x "/usr/sbin/$1" ]; }

have mariadbd || pkgs+=(mariadb-server)
have mariadb || pkgs+=(mariadb-client)
if [ $want_test = 1 ] || [ $want_bench = 1 ]; then have sysbench || pkgs+=(sysbench); fi
if [ $want_bench = 1 ]; then have haproxy || pkgs+=(haproxy); fi
if [ $want_browser = 1 ]; then
  have chromium || pkgs+=(chromium)
  have chromedriver || pkgs+=(chromium-driver)
fi

if [ ${#pkgs[@]} -gt 0 ]; then
  echo "deps: installing ${pkgs[*]}"
  export DEBIAN_FRONTEND=noninteractive
  if ! "${SUDO[@]}" apt-get install -y -qq --no-install-recommends "${pkgs[@]}" >/tmp/rwsplit-apt.log 2>&1; then
    "${SUDO[@]}" apt-get update -qq >>/tmp/rwsplit-apt.log 2>&1 || true
    "${SUDO[@]}" apt-get install -y -qq --no-install-recommends "${pkgs[@]}" >>/tmp/rwsplit-apt.log 2>&1 \
      || { tail -n 20 /tmp/rwsplit-apt.log >&2; echo "deps: apt-get install ${pkgs[*]} failed" >&2; exit 1; }
  fi
  # Debian starts the packaged server; rwsplit's scripts run their own.
  if [[ " ${pkgs[*]} " == *" mariadb-server "* ]]; then
    "${SUDO[@]}" service mariadb stop >/dev/null 2>&1 || true
  fi
fi

if [ $want_test = 1 ] && ! python3 -c 'import pymysql' 2>/dev/null; then
  echo "deps: installing PyMySQL"
  python3 -m pip install -q PyMySQL 2>/dev/null \
    || python3 -m pip install -q --break-system-packages PyMySQL \
    || { echo "deps: pip install PyMySQL failed" >&2; exit 1; }
fi
exit 0
