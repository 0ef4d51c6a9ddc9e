#!/usr/bin/env bash
# Builds the test control-plane binaries (etcd, kube-apiserver, kube-controller-manager, kubectl) from the Go
# module proxy into a versioned cache outside the repository, and prints the bin dir on its last line.
#
#   e2e/scripts/testbins.sh              build if missing (idempotent), print the bin dir
#   e2e/scripts/testbins.sh --print-dir  only print the bin dir (no build)
#   e2e/scripts/testbins.sh --regenerate rewrite the scratch go.mod/go.sum in e2e/testbins/ (maintainers only;
#                                        the committed files are what a normal build uses, with -mod=readonly)
#
# Why scratch modules: `go install k8s.io/kubernetes/cmd/...@v1.X.Y` is refused because the kubernetes go.mod has
# replace directives; a main module that requires k8s.io/kubernetes and replaces every staging module with its
# published v0.X.Y resolves from the proxy. etcd gets its own module so its newer grpc/otel requirements do not
# shift the versions the Kubernetes binaries were released with. See docs/test-control-plane.md.
set -euo pipefail

# Versions. Change them together with the scratch modules (run --regenerate afterwards).
K8S_VERSION="1.36.4"   # 1.36.5 exists on the proxy but its go.mod is missing from the checksum DB mirror (404)
ETCD_VERSION="3.6.16"

REPO_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
SCRATCH_DIR="$REPO_DIR/e2e/testbins"

export GOTOOLCHAIN=local
export CGO_ENABLED=0
export GOFLAGS="-modcacherw"
unset GOWORK || true

go_version() { go env GOVERSION | sed 's/^go//'; }

bin_dir() {
  local cache_root="${SQLAG_TESTBINS_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/sqlag/testbins}"
  echo "$cache_root/k$K8S_VERSION-e$ETCD_VERSION-go$(go_version)/bin"
}

START_SECONDS=$SECONDS
phase() { echo "[testbins +$((SECONDS - START_SECONDS))s] $*" >&2; }

k8s_minor() { echo "$K8S_VERSION" | cut -d. -f2; }
staging_version() { echo "0.$(k8s_minor).$(echo "$K8S_VERSION" | cut -d. -f3)"; }

regenerate() {
  local k8s_dir="$SCRATCH_DIR/k8s" etcd_dir="$SCRATCH_DIR/etcd"
  mkdir -p "$k8s_dir" "$etcd_dir"
  phase "regenerate: reading the k8s.io/kubernetes@v$K8S_VERSION go.mod"
  local upstream_mod
  upstream_mod="$(cd /tmp && go mod download -json "k8s.io/kubernetes@v$K8S_VERSION" | sed -n 's/.*"GoMod": "\(.*\)".*/\1/p')"
  [[ -f "$upstream_mod" ]] || { echo "cannot download k8s.io/kubernetes@v$K8S_VERSION" >&2; exit 1; }
  local go_line godebug_line
  go_line="$(sed -n 's/^go \([0-9.]*\)$/\1/p' "$upstream_mod")"
  godebug_line="$(sed -n 's/^godebug \(.*\)$/\1/p' "$upstream_mod")"

  (
    cd "$k8s_dir"
    rm -f go.mod go.sum
    cat > go.mod <<EOF
// Scratch module: only exists to build kube-apiserver, kube-controller-manager and kubectl for the e2e tests.
// Regenerate with e2e/scripts/testbins.sh --regenerate; never add other requirements here.
module example.invalid/sqlag-testbins/k8s
EOF
    go mod edit -go="$go_line"
    [[ -n "$godebug_line" ]] && go mod edit -godebug="$godebug_line"
    # Every staging module (k8s.io/<m> => ./staging/src/k8s.io/<m>) must be replaced before the first resolution,
    # with no version on the left so the fake v0.0.0 requirements are covered too.
    local name count=0
    for name in $(grep -oE '^\s*k8s\.io/[A-Za-z0-9._-]+ => \./staging/src/k8s\.io/' "$upstream_mod" | awk '{print $1}'); do
      go mod edit -replace="$name=$name@v$(staging_version)"
      count=$((count + 1))
    done
    phase "regenerate: $count staging replaces"
    go mod edit -require="k8s.io/kubernetes@v$K8S_VERSION"
    GOFLAGS="$GOFLAGS -mod=mod" go get -tool \
      "k8s.io/kubernetes/cmd/kube-apiserver@v$K8S_VERSION" \
      "k8s.io/kubernetes/cmd/kube-controller-manager@v$K8S_VERSION" \
      "k8s.io/kubernetes/cmd/kubectl@v$K8S_VERSION"
  )
  (
    cd "$etcd_dir"
    rm -f go.mod go.sum
    cat > go.mod <<EOF
// Scratch module: only exists to build etcd for the e2e tests. Regenerate with e2e/scripts/testbins.sh --regenerate.
module example.invalid/sqlag-testbins/etcd
EOF
    go mod edit -go="$go_line"
    GOFLAGS="$GOFLAGS -mod=mod" go get -tool "go.etcd.io/etcd/server/v3@v$ETCD_VERSION"
  )
  phase "regenerate: done"
}

binaries_work() {
  local dir="$1"
  "$dir/etcd" --version >/dev/null 2>&1 &&
    "$dir/kube-apiserver" --version >/dev/null 2>&1 &&
    "$dir/kube-controller-manager" --version >/dev/null 2>&1 &&
    "$dir/kubectl" version --client >/dev/null 2>&1
}

build() {
  local out_dir="$1"
  local build_date minor ldflags pkg
  build_date="$(date -u +%Y-%m-%dT%H:%M:%SZ)"
  minor="$(k8s_minor)"
  ldflags="-s -w"
  for pkg in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
    ldflags+=" -X $pkg.gitVersion=v$K8S_VERSION -X $pkg.gitMajor=1 -X $pkg.gitMinor=$minor"
    ldflags+=" -X $pkg.gitTreeState=clean -X $pkg.buildDate=$build_date"
  done
  # -mod=readonly: the committed go.sum must be complete; a clean clone never rewrites it.
  local common=(-mod=readonly -trimpath -tags=selinux,notest,grpcnotrace)

  phase "downloading modules (k8s scratch module)"
  (cd "$SCRATCH_DIR/k8s" && go mod download)
  phase "downloading modules (etcd scratch module)"
  (cd "$SCRATCH_DIR/etcd" && go mod download)

  phase "building etcd v$ETCD_VERSION"
  # etcd's own build script stamps the git SHA; name the source instead so `etcd --version` is not misleading.
  (cd "$SCRATCH_DIR/etcd" && go build "${common[@]}" \
    -ldflags "-s -w -X go.etcd.io/etcd/api/v3/version.GitSHA=v$ETCD_VERSION-goproxy" \
    -o "$out_dir/etcd" go.etcd.io/etcd/server/v3)
  local binary
  for binary in kube-apiserver kube-controller-manager kubectl; do
    phase "building $binary v$K8S_VERSION"
    (cd "$SCRATCH_DIR/k8s" && go build "${common[@]}" -ldflags "$ldflags" -o "$out_dir/$binary" "k8s.io/kubernetes/cmd/$binary")
  done
}

main() {
  local mode="${1:-build}"
  case "$mode" in
    --print-dir) bin_dir; return ;;
    --regenerate) regenerate; return ;;
    build|--build) ;;
    *) echo "usage: $0 [--print-dir|--regenerate]" >&2; exit 2 ;;
  esac

  command -v go >/dev/null || { echo "go is not on PATH" >&2; exit 1; }
  local dir
  dir="$(bin_dir)"
  if binaries_work "$dir"; then
    phase "binaries present and working in $dir"
    echo "$dir"
    return
  fi

  local version_dir
  version_dir="$(dirname "$dir")"
  mkdir -p "$(dirname "$version_dir")"
  # One build per version dir at a time: a second run waits, then finds the binaries and returns.
  exec 9>"$version_dir.lock"
  if ! flock -n 9; then
    phase "another build holds $version_dir.lock; waiting for it"
    flock 9
  fi
  if binaries_work "$dir"; then
    phase "binaries were built by a concurrent run: $dir"
    echo "$dir"
    return
  fi

  mkdir -p "$version_dir"
  local tmp_dir
  tmp_dir="$(mktemp -d "$version_dir/bin.tmp.XXXXXX")"
  chmod 755 "$tmp_dir"
  trap 'rm -rf "$tmp_dir"' EXIT
  phase "building Kubernetes v$K8S_VERSION + etcd v$ETCD_VERSION with $(go version) (empty Go build cache: ~15 min on 2 cores; warm: ~30 s)"
  build "$tmp_dir"
  binaries_work "$tmp_dir" || { echo "built binaries do not run" >&2; exit 1; }
  # Atomic install: the bin dir either does not exist or is complete.
  rm -rf "$dir"
  mv "$tmp_dir" "$dir"
  trap - EXIT
  phase "installed: $(cd "$dir" && du -sh . | cut -f1) in $dir"
  "$dir/kube-apiserver" --version >&2
  "$dir/etcd" --version | head -1 >&2
  echo "$dir"
}

main "$@"
