#!/usr/bin/env bash
# Performs the steps of Dockerfile.agent / Dockerfile.controller without a container engine, so CI can prove the
# images would build and start: for each image, into $TMPDIR/sqlag-image-<name>/
#   build/    clean copy of the sources, `npm ci`, `tsc -b packages/<name>`            (Dockerfile build stage)
#   runtime/  manifests + `npm ci --omit=dev -w packages/<name>` + prune to the package's production closure,
#             then only the dist/ directories of the package and its @sqlag dependencies, test files removed
#             (Dockerfile deps and runtime stages)
# and then checks the runtime tree:
#   - the entrypoint packages/<name>/dist/main.js exists;
#   - every import reachable from the entry module resolves and loads (main itself is not run);
#   - nothing outside the package's production dependency closure was installed (no devDependency, nothing that
#     only another workspace needs).
#
# Why the prune: `npm ci --omit=dev -w <ws>` omits only packages that are dev-only for the whole monorepo, so a
# production dependency of a workspace that the image reaches only through a devDependency (node-forge via
# @sqlag/mssql-sim in the agent) would still be installed.
#
# Usage: scripts/build-images-without-docker.sh [agent|controller ...]   (default: agent controller)
#        scripts/build-images-without-docker.sh --prune-runtime-tree packages/<name>
#            (run by the Dockerfiles in the installed tree: removes what is outside the production closure)
# Env:   TMPDIR (staging root, default /tmp), SQLAG_KEEP_STAGING=1 keeps the staging directories.
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# Inside the Docker build only this script is copied and the base image already has Node 24.
if [ -f "$repo/scripts/node24.sh" ]; then . "$repo/scripts/node24.sh"; fi

staging_root="${TMPDIR:-/tmp}"

log() { echo "build-images: $*" >&2; }
fail() { echo "build-images: FAILED: $*" >&2; exit 1; }

# Workspace package.json files: npm ci checks them against the lockfile even when installing one workspace.
workspace_manifests() {
  (cd "$repo" && node -e 'for (const w of require("./package.json").workspaces) console.log(w + "/package.json")')
}

# The @sqlag packages an image needs: the package itself plus its @sqlag dependencies, transitively.
sqlag_closure() {
  (cd "$repo" && node -e '
    const fs = require("node:fs");
    const seen = new Set();
    const visit = (dir) => {
      if (seen.has(dir)) return;
      seen.add(dir);
      const manifest = JSON.parse(fs.readFileSync(`${dir}/package.json`, "utf8"));
      for (const name of Object.keys(manifest.dependencies ?? {})) {
        if (name.startsWith("@sqlag/")) visit(`packages/${name.slice("@sqlag/".length)}`);
      }
    };
    visit(process.argv[1]);
    console.log([...seen].join("\n"));
  ' "packages/$1")
}

# The Dockerfile must copy exactly the dist/ directories this script copies, prune the same way, and give npm ci
# every workspace manifest; otherwise the CI check would pass while the real image breaks.
check_dockerfile() {
  local name="$1" dockerfile="$repo/Dockerfile.$1"
  [ -f "$dockerfile" ] || fail "$name: $dockerfile is missing"
  local expected copied manifest
  expected="$(sqlag_closure "$name" | sort)"
  copied="$(sed -n 's#^COPY --from=build /src/\(packages/[a-z0-9-]*\)/dist/ .*#\1#p' "$dockerfile" | sort)"
  [ "$copied" = "$expected" ] || fail "$name: Dockerfile.$name copies dist/ of [$(echo $copied)] but the image needs [$(echo $expected)]"
  grep -q -- "build-images-without-docker.sh --prune-runtime-tree packages/$name" "$dockerfile" \
    || fail "$name: Dockerfile.$name does not prune its node_modules to the production closure"
  while read -r manifest; do
    [ "$(grep -c -- "$manifest" "$dockerfile")" -ge 2 ] || fail "$name: Dockerfile.$name does not copy $manifest into both install stages"
  done < <(workspace_manifests)
  grep -q '^USER 10001' "$dockerfile" || fail "$name: Dockerfile.$name does not run as uid 10001"
  grep -q "^ENTRYPOINT \[\"node\", \"/app/packages/$name/dist/main.js\"\]" "$dockerfile" || fail "$name: Dockerfile.$name has an unexpected ENTRYPOINT"
}

# Compares the installed node_modules tree of the current directory with the production dependency closure of one
# workspace, computed from package-lock.json the way Node resolves packages. Mode `check` reports anything else
# (and anything the lockfile flags dev) and fails; mode `prune` removes it.
production_closure() {
  node - "$1" "$2" <<'EOF'
const fs = require("node:fs");
const path = require("node:path");
const [mode, target] = process.argv.slice(2);
const lock = JSON.parse(fs.readFileSync("package-lock.json", "utf8")).packages;
const needed = new Set();
const locate = (from, name) => {
  for (let dir = from; ; dir = path.posix.dirname(dir)) {
    const candidate = dir === "." || dir === "" ? `node_modules/${name}` : `${dir}/node_modules/${name}`;
    if (lock[candidate]) return candidate;
    if (dir === "." || dir === "") return undefined;
  }
};
const visit = (location) => {
  if (needed.has(location)) return;
  needed.add(location);
  const entry = lock[location] ?? {};
  if (entry.link) return visit(entry.resolved);
  for (const name of Object.keys({ ...entry.dependencies, ...entry.optionalDependencies })) {
    const found = locate(location, name);
    if (found) visit(found);
    else if (!(entry.optionalDependencies ?? {})[name]) throw new Error(`${location} needs ${name}, which the lockfile does not have`);
  }
};
visit(target);
const installed = [];
const scan = (dir) => {
  if (!fs.existsSync(dir)) return;
  for (const entry of fs.readdirSync(dir)) {
    if (entry.startsWith(".")) continue;
    if (entry.startsWith("@")) { for (const sub of fs.readdirSync(`${dir}/${entry}`)) record(`${dir}/${entry}/${sub}`); }
    else record(`${dir}/${entry}`);
  }
};
// Workspace links (node_modules/@sqlag/x -> packages/x) count as their target; nested installs live under the target.
const record = (location) => {
  const entry = lock[location];
  installed.push(location);
  scan(entry?.link ? `${entry.resolved}/node_modules` : `${location}/node_modules`);
};
scan("node_modules");
const isNeeded = (location) => needed.has(location) || (lock[location]?.link === true && needed.has(lock[location].resolved));
const unwanted = [...new Set(installed.filter((location) => !isNeeded(location) || lock[location]?.dev === true))];
if (mode === "prune") {
  for (const location of unwanted) fs.rmSync(location, { recursive: true, force: true });
  console.error(`pruned ${unwanted.length} packages outside the production closure of ${target}${unwanted.length > 0 ? `: ${unwanted.join(", ")}` : ""}`);
} else if (unwanted.length > 0) {
  console.error(`not a production dependency of ${target}:\n  ${unwanted.join("\n  ")}`);
  process.exit(1);
} else {
  console.error(`${installed.length} installed packages, all in the production closure of ${target}`);
}
EOF
}

build_image() {
  local name="$1" stage="$staging_root/sqlag-image-$1"
  [ -f "$repo/packages/$name/package.json" ] || fail "unknown image '$name' (no packages/$name)"
  log "$name: staging in $stage"
  check_dockerfile "$name"
  rm -rf "$stage"
  mkdir -p "$stage/build" "$stage/runtime"

  # --- build stage (Dockerfile: COPY . ; npm ci ; tsc -b) ---
  # Tracked files only (their working-tree content): what a clean clone, and so CI and a Docker build context,
  # contain. Untracked work in progress of a developer must not decide whether the image builds.
  (cd "$repo" && git ls-files -z -- package.json package-lock.json tsconfig.base.json tsconfig.build.json packages e2e \
    | tar --null --ignore-failed-read -T - -cf -) | tar -xf - -C "$stage/build"
  log "$name: npm ci (all workspaces, with dev dependencies, to compile)"
  (cd "$stage/build" && npm ci --no-audit --no-fund --loglevel=error >/dev/null)
  log "$name: tsc -b packages/$name"
  (cd "$stage/build" && npx --no-install tsc -b "packages/$name")

  # --- runtime stage (Dockerfile: manifests ; npm ci --omit=dev -w ; COPY dist) ---
  cp "$repo/package.json" "$repo/package-lock.json" "$stage/runtime/"
  while read -r manifest; do
    mkdir -p "$stage/runtime/$(dirname "$manifest")"
    cp "$repo/$manifest" "$stage/runtime/$manifest"
  done < <(workspace_manifests)
  log "$name: npm ci --omit=dev -w packages/$name"
  (cd "$stage/runtime" && npm ci --omit=dev --workspace "packages/$name" --no-audit --no-fund --ignore-scripts --loglevel=error >/dev/null)
  while read -r package_dir; do
    [ -d "$stage/build/$package_dir/dist" ] || fail "$name: $package_dir/dist was not built"
    cp -r "$stage/build/$package_dir/dist" "$stage/runtime/$package_dir/dist"
  done < <(sqlag_closure "$name")
  (cd "$stage/runtime" && production_closure prune "packages/$name")
  find "$stage/runtime/packages" -path '*/dist/*' \( -name '*.test.js' -o -name '*.test.js.map' -o -name '*.test.d.ts' -o -name '*.test.d.ts.map' -o -name '.tsbuildinfo' \) -delete

  verify_runtime "$name" "$stage/runtime"
  if [ "${SQLAG_KEEP_STAGING:-0}" != 1 ]; then rm -rf "$stage/build"; fi
  log "$name: OK ($(du -sh "$stage/runtime" | cut -f1) runtime tree in $stage/runtime)"
}

verify_runtime() {
  local name="$1" runtime="$2" entry="$2/packages/$1/dist/main.js"
  [ -f "$entry" ] || fail "$name: entrypoint packages/$name/dist/main.js does not exist (is src/main.ts written?)"

  # The checker lives next to main.js so its resolution is exactly the entry module's.
  local checker="$runtime/packages/$name/dist/.verify-imports.mjs"
  cat > "$checker" <<'EOF'
// Walks the static (and literal dynamic) import graph from main.js without evaluating main.js: every specifier
// must resolve from the importing file, and every module reached (except main.js) is loaded, which also
// checks the internals of third-party packages. Modules nothing reaches (test support, tools) are ignored.
import { readFileSync, existsSync } from "node:fs";
import { fileURLToPath } from "node:url";
const entry = new URL("./main.js", import.meta.url).href;
const importPattern = /(?:^|[;\s])(?:import|export)\s[^'"`;]*?from\s*["']([^"']+)["']|(?:^|[;\s])import\s*["']([^"']+)["']|import\(\s*["']([^"']+)["']\s*\)/gm;
const problems = [];
const seen = new Set([entry]);
const queue = [entry];
const external = new Set();
while (queue.length > 0) {
  const parent = queue.shift();
  const source = readFileSync(fileURLToPath(parent), "utf8");
  for (const match of source.matchAll(importPattern)) {
    const specifier = match[1] ?? match[2] ?? match[3];
    let url;
    try {
      url = import.meta.resolve(specifier, parent);
    } catch (error) {
      problems.push(`${fileURLToPath(parent)} imports ${specifier}: ${error.message}`);
      continue;
    }
    if (url.startsWith("node:")) continue;
    if (url.startsWith("file:") && !existsSync(fileURLToPath(url))) {
      problems.push(`${fileURLToPath(parent)} imports ${specifier}: ${url} is missing`);
      continue;
    }
    if (seen.has(url)) continue;
    seen.add(url);
    // Our own compiled modules are walked; a package under node_modules is loaded as a whole below.
    if (url.includes("/node_modules/")) external.add(url);
    else queue.push(url);
  }
}
for (const url of [...seen].filter((url) => url !== entry)) {
  try {
    await import(url);
  } catch (error) {
    problems.push(`${url}: ${error.message}`);
  }
}
if (problems.length > 0) {
  console.error(problems.join("\n"));
  process.exit(1);
}
console.error(`main.js reaches ${seen.size - external.size - 1} of our modules and ${external.size} package entry points; all resolve and load`);
EOF
  log "$name: checking that the entry module's imports resolve"
  (cd "$runtime" && node --experimental-import-meta-resolve "$checker") || fail "$name: unresolved imports in the runtime tree"
  rm -f "$checker"

  log "$name: checking that only production dependencies were installed"
  (cd "$runtime" && production_closure check "packages/$name") || fail "$name: the runtime tree holds packages that are not production dependencies"
}

# Sourcing this file (tests) only defines the functions.
if [ "${BASH_SOURCE[0]}" = "$0" ]; then
  if [ "${1:-}" = "--prune-runtime-tree" ]; then
    [ -n "${2:-}" ] || fail "--prune-runtime-tree needs the workspace, e.g. packages/agent"
    production_closure prune "$2"
    exit 0
  fi
  images=("$@")
  [ ${#images[@]} -gt 0 ] || images=(agent controller)
  for image in "${images[@]}"; do build_image "$image"; done
  log "all images OK: ${images[*]}"
fi
