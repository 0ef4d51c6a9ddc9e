#!/usr/bin/env bash
# Installs the tools that the simulator's second-client smoke test needs, if they are missing.
#
# Why: the TDS server in packages/mssql-sim must not be tuned to one driver (issue 3), so a smoke test drives it
# with FreeTDS `tsql` (Debian package freetds-bin), an implementation independent of tedious. Idempotent: exits
# 0 at once when everything is present; refreshes the apt index only when the package is not known yet.
set -euo pipefail

required_command=tsql
debian_package=freetds-bin

if command -v "$required_command" >/dev/null 2>&1; then
  exit 0
fi

if ! command -v apt-get >/dev/null 2>&1; then
  echo "ensure-test-tools: '$required_command' is missing and apt-get is not available; install $debian_package (FreeTDS) by hand" >&2
  exit 1
fi

sudo_prefix=()
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null 2>&1; then
    sudo_prefix=(sudo -n)
  else
    echo "ensure-test-tools: need root (or sudo) to install $debian_package" >&2
    exit 1
  fi
fi

export DEBIAN_FRONTEND=noninteractive
if ! apt-cache show "$debian_package" >/dev/null 2>&1; then
  echo "ensure-test-tools: apt index does not know $debian_package yet; running apt-get update" >&2
  "${sudo_prefix[@]}" apt-get update -qq
fi
echo "ensure-test-tools: installing $debian_package" >&2
"${sudo_prefix[@]}" apt-get install -y -qq --no-install-recommends "$debian_package" >/dev/null

if ! command -v "$required_command" >/dev/null 2>&1; then
  echo "ensure-test-tools: installed $debian_package but '$required_command' is still not on PATH" >&2
  exit 1
fi
