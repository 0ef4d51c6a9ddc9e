/**
 * The controller binary (packages/controller/dist/main.js) as a plain process, authenticated as the installed
 * `sqlag-controller` ServiceAccount (token from the TokenRequest API), so its ClusterRole is what authorises it.
 * Specs use it when they need a controller without the Deployment: scoped to their own namespace and, for the
 * failover spec, as two competing replicas on the real Lease.
 */
import { existsSync, mkdirSync } from "node:fs";
import path from "node:path";
import { CoreV1Api } from "@kubernetes/client-node";
import { freePorts, type ControlPlane } from "../cluster/control-plane.js";
import { SupervisedChild } from "../cluster/child-process.js";
import { controllerServiceAccountName, sqlagSystemNamespace } from "./install.js";
import { repoPath } from "./manifests.js";

export const controllerMainPath = repoPath("packages/controller/dist/main.js");

export class ControllerBinaryMissingError extends Error {
  constructor() {
    super(`${controllerMainPath} does not exist: build the controller first (npx tsc -b packages/controller)`);
    this.name = "ControllerBinaryMissingError";
  }
}

export interface ControllerProcessOptions {
  readonly controlPlane: ControlPlane;
  /** Leader-election identity (SQLAG_POD_NAME) and log file name. */
  readonly identity: string;
  /** Directory for the kubeconfig and the log. */
  readonly workDir: string;
  /** SQLAG_WATCH_NAMESPACES; default all namespaces. */
  readonly watchNamespaces?: readonly string[];
  /** Default true; when false no Lease is used (several specs may each run their own scoped controller). */
  readonly leaderElection?: boolean;
  readonly leaseDurationSeconds?: number;
  readonly renewDeadlineSeconds?: number;
  readonly retryPeriodSeconds?: number;
  readonly logLevel?: "error" | "warn" | "info" | "debug";
}

export interface ControllerProcess {
  readonly identity: string;
  readonly httpPort: number;
  readonly logPath: string;
  readonly child: SupervisedChild;
  /** Graceful: SIGTERM (the controller releases its Lease), SIGKILL after the grace period. */
  stop(graceMs?: number): Promise<void>;
  /** A crash: SIGKILL to the process group, no Lease release. */
  kill(): Promise<void>;
  readyz(): Promise<number>;
  /** Samples of one metric from /metrics (`name{labels} value` lines), summed; undefined when unreachable or absent. */
  metric(name: string): Promise<number | undefined>;
}

/** Sums every sample of `name` in a Prometheus text exposition (labels ignored). */
export function sumMetric(exposition: string, name: string): number | undefined {
  let total: number | undefined;
  for (const line of exposition.split("\n")) {
    if (!line.startsWith(name)) continue;
    const rest = line.slice(name.length);
    if (rest[0] !== " " && rest[0] !== "{") continue;
    const value = Number(line.slice(line.lastIndexOf(" ") + 1));
    if (Number.isFinite(value)) total = (total ?? 0) + value;
  }
  return total;
}

/** Mints a token for the installed controller ServiceAccount and writes a kubeconfig for it. */
export async function writeControllerKubeconfig(controlPlane: ControlPlane, kubeconfigPath: string): Promise<void> {
  const core = controlPlane.kubeConfig().makeApiClient(CoreV1Api);
  const tokenRequest = await core.createNamespacedServiceAccountToken({
    name: controllerServiceAccountName,
    namespace: sqlagSystemNamespace,
    body: { spec: { audiences: [], expirationSeconds: 3600 } },
  });
  const token = tokenRequest.status?.token;
  if (token === undefined || token === "") throw new Error("TokenRequest for the controller ServiceAccount returned no token");
  controlPlane.writeKubeconfig(kubeconfigPath, token, `system:serviceaccount:${sqlagSystemNamespace}:${controllerServiceAccountName}`);
}

export async function startControllerProcess(options: ControllerProcessOptions): Promise<ControllerProcess> {
  if (!existsSync(controllerMainPath)) throw new ControllerBinaryMissingError();
  mkdirSync(options.workDir, { recursive: true });
  const kubeconfigPath = path.join(options.workDir, `${options.identity}.kubeconfig`);
  await writeControllerKubeconfig(options.controlPlane, kubeconfigPath);
  const [httpPort] = await freePorts(1);
  if (httpPort === undefined) throw new Error("no free port");
  const logPath = path.join(options.workDir, `${options.identity}.log`);
  const env: NodeJS.ProcessEnv = {
    PATH: process.env["PATH"],
    HOME: process.env["HOME"],
    KUBECONFIG: kubeconfigPath,
    SQLAG_POD_NAME: options.identity,
    SQLAG_NAMESPACE: sqlagSystemNamespace,
    SQLAG_HTTP_PORT: String(httpPort),
    SQLAG_LOG_LEVEL: options.logLevel ?? "info",
    SQLAG_LEADER_ELECTION: options.leaderElection === false ? "false" : "true",
    ...(options.watchNamespaces !== undefined ? { SQLAG_WATCH_NAMESPACES: options.watchNamespaces.join(",") } : {}),
    ...(options.leaseDurationSeconds !== undefined ? { SQLAG_LEASE_DURATION_SECONDS: String(options.leaseDurationSeconds) } : {}),
    ...(options.renewDeadlineSeconds !== undefined ? { SQLAG_RENEW_DEADLINE_SECONDS: String(options.renewDeadlineSeconds) } : {}),
    ...(options.retryPeriodSeconds !== undefined ? { SQLAG_RETRY_PERIOD_SECONDS: String(options.retryPeriodSeconds) } : {}),
  };
  const child = SupervisedChild.start({
    name: `controller ${options.identity}`,
    binary: process.execPath,
    args: ["--enable-source-maps", controllerMainPath],
    logPath,
    env,
  });
  return {
    identity: options.identity,
    httpPort,
    logPath,
    child,
    stop: (graceMs = 20_000) => child.stop(graceMs),
    kill: async () => {
      try {
        process.kill(-child.pid, "SIGKILL");
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== "ESRCH") throw error;
      }
      await child.stop(1_000);
    },
    metric: async (name) => {
      try {
        const response = await fetch(`http://127.0.0.1:${httpPort}/metrics`, { signal: AbortSignal.timeout(3_000) });
        return sumMetric(await response.text(), name);
      } catch {
        return undefined;
      }
    },
    readyz: async () => {
      try {
        return (await fetch(`http://127.0.0.1:${httpPort}/readyz`, { signal: AbortSignal.timeout(3_000) })).status;
      } catch {
        return 0;
      }
    },
  };
}

/**
 * Registers mocha hooks that run one controller process for the fixture's namespace only, without leader election
 * (several specs may each run one; the installed Deployment's Lease is left alone). Call after useSpecFixture and
 * after the hook that installs sqlag, so the ServiceAccount exists.
 */
export function useScopedController(fixture: { readonly controlPlane: ControlPlane; readonly namespace: string; readonly workDir: string; readonly prefix: string }): {
  readonly current: () => ControllerProcess;
} {
  let controller: ControllerProcess | undefined;
  before(async function () {
    controller = await startControllerProcess({
      controlPlane: fixture.controlPlane,
      identity: `controller-${fixture.prefix}`,
      workDir: path.join(fixture.workDir, "controller"),
      watchNamespaces: [fixture.namespace],
      leaderElection: false,
      logLevel: "debug",
    });
  });
  after(async function () {
    await controller?.stop();
  });
  return {
    current: () => {
      if (controller === undefined) throw new Error("the scoped controller has not started");
      return controller;
    },
  };
}
