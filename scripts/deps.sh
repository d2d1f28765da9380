#!/usr/bin/env bash
# Installs what rwsplit's scripts, tests and benchmarks need, when it is missing
# (Debian/Ubuntu, apt-get; sudo is used for apt-get when not running as root). Idempotent:
# a second run installs nothing and prints nothing.
#
#   scripts/deps.sh [--test] [--bench] [--browser]
#
#   (always)   MariaDB server and client (Debian's mariadb-server, mariadb-client). The
#              packaged service is never started: scripts/topology.sh runs its own servers.
#   --test     PyMySQL and cryptography (pip, else Debian's python3-…), sysbench, and for the
#              deployment checks docker-compose (Debian's, v1: `config` only, no engine)
#              and kubernetes-validate (pip), openssl (test certificates for TLS), and
#              Debian's prometheus (prometheus and promtool: the metrics tests run their
#              own Prometheus; the packaged service is never started)
#   --bench    sysbench and haproxy
#   --browser  chromium and chromium-driver (the bookstore's browser test)
#
# Prints one line per thing installed; apt/pip output goes to a log shown on failure.
# Exits non-zero with a message when an install fails.
set -euo pipefail

want_test=0 want_bench=0 want_browser=0
for a in "$@"; do
  case "$a" in
    --test) want_test=1 ;;
    --bench) want_bench=1 ;;
    --browser) want_browser=1 ;;
    -h|--help|help) sed -n '2,18p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "deps: unknown option $a (try --help)" >&2; exit 2 ;;
  esac
done

LOG="${TMPDIR:-/tmp}/rwsplit-deps.$(id -u).log"
: >"$LOG"

die() { echo "deps: $*" >&2; exit 1; }
fail_with_log() { echo "--- last lines of $LOG" >&2; tail -n 25 "$LOG" >&2 || true; die "$*"; }

# A command is present when it is on PATH or in the sbin/bin directories a normal user's
# PATH may lack (mariadbd lives in /usr/sbin).
have() { command -v "$1" >/dev/null 2>&1 || [ -x "/usr/sbin/$1" ] || [ -x "/usr/bin/$1" ]; }

SUDO=()
if [ "$(id -u)" -ne 0 ]; then
  command -v sudo >/dev/null 2>&1 || die "not root and no sudo: install the packages below as root"
  SUDO=(sudo)
fi

# ---- Debian packages ------------------------------------------------------------------
pkgs=()
want_pkg() { # PACKAGE COMMAND: wants PACKAGE when COMMAND is missing (each package once)
  have "$2" && return 0
  local p
  for p in "${pkgs[@]+"${pkgs[@]}"}"; do [ "$p" = "$1" ] && return 0; done
  pkgs+=("$1")
}

want_pkg mariadb-server mariadbd
want_pkg mariadb-server mariadb-install-db
want_pkg mariadb-client mariadb
if [ $want_test = 1 ] || [ $want_bench = 1 ]; then want_pkg sysbench sysbench; fi
if [ $want_test = 1 ]; then
  want_pkg docker-compose docker-compose
  want_pkg openssl openssl
  want_pkg prometheus prometheus
  want_pkg prometheus promtool
fi
if [ $want_bench = 1 ]; then want_pkg haproxy haproxy; fi
if [ $want_browser = 1 ]; then
  want_pkg chromium chromium
  want_pkg chromium-driver chromedriver
fi

POLICY=/usr/sbin/policy-rc.d
policy_added=0
remove_policy() { if [ $policy_added = 1 ]; then "${SUDO[@]}" rm -f "$POLICY" || true; fi; }
trap remove_policy EXIT

apt_install() { # PACKAGE...: apt-get install, with apt-get update and a retry when it fails
  command -v apt-get >/dev/null 2>&1 || die "apt-get not found: install $* by hand"
  # Packages like mariadb-server, haproxy and prometheus start their service on install; a
  # policy-rc.d that answers 101 ("action forbidden") stops that, as in Debian's container
  # images.
  if [ ! -e "$POLICY" ]; then
    printf '#!/bin/sh\nexit 101\n' | "${SUDO[@]}" tee "$POLICY" >/dev/null && "${SUDO[@]}" chmod 755 "$POLICY" \
      && policy_added=1
  fi
  local apt=("${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive apt-get -y -q -o Dpkg::Use-Pty=0)
  if ! "${apt[@]}" install --no-install-recommends "$@" >>"$LOG" 2>&1; then
    "${apt[@]}" update >>"$LOG" 2>&1 || fail_with_log "apt-get update failed"
    "${apt[@]}" install --no-install-recommends "$@" >>"$LOG" 2>&1 \
      || fail_with_log "apt-get install $* failed"
  fi
  remove_policy
  policy_added=0
}

if [ ${#pkgs[@]} -gt 0 ]; then
  apt_install "${pkgs[@]}"
  for p in "${pkgs[@]}"; do echo "deps: installed $p"; done
  for c in mariadbd mariadb-install-db mariadb; do have "$c" || die "$c still missing after installing ${pkgs[*]}"; done
fi

# ---- PyMySQL ----------------------------------------------------------------------------
if [ $want_test = 1 ]; then
  command -v python3 >/dev/null 2>&1 || { apt_install python3; echo "deps: installed python3"; }
  # PyMySQL, and cryptography for its side of caching_sha2_password's RSA exchange.
  for mod_pkg in pymysql:PyMySQL:python3-pymysql cryptography:cryptography:python3-cryptography; do
    IFS=: read -r mod pypkg debpkg <<<"$mod_pkg"
    python3 -c "import $mod" >/dev/null 2>&1 && continue
    pip=(python3 -m pip install -q --disable-pip-version-check "$pypkg")
    how=""
    if "${pip[@]}" >>"$LOG" 2>&1; then how=pip
    elif "${pip[@]}" --break-system-packages >>"$LOG" 2>&1; then how=pip
    else
      # No pip (or pip refused): Debian's package serves Debian's python3.
      apt_install "$debpkg" && how=apt
    fi
    python3 -c "import $mod" >/dev/null 2>&1 \
      || fail_with_log "$pypkg installed ($how) but 'python3 -c \"import $mod\"' still fails ($(command -v python3))"
    echo "deps: installed $pypkg ($how)"
  done
fi

# ---- kubernetes-validate (validates deploy/k8s against the Kubernetes schemas) -----------
if [ $want_test = 1 ] && ! have kubernetes-validate; then
  pip=(python3 -m pip install -q --disable-pip-version-check kubernetes-validate)
  "${pip[@]}" >>"$LOG" 2>&1 || "${pip[@]}" --break-system-packages >>"$LOG" 2>&1 \
    || fail_with_log "pip install kubernetes-validate failed"
  kv="$(python3 -c 'import sysconfig; print(sysconfig.get_path("scripts"))')/kubernetes-validate"
  if ! have kubernetes-validate && [ -x "$kv" ]; then
    # pip put the script where PATH does not look (a user or pyenv prefix): link it.
    "${SUDO[@]}" ln -sf "$kv" /usr/local/bin/kubernetes-validate
  fi
  have kubernetes-validate || fail_with_log "kubernetes-validate installed but not on PATH"
  echo "deps: installed kubernetes-validate (pip)"
fi
exit 0
