#!/usr/bin/env bash
# Runs a command with Node.js 24 first on PATH (see node24.sh). Example: scripts/run-with-node24.sh npm test
set -euo pipefail
. "$(dirname "$0")/node24.sh"
exec "$@"
