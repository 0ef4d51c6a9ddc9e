/**
 * A real Kubernetes control plane on 127.0.0.1 for the e2e tier: etcd (data on tmpfs), kube-apiserver (RBAC,
 * static tokens, ServiceAccount issuer) and kube-controller-manager with only the controllers the operator relies
 * on. No scheduler and no kubelet: the fake kubelet (e2e/src/kubelet) binds and runs pods itself.
 *
 * Start order matters: the apiserver needs a healthy etcd, and KCM must start only after /readyz (the
 * rbac/bootstrap-roles hook has created the roles it runs as). "Ready" for the whole plane means KCM has done
 * observable work: the `default` ServiceAccount exists in `default` (and without it the ServiceAccount admission
 * plugin rejects every pod).
 */
import { generateKeyPairSync } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { request as httpsRequest } from "node:https";
import { request as httpRequest } from "node:http";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { CoreV1Api, KubeConfig } from "@kubernetes/client-node";
import { SupervisedChild } from "./child-process.js";
import { createOwnedDir, disownDir, reapAbandonedDirs, recordChildPid } from "./run-dirs.js";
import { randomToken, renderKubeconfig, renderTokenAuthFile, type StaticTokenUser } from "./credentials.js";
import { ensureTestbins, testbinPath } from "./testbins.js";

export interface ControlPlane {
  /** https://127.0.0.1:<port> */
  readonly server: string;
  /** CA bundle for the apiserver serving certificate. */
  readonly caPem: string;
  /** Token of `admin` (group system:masters). */
  readonly adminToken: string;
  readonly adminKubeconfigPath: string;
  /** Per-run temp dir; logs in `${logDir}` (default workDir/logs/<component>.log). */
  readonly workDir: string;
  readonly logDir: string;
  /** The RSA private key the apiserver signs ServiceAccount tokens with (PEM); KCM uses it too. */
  readonly serviceAccountKeyPath: string;
  kubeConfig(): KubeConfig;
  kubeConfigForToken(token: string, user: string): KubeConfig;
  writeKubeconfig(path: string, token: string, user: string): void;
  /** SIGTERM then SIGKILL, by process group id; removes the temp dirs (not an explicitly given logDir). */
  stop(): Promise<void>;
}

export interface ControlPlaneOptions {
  /** Keep logs here (survives stop()); default workDir/logs, removed by stop(). */
  logDir?: string;
  /** etcd data dir; default a fresh dir on /dev/shm (tmpfs), removed by stop(). */
  etcdDataDir?: string;
  /** KCM controllers; default defaultControllers. */
  controllers?: readonly string[];
  /** Extra or overriding kube-apiserver flags, without the leading dashes: { "v": "4" }. */
  extraApiServerFlags?: Record<string, string>;
  /** Directory holding the binaries; default ensureTestbins(). */
  binDir?: string;
  /** One line per phase; default stderr. */
  progress?: (line: string) => void;
  /** Upper bound for each wait (etcd, apiserver, KCM). Generous: a loaded 2-core machine is slow. */
  phaseTimeoutMs?: number;
}

/**
 * What the operator and the e2e specs rely on. Deliberately not `*`: node-lifecycle would taint and evict pods on
 * fake nodes, pod-garbage-collector deletes pods bound to missing nodes, node-ipam wants a cluster CIDR.
 */
export const defaultControllers: readonly string[] = [
  "serviceaccount-token-controller",
  "serviceaccount-controller",
  "root-ca-certificate-publisher-controller",
  "namespace-controller",
  "garbage-collector-controller",
  "clusterrole-aggregation-controller",
  "deployment-controller",
  "replicaset-controller",
  "statefulset-controller",
  "endpointslice-controller",
  "disruption-controller",
  // The StorageObjectInUseProtection admission plugin (on by default) puts finalizers on PVCs and PVs; without
  // these controllers a deleted PVC from a volumeClaimTemplate would stay Terminating forever.
  "persistentvolumeclaim-protection-controller",
  "persistentvolume-protection-controller",
];

export class ControlPlaneStartError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "ControlPlaneStartError";
  }
}

const adminUser = "admin";
const kcmUser = "system:kube-controller-manager";

export async function startControlPlane(opts: ControlPlaneOptions = {}): Promise<ControlPlane> {
  // freePorts() cannot reserve a port: another process may bind it before etcd or the apiserver does. That is
  // rare and recognisable, so start again with new ports instead of failing the whole e2e run.
  const maxAttempts = 3;
  for (let attempt = 1; ; attempt++) {
    try {
      return await startControlPlaneOnce(opts);
    } catch (error) {
      const portTaken = error instanceof ControlPlaneStartError && /address already in use/.test(error.message);
      if (!portTaken || attempt >= maxAttempts) throw error;
      (opts.progress ?? ((line: string) => process.stderr.write(`${line}\n`)))(
        `[control-plane] a port was taken before use; starting again (attempt ${attempt + 1} of ${maxAttempts})`,
      );
    }
  }
}

async function startControlPlaneOnce(opts: ControlPlaneOptions): Promise<ControlPlane> {
  const startedAtMs = performance.now();
  const progressSink = opts.progress ?? ((line: string) => process.stderr.write(`${line}\n`));
  const progress = (message: string) =>
    progressSink(`[control-plane +${Math.round(performance.now() - startedAtMs)}ms] ${message}`);
  const phaseTimeoutMs = opts.phaseTimeoutMs ?? 120_000;

  const binDir = opts.binDir ?? (await ensureTestbins());
  const tmpfsDir = existsSync("/dev/shm") ? "/dev/shm" : tmpdir();
  const reaped = [...reapAbandonedDirs(tmpdir(), "sqlag-cp-"), ...reapAbandonedDirs(tmpfsDir, "sqlag-etcd-")];
  if (reaped.length > 0) progress(`removed ${reaped.length} dirs left by dead runs: ${reaped.join(" ")}`);
  const workDir = createOwnedDir(tmpdir(), "sqlag-cp-");
  const logDir = opts.logDir ?? join(workDir, "logs");
  mkdirSync(logDir, { recursive: true });
  const ownedEtcdDir = opts.etcdDataDir === undefined ? createOwnedDir(tmpfsDir, "sqlag-etcd-") : undefined;
  const etcdDataDir = opts.etcdDataDir ?? join(ownedEtcdDir ?? "", "data");
  const children: SupervisedChild[] = [];
  const track = (child: SupervisedChild) => {
    children.push(child);
    for (const dir of [workDir, ownedEtcdDir]) if (dir !== undefined) recordChildPid(dir, child.pid);
    return child;
  };

  const cleanup = async () => {
    // Reverse start order: KCM, apiserver, etcd.
    for (const child of [...children].reverse()) await child.stop();
    if (ownedEtcdDir !== undefined) rmSync(ownedEtcdDir, { recursive: true, force: true });
    if (process.env["SQLAG_E2E_KEEP_WORKDIR"] === "1") {
      disownDir(workDir); // or the next start would reap it
      progressSink(`[control-plane] kept ${workDir} (SQLAG_E2E_KEEP_WORKDIR=1)`);
      return;
    }
    rmSync(workDir, { recursive: true, force: true });
  };

  try {
    progress(`work dir ${workDir}, binaries ${binDir}`);
    const [etcdClientPort, etcdPeerPort, apiServerPort] = await freePorts(3);

    // --- etcd -------------------------------------------------------------------------------------------------
    const etcdUrl = `http://127.0.0.1:${etcdClientPort}`;
    const etcdPeerUrl = `http://127.0.0.1:${etcdPeerPort}`;
    const etcd = track(SupervisedChild.start({
      name: "etcd",
      binary: testbinPath(binDir, "etcd"),
      logPath: join(logDir, "etcd.log"),
      args: [
        "--name=default",
        `--data-dir=${etcdDataDir}`,
        `--listen-client-urls=${etcdUrl}`,
        `--advertise-client-urls=${etcdUrl}`,
        `--listen-peer-urls=${etcdPeerUrl}`,
        `--initial-advertise-peer-urls=${etcdPeerUrl}`,
        `--initial-cluster=default=${etcdPeerUrl}`,
        // Data is on tmpfs and thrown away; fsync buys nothing but latency.
        "--unsafe-no-fsync=true",
        "--logger=zap",
        "--log-level=warn",
      ],
    }));
    await waitFor("etcd /health", phaseTimeoutMs, [etcd], async () => {
      const response = await httpGet(`${etcdUrl}/health`);
      return response.status === 200 && /"health":\s*"true"/.test(response.body);
    });
    progress(`etcd healthy on ${etcdUrl} (data ${etcdDataDir})`);

    // --- credentials --------------------------------------------------------------------------------------------
    const pkiDir = join(workDir, "pki");
    mkdirSync(pkiDir, { recursive: true });
    const serviceAccountKeyPath = join(pkiDir, "sa.key");
    const { privateKey } = generateKeyPairSync("rsa", {
      modulusLength: 2048,
      privateKeyEncoding: { type: "pkcs1", format: "pem" },
      publicKeyEncoding: { type: "spki", format: "pem" },
    });
    writeFileSync(serviceAccountKeyPath, privateKey, { mode: 0o600 });
    const adminToken = randomToken();
    const kcmToken = randomToken();
    const tokenUsers: StaticTokenUser[] = [
      { token: adminToken, user: adminUser, uid: "uid-admin", groups: ["system:masters"] },
      { token: kcmToken, user: kcmUser, uid: "uid-kcm", groups: [] },
    ];
    const tokenFilePath = join(pkiDir, "tokens.csv");
    writeFileSync(tokenFilePath, renderTokenAuthFile(tokenUsers), { mode: 0o600 });

    // --- kube-apiserver -----------------------------------------------------------------------------------------
    const server = `https://127.0.0.1:${apiServerPort}`;
    const certDir = join(pkiDir, "apiserver");
    const apiServerFlags: Record<string, string> = {
      "etcd-servers": etcdUrl,
      "bind-address": "127.0.0.1",
      // Without it the apiserver looks for a host interface with a default route and may find none.
      "advertise-address": "127.0.0.1",
      "secure-port": String(apiServerPort),
      // The apiserver writes a self-signed serving cert (followed by its CA) for 127.0.0.1/localhost here.
      "cert-dir": certDir,
      "service-cluster-ip-range": "10.0.0.0/24",
      "service-account-issuer": server,
      "service-account-signing-key-file": serviceAccountKeyPath,
      "service-account-key-file": serviceAccountKeyPath,
      "authorization-mode": "RBAC",
      "token-auth-file": tokenFilePath,
      "allow-privileged": "true",
      // The `kubernetes` Service endpoint reconciler cannot store a loopback address; it would only log errors.
      "endpoint-reconciler-type": "none",
      "profiling": "false",
      "v": "1",
      ...opts.extraApiServerFlags,
    };
    const apiServer = track(SupervisedChild.start({
      name: "kube-apiserver",
      binary: testbinPath(binDir, "kube-apiserver"),
      logPath: join(logDir, "kube-apiserver.log"),
      args: Object.entries(apiServerFlags).map(([flag, value]) => `--${flag}=${value}`),
    }));
    const caPath = join(certDir, "apiserver.crt");
    let caPem = "";
    await waitFor("kube-apiserver /readyz", phaseTimeoutMs, [etcd, apiServer], async () => {
      if (!caPem) {
        if (!existsSync(caPath)) return false;
        caPem = readFileSync(caPath, "utf8");
        if (!caPem.includes("END CERTIFICATE")) {
          caPem = "";
          return false;
        }
      }
      const response = await httpGet(`${server}/readyz`, caPem);
      return response.status === 200;
    });
    progress(`kube-apiserver ready on ${server}`);

    const kubeconfigDir = join(workDir, "kubeconfig");
    mkdirSync(kubeconfigDir, { recursive: true });
    const writeKubeconfig = (path: string, token: string, user: string) =>
      writeFileSync(path, renderKubeconfig({ server, caPem, token, user }), { mode: 0o600 });
    const adminKubeconfigPath = join(kubeconfigDir, "admin.kubeconfig");
    writeKubeconfig(adminKubeconfigPath, adminToken, adminUser);
    const kcmKubeconfigPath = join(kubeconfigDir, "kube-controller-manager.kubeconfig");
    writeKubeconfig(kcmKubeconfigPath, kcmToken, kcmUser);

    // --- kube-controller-manager --------------------------------------------------------------------------------
    const controllers = opts.controllers ?? defaultControllers;
    track(SupervisedChild.start({
      name: "kube-controller-manager",
      binary: testbinPath(binDir, "kube-controller-manager"),
      logPath: join(logDir, "kube-controller-manager.log"),
      args: [
        `--kubeconfig=${kcmKubeconfigPath}`,
        `--controllers=${controllers.join(",")}`,
        // Each controller runs as system:serviceaccount:kube-system:<controller> with its bootstrap role, as in
        // a real cluster, so a missing RBAC rule shows up here too.
        "--use-service-account-credentials=true",
        `--service-account-private-key-file=${serviceAccountKeyPath}`,
        `--root-ca-file=${caPath}`,
        "--leader-elect=false",
        // Serve nothing: no port to collide between parallel runs; readiness is judged by its effects.
        "--secure-port=0",
        "--kube-api-qps=100",
        "--kube-api-burst=200",
        "--v=1",
      ],
    }));

    const kubeConfigForToken = (token: string, user: string) => {
      const kc = new KubeConfig();
      kc.loadFromString(renderKubeconfig({ server, caPem, token, user }));
      return kc;
    };
    const core = kubeConfigForToken(adminToken, adminUser).makeApiClient(CoreV1Api);
    await waitFor("kube-controller-manager (default ServiceAccount)", phaseTimeoutMs, children, async () => {
      try {
        await core.readNamespacedServiceAccount({ name: "default", namespace: "default" });
        return true;
      } catch (error) {
        if ((error as { code?: number }).code === 404) return false;
        throw error;
      }
    });
    progress(`kube-controller-manager working (${controllers.length} controllers); admin kubeconfig ${adminKubeconfigPath}`);

    let stopped: Promise<void> | undefined;
    return {
      server,
      caPem,
      adminToken,
      adminKubeconfigPath,
      workDir,
      logDir,
      serviceAccountKeyPath,
      kubeConfig: () => kubeConfigForToken(adminToken, adminUser),
      kubeConfigForToken,
      writeKubeconfig,
      stop: () => (stopped ??= cleanup()),
    };
  } catch (error) {
    const tails = children.map((c) => `--- ${c.spec.name} (${c.exitedWith ?? "running"}) ---\n${c.logTail(15)}`).join("\n");
    await cleanup();
    throw new ControlPlaneStartError(
      `control plane did not start: ${(error as Error).message}\n${tails}`,
      { cause: error },
    );
  }
}

/** Ports the OS considers free right now. Another process may take one before we bind it; startup then fails loudly. */
export async function freePorts(count: number): Promise<number[]> {
  const servers = await Promise.all(
    Array.from(
      { length: count },
      () =>
        new Promise<ReturnType<typeof createServer>>((resolve, reject) => {
          const srv = createServer();
          srv.once("error", reject);
          srv.listen(0, "127.0.0.1", () => resolve(srv));
        }),
    ),
  );
  const ports = servers.map((srv) => {
    const address = srv.address();
    if (address === null || typeof address === "string") throw new Error("unexpected server address");
    return address.port;
  });
  await Promise.all(servers.map((srv) => new Promise<void>((resolve) => srv.close(() => resolve()))));
  return ports;
}

interface HttpResult {
  readonly status: number;
  readonly body: string;
}

function httpGet(url: string, caPem?: string): Promise<HttpResult> {
  return new Promise((resolve, reject) => {
    const requestFn = url.startsWith("https:") ? httpsRequest : httpRequest;
    const req = requestFn(url, { method: "GET", ca: caPem, timeout: 5_000 }, (res) => {
      let body = "";
      res.setEncoding("utf8");
      res.on("data", (chunk: string) => (body += chunk));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, body }));
      res.on("error", reject);
    });
    req.on("timeout", () => req.destroy(new Error(`timeout: GET ${url}`)));
    req.on("error", reject);
    req.end();
  });
}

/**
 * Polls `check` until it returns true. Connection errors count as "not yet"; a watched child that exits fails the
 * wait at once with its log tail instead of waiting out the timeout.
 */
async function waitFor(
  what: string,
  timeoutMs: number,
  watchedChildren: readonly SupervisedChild[],
  check: () => Promise<boolean>,
): Promise<void> {
  const deadlineMs = performance.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    for (const child of watchedChildren) child.assertRunning();
    try {
      if (await check()) return;
    } catch (error) {
      lastError = error;
    }
    if (performance.now() > deadlineMs) {
      throw new ControlPlaneStartError(`timed out after ${timeoutMs} ms waiting for ${what}`, { cause: lastError });
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}
