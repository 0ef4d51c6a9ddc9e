/**
 * Where the control-plane binaries live, and building them when missing.
 *
 * e2e/scripts/testbins.sh is the single source of truth for versions and the cache path; TypeScript asks it
 * (`--print-dir`) instead of repeating the computation. SQLAG_TESTBINS_DIR points at a ready bin dir directly
 * (e.g. binaries built on another machine) and skips the script.
 */
import { execFileSync, spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

export const testbinsScriptPath = fileURLToPath(new URL("../../scripts/testbins.sh", import.meta.url));

export const requiredBinaries = ["etcd", "kube-apiserver", "kube-controller-manager", "kubectl"] as const;
export type TestBinary = (typeof requiredBinaries)[number];

export class TestbinsError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "TestbinsError";
  }
}

/** The versioned bin dir (it may not exist yet). */
export function testbinsDir(): string {
  const override = process.env["SQLAG_TESTBINS_DIR"];
  if (override) return override;
  try {
    return execFileSync("bash", [testbinsScriptPath, "--print-dir"], { encoding: "utf8" }).trim();
  } catch (error) {
    throw new TestbinsError(`cannot compute the testbins dir with ${testbinsScriptPath} (is go on PATH?)`, { cause: error });
  }
}

export function testbinPath(dir: string, binary: TestBinary): string {
  return join(dir, binary);
}

function allPresent(dir: string): boolean {
  return requiredBinaries.every((b) => existsSync(testbinPath(dir, b)));
}

/**
 * Returns the bin dir, building the binaries first if any is missing. A cold build takes 20-40 minutes on two
 * cores; the script prints its phases on stderr, which is passed through.
 */
export async function ensureTestbins(): Promise<string> {
  const dir = testbinsDir();
  if (allPresent(dir)) return dir;
  if (process.env["SQLAG_TESTBINS_DIR"]) {
    throw new TestbinsError(`SQLAG_TESTBINS_DIR=${dir} lacks one of ${requiredBinaries.join(", ")}`);
  }
  await new Promise<void>((resolve, reject) => {
    const child = spawn("bash", [testbinsScriptPath], { stdio: ["ignore", "ignore", "inherit"] });
    child.once("error", (error) => reject(new TestbinsError("cannot run the testbins script", { cause: error })));
    child.once("exit", (code, signal) =>
      code === 0 ? resolve() : reject(new TestbinsError(`testbins script failed (${signal ?? `exit code ${code}`})`)),
    );
  });
  if (!allPresent(dir)) throw new TestbinsError(`testbins script succeeded but ${dir} is incomplete`);
  return dir;
}
