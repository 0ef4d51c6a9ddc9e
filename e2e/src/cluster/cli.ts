#!/usr/bin/env node
/**
 * node e2e/dist/cluster/cli.js up [--log-dir <dir>]
 *
 * Starts the test control plane, prints the admin kubeconfig path and stays up until Ctrl-C (or SIGTERM), then
 * stops everything. For debugging, and later for the playground:
 *   export KUBECONFIG=<printed path>; "$(npm run -s testbins | tail -1)/kubectl" get ns
 */
import { parseArgs } from "node:util";
import { startControlPlane } from "./control-plane.js";
import { testbinsDir } from "./testbins.js";

async function main(): Promise<void> {
  const { positionals, values } = parseArgs({
    allowPositionals: true,
    options: { "log-dir": { type: "string" } },
  });
  if (positionals[0] !== "up") {
    process.stderr.write("usage: node e2e/dist/cluster/cli.js up [--log-dir <dir>]\n");
    process.exitCode = 2;
    return;
  }
  const controlPlane = await startControlPlane({ logDir: values["log-dir"] });
  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    process.stderr.write(`\n${signal}: stopping the control plane\n`);
    void controlPlane.stop().then(() => process.exit(0));
  };
  process.on("SIGINT", () => stop("SIGINT"));
  process.on("SIGTERM", () => stop("SIGTERM"));
  process.stdout.write(
    [
      `server:     ${controlPlane.server}`,
      `logs:       ${controlPlane.logDir}`,
      `kubectl:    ${testbinsDir()}/kubectl --kubeconfig ${controlPlane.adminKubeconfigPath}`,
      `KUBECONFIG=${controlPlane.adminKubeconfigPath}`,
      "Ctrl-C to stop.",
      "",
    ].join("\n"),
  );
  // Keep the event loop alive: the children are unref'ed so that tests can exit without them.
  setInterval(() => undefined, 1 << 30);
}

main().catch((error: unknown) => {
  process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
