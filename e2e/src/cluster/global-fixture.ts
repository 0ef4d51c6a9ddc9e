/**
 * Mocha global fixture (loaded with `require` in e2e/.mocharc.json): ONE control plane for the whole e2e run,
 * stopped at the end. Specs reach it with sharedControlPlane() and isolate themselves with their own namespace
 * (createTestNamespace).
 *
 * Logs go to .sqlag-run/e2e/control-plane/ in the repository (git-ignored, replaced by each run) so that they
 * survive the run for a post-mortem; SQLAG_E2E_LOG_DIR overrides the location.
 */
import { mkdirSync, rmSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { startControlPlane, type ControlPlane } from "./control-plane.js";

let shared: ControlPlane | undefined;

const defaultLogDir = fileURLToPath(new URL("../../../.sqlag-run/e2e/control-plane/", import.meta.url));

export async function mochaGlobalSetup(): Promise<void> {
  const logDir = process.env["SQLAG_E2E_LOG_DIR"] ?? defaultLogDir;
  rmSync(logDir, { recursive: true, force: true });
  mkdirSync(logDir, { recursive: true });
  shared = await startControlPlane({ logDir });
}

export async function mochaGlobalTeardown(): Promise<void> {
  if (shared === undefined) return;
  const logDir = shared.logDir;
  await shared.stop();
  shared = undefined;
  process.stderr.write(`control-plane logs: ${logDir}\n`);
}

export function sharedControlPlane(): ControlPlane {
  if (shared === undefined) {
    throw new Error("no shared control plane: run the e2e specs with mocha --config e2e/.mocharc.json");
  }
  return shared;
}
