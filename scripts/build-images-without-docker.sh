#!/usr/bin/env bash
# Performs the steps of Dockerfile.agent / Dockerfile.controller without a container engine, so CI can prove the
# images would build and start: for each image, into $TMPDIR/sqlag-image-<name>/
#   build/    clean copy of the sources, `npm ci`, `tsc -b packages/<name>`            (Dockerfile build stage)
#   runtime/  manifests + `npm ci --omit=dev -w packages/<name>`, then only the dist/   (Dockerfile runtime stage)
#             directories of the package and its @sqlag dependencies, test files removed
# and then checks the runtime tree:
#   - the entrypoint packages/<name>/dist/main.js exists;
#   - every import of the entry module resolves, and every other module of the package loads (main is not run);
#   - nothing outside the package's production dependency closure was installed (no devDependency, nothing that
#     only another workspace needs).
#
# Usage: scripts/build-images-without-docker.sh [agent|controller ...]   (default: agent controller)
# Env:   TMPDIR (staging root, default /tmp), SQLAG_KEEP_STAGING=1 keeps the staging directories.
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
. "$repo/scripts/node24.sh"

images=("$@")
[ ${#images[@]} -gt 0 ] || images=(agent controller)
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

# The Dockerfile must copy exactly the dist/ directories this script copies, keep exactly those workspace links,
# and give npm ci every workspace manifest; otherwise the CI check would pass while the real image breaks.
check_dockerfile() {
  local name="$1" dockerfile="$repo/Dockerfile.$1"
  [ -f "$dockerfile" ] || fail "$name: $dockerfile is missing"
  local expected copied kept manifest
  expected="$(sqlag_closure "$name" | sort)"
  copied="$(sed -n 's#^COPY --from=build /src/\(packages/[a-z0-9-]*\)/dist/ .*#\1#p' "$dockerfile" | sort)"
  [ "$copied" = "$expected" ] || fail "$name: Dockerfile.$name copies dist/ of [$(echo $copied)] but the image needs [$(echo $expected)]"
  kept="$(grep -o -- "! -name [a-z0-9-]*" "$dockerfile" | sed 's/! -name /packages\//' | sort)"
  [ "$kept" = "$expected" ] || fail "$name: Dockerfile.$name keeps the @sqlag links [$(echo $kept)] but the image needs [$(echo $expected)]"
  while read -r manifest; do
    [ "$(grep -c -- "$manifest" "$dockerfile")" -ge 2 ] || fail "$name: Dockerfile.$name does not copy $manifest into both install stages"
  done < <(workspace_manifests)
  grep -q '^USER 10001' "$dockerfile" || fail "$name: Dockerfile.$name does not run as uid 10001"
  grep -q "^ENTRYPOINT \[\"node\", \"/app/packages/$name/dist/main.js\"\]" "$dockerfile" || fail "$name: Dockerfile.$name has an unexpected ENTRYPOINT"
}

build_image() {
  local name="$1" stage="$staging_root/sqlag-image-$1"
  [ -f "$repo/packages/$name/package.json" ] || fail "unknown image '$name' (no packages/$name)"
  log "$name: staging in $stage"
  check_dockerfile "$name"
  rm -rf "$stage"
  mkdir -p "$stage/build" "$stage/runtime"

  # --- build stage (Dockerfile: COPY . ; npm ci ; tsc -b) ---
  (cd "$repo" && tar --exclude=node_modules --exclude=dist --exclude=.git --exclude='*.tsbuildinfo' --exclude=.sqlag-run \
    -cf - package.json package-lock.json tsconfig.base.json tsconfig.build.json packages e2e) | tar -xf - -C "$stage/build"
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
  # npm links every workspace into node_modules/@sqlag even with --workspace; drop links outside the closure.
  local closure_names
  closure_names="$(sqlag_closure "$name" | sed 's#^packages/##')"
  for link in "$stage/runtime/node_modules/@sqlag/"*; do
    grep -qx "$(basename "$link")" <<<"$closure_names" || rm -f "$link"
  done
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
import { readdirSync, readFileSync, existsSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
const dist = fileURLToPath(new URL(".", import.meta.url));
const problems = [];
// 1. Every static import of main.js resolves (main itself is not evaluated: it would start the program).
const source = readFileSync(join(dist, "main.js"), "utf8");
const specifiers = [...source.matchAll(/^\s*(?:import|export)\s[^'"]*?from\s*["']([^"']+)["']|^\s*import\s*["']([^"']+)["']/gm)].map((m) => m[1] ?? m[2]);
for (const specifier of specifiers) {
  try {
    const url = import.meta.resolve(specifier);
    if (url.startsWith("file:") && !existsSync(fileURLToPath(url))) problems.push(`main.js imports ${specifier}: ${url} is missing`);
  } catch (error) {
    problems.push(`main.js imports ${specifier}: ${error.message}`);
  }
}
// 2. Every other module loads (no module may have side effects at import, CONVENTIONS: no config at import).
const walk = (dir) => readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? walk(join(dir, e.name)) : [join(dir, e.name)]));
const modules = walk(dist).filter((file) => file.endsWith(".js") && file !== join(dist, "main.js"));
for (const file of modules) {
  try {
    await import(pathToFileURL(file).href);
  } catch (error) {
    problems.push(`${file.slice(dist.length)}: ${error.message}`);
  }
}
if (problems.length > 0) {
  console.error(problems.join("\n"));
  process.exit(1);
}
console.error(`imports of main.js resolve (${specifiers.length} specifiers); ${modules.length} other modules load`);
EOF
  log "$name: checking that the entry module's imports resolve"
  (cd "$runtime" && node "$checker") || fail "$name: unresolved imports in the runtime tree"
  rm -f "$checker"

  log "$name: checking that only production dependencies were installed"
  (cd "$runtime" && node - "packages/$name" <<'EOF'
const fs = require("node:fs");
const path = require("node:path");
const target = process.argv[2];
const lock = JSON.parse(fs.readFileSync("package-lock.json", "utf8")).packages;
// Production closure of the target workspace, resolved the way Node looks up node_modules.
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
const extra = installed.filter((location) => !isNeeded(location));
const dev = installed.filter((location) => lock[location]?.dev === true);
if (extra.length > 0 || dev.length > 0) {
  console.error(`not a production dependency of ${target}:\n  ${[...new Set([...dev, ...extra])].join("\n  ")}`);
  process.exit(1);
}
console.error(`${installed.length} installed packages, all in the production closure of ${target}`);
EOF
  ) || fail "$name: the runtime tree holds packages that are not production dependencies"
}

# Sourcing this file (tests) only defines the functions.
if [ "${BASH_SOURCE[0]}" = "$0" ]; then
  for image in "${images[@]}"; do build_image "$image"; done
  log "all images OK: ${images[*]}"
fi
