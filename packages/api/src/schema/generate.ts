/**
 * Writes `crds/*.yaml` from schema/crd.ts. Run `npm run generate:crds` (or
 * `node packages/api/dist/schema/generate.js [--check] [--out <dir>]`); `--check` only compares and exits 1
 * when a committed file is stale. Not exported from the package index: it does file I/O.
 */
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { stringify } from "yaml";
import { allCrds } from "./crd.js";

const HEADER = "# Generated from packages/api/src/schema by `npm run generate:crds`. Do not edit by hand.\n";

/** The repository's `crds/` directory, found relative to this module (src/schema or dist/schema). */
export const DEFAULT_CRDS_DIR = resolve(dirname(fileURLToPath(import.meta.url)), "../../../../crds");

/** File name → exact file content, deterministic for a given schema. */
export function renderCrdFiles(): Map<string, string> {
  const files = new Map<string, string>();
  for (const { fileName, crd } of allCrds()) {
    // YAML 1.1 quoting: the apiserver's and kubectl's parsers read a bare Y (acceptEula) as a boolean.
    files.set(fileName, HEADER + stringify(crd, { version: "1.1", lineWidth: 0, aliasDuplicateObjects: false }));
  }
  // So `resources: [../../crds]` works in the install kustomization (kubectl apply -k).
  const kustomization = { apiVersion: "kustomize.config.k8s.io/v1beta1", kind: "Kustomization", resources: [...files.keys()] };
  files.set("kustomization.yaml", HEADER + stringify(kustomization, { version: "1.1" }));
  return files;
}

/** Names of files under `dir` whose content differs from what the generator produces now. */
export function staleCrdFiles(dir: string = DEFAULT_CRDS_DIR): string[] {
  const stale: string[] = [];
  for (const [fileName, content] of renderCrdFiles()) {
    let current: string | undefined;
    try {
      current = readFileSync(join(dir, fileName), "utf8");
    } catch {
      current = undefined;
    }
    if (current !== content) stale.push(fileName);
  }
  return stale;
}

export function writeCrdFiles(dir: string = DEFAULT_CRDS_DIR): string[] {
  mkdirSync(dir, { recursive: true });
  const written: string[] = [];
  for (const [fileName, content] of renderCrdFiles()) {
    writeFileSync(join(dir, fileName), content);
    written.push(join(dir, fileName));
  }
  return written;
}

function main(args: string[]): number {
  const outIndex = args.indexOf("--out");
  const dir = outIndex >= 0 && args[outIndex + 1] !== undefined ? resolve(args[outIndex + 1] as string) : DEFAULT_CRDS_DIR;
  if (args.includes("--check")) {
    const stale = staleCrdFiles(dir);
    if (stale.length > 0) {
      console.error(`CRDs out of date: ${stale.join(", ")}. Run \`npm run generate:crds\` and commit the result.`);
      return 1;
    }
    console.log("CRDs are up to date.");
    return 0;
  }
  for (const file of writeCrdFiles(dir)) console.log(`wrote ${file}`);
  return 0;
}

if (process.argv[1] !== undefined && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  process.exitCode = main(process.argv.slice(2));
}
