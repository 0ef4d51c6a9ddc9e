/**
 * The kubectl built with the test binaries (same version as the apiserver), for what only kubectl does well:
 * `kubectl kustomize` and a human-readable dump of objects in failure messages.
 */
import { spawnSync } from "node:child_process";
import { testbinPath, testbinsDir } from "../cluster/testbins.js";

export interface KubectlResult {
  readonly ok: boolean;
  readonly exitCode: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

export class KubectlError extends Error {
  constructor(args: readonly string[], result: KubectlResult) {
    super(`kubectl ${args.join(" ")} failed (exit ${result.exitCode}): ${result.stderr.trim() || result.stdout.trim()}`);
    this.name = "KubectlError";
  }
}

export function kubectlPath(): string {
  return testbinPath(testbinsDir(), "kubectl");
}

export interface KubectlOptions {
  /** Omit for commands that do not talk to a server (kustomize). */
  readonly kubeconfigPath?: string;
  readonly namespace?: string;
  /** Written to stdin. */
  readonly input?: string;
}

export function runKubectl(args: readonly string[], options: KubectlOptions = {}): KubectlResult {
  const fullArgs = [
    ...(options.kubeconfigPath !== undefined ? ["--kubeconfig", options.kubeconfigPath] : []),
    ...(options.namespace !== undefined ? ["--namespace", options.namespace] : []),
    ...args,
  ];
  const result = spawnSync(kubectlPath(), fullArgs, { input: options.input, encoding: "utf8", maxBuffer: 64 * 1024 * 1024 });
  if (result.error !== undefined) throw result.error;
  return { ok: result.status === 0, exitCode: result.status, stdout: result.stdout, stderr: result.stderr };
}

/** Runs kubectl and returns stdout, or throws a KubectlError with its stderr. */
export function kubectl(args: readonly string[], options: KubectlOptions = {}): string {
  const result = runKubectl(args, options);
  if (!result.ok) throw new KubectlError(args, result);
  return result.stdout;
}

/** `kubectl kustomize <dir>`: the rendered multi-document YAML. */
export function kustomize(directory: string): string {
  return kubectl(["kustomize", directory]);
}
