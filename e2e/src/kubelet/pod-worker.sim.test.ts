import { expect } from "chai";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import type { V1ConfigMap, V1Container, V1Pod, V1PodStatus, V1Secret } from "@kubernetes/client-node";
import { scaledBackoffPolicy } from "./backoff.js";
import { publishedAddressOf } from "./ip-allocator.js";
import { PodWorker, type PodWorkerHost } from "./pod-worker.js";
import { defaultExecHandlers } from "./probes.js";
import { defaultImageRuntimes } from "./runtime.js";
import { ApiServerProxy } from "../faults/api-proxy.js";

/** Real processes and real TCP, fake API: the worker's lifecycle without a control plane. */
class FakeHost implements PodWorkerHost {
  readonly workDir = mkdtempSync(path.join(os.tmpdir(), "fake-kubelet-"));
  readonly caPem = "-----BEGIN CERTIFICATE-----\nfake\n-----END CERTIFICATE-----\n";
  readonly runtimes = defaultImageRuntimes({ repoRoot: path.resolve(import.meta.dirname, "../../..") });
  readonly backoff = scaledBackoffPolicy(0.01);
  readonly execHandlers = defaultExecHandlers;
  readonly dnsFilePath = "/nonexistent/fake-dns.json";
  dnsTable = (): Record<string, string> => ({});
  log = (): void => undefined;
  readonly secrets = new Map<string, V1Secret>();
  readonly configMaps = new Map<string, V1ConfigMap>();
  readonly events: Array<{ type: string; reason: string; message: string }> = [];
  readonly proxies: ApiServerProxy[] = [];
  status: V1PodStatus | undefined;
  finalized = 0;
  released = 0;
  nowMs = (): number => performance.now();
  getSecret = async (_namespace: string, name: string): Promise<V1Secret | undefined> => this.secrets.get(name);
  getConfigMap = async (_namespace: string, name: string): Promise<V1ConfigMap | undefined> => this.configMaps.get(name);
  requestToken = async (): Promise<string> => "fake-token";
  patchPodStatus = async (_pod: V1Pod, status: V1PodStatus): Promise<void> => {
    this.status = status;
  };
  finalizePodDeletion = async (): Promise<void> => {
    this.finalized++;
  };
  recordEvent = (_pod: V1Pod, type: "Normal" | "Warning", reason: string, message: string): void => {
    this.events.push({ type, reason, message });
  };
  createApiProxy = async (): Promise<ApiServerProxy> => {
    const proxy = new ApiServerProxy({ host: "127.0.0.1", port: 1 });
    await proxy.start();
    this.proxies.push(proxy);
    return proxy;
  };
  releasePod = (): void => {
    this.released++;
  };
  cleanup(): void {
    rmSync(this.workDir, { recursive: true, force: true });
  }
}

let ipCounter = 0;
function nextPodIp(): string {
  ipCounter++;
  return `127.0.${200 + (process.pid % 50)}.${ipCounter}`;
}

function echo(name: string, extra: Partial<V1Container> = {}): V1Container {
  return { name, image: "sqlag.test/echo:1", ports: [{ name: "http", containerPort: 18080 }], ...extra };
}

function podOf(spec: V1Pod["spec"]): V1Pod {
  return { metadata: { name: "p", namespace: "ns", uid: `uid-${Math.random()}` }, spec };
}

async function runUntil(worker: PodWorker, what: string, predicate: () => boolean | Promise<boolean>, limitMs = 20_000): Promise<void> {
  const giveUpAt = performance.now() + limitMs;
  while (!(await predicate())) {
    if (performance.now() > giveUpAt) throw new Error(`gave up waiting for: ${what}`);
    await worker.step();
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

function condition(status: V1PodStatus | undefined, type: string): string | undefined {
  return status?.conditions?.find((candidate) => candidate.type === type)?.status;
}

async function answers(url: string): Promise<boolean> {
  try {
    return (await fetch(url, { signal: AbortSignal.timeout(1_000) })).ok;
  } catch {
    return false;
  }
}

async function fetchText(url: string): Promise<string> {
  const response = await fetch(url, { signal: AbortSignal.timeout(5_000) });
  return response.text();
}

describe("PodWorker (real processes, fake API)", function () {
  this.timeout(60_000);
  let host: FakeHost;
  let worker: PodWorker | undefined;

  beforeEach(() => {
    host = new FakeHost();
  });
  afterEach(async () => {
    await worker?.abandon();
    worker = undefined;
    host.cleanup();
  });

  it("starts the native sidecar, then the init container, then the app, and becomes Ready", async () => {
    const pod = podOf({
      initContainers: [
        echo("sidecar", {
          restartPolicy: "Always",
          args: ["--port", "18081"],
          ports: [{ name: "side", containerPort: 18081 }],
          startupProbe: { httpGet: { path: "/healthz", port: "side" }, periodSeconds: 1 },
        }),
        echo("init", { args: ["--exit-after-ms", "50"] }),
      ],
      containers: [echo("app", { readinessProbe: { httpGet: { path: "/readyz", port: 18080 }, periodSeconds: 1 } })],
    });
    worker = new PodWorker(pod, nextPodIp(), "198.19.0.1", host);
    await runUntil(worker, "pod Ready", () => condition(host.status, "Ready") === "True");
    const started = host.events.filter((event) => event.reason === "Started").map((event) => event.message.split(" ")[2]);
    expect(started).to.deep.equal(["sidecar", "init", "app"]);
    expect(host.status?.phase).to.equal("Running");
    expect(host.status?.podIP).to.equal(publishedAddressOf(worker.podIp));
    expect(condition(host.status, "Initialized")).to.equal("True");
    expect(condition(host.status, "ContainersReady")).to.equal("True");
    const initStatuses = host.status?.initContainerStatuses ?? [];
    expect(initStatuses.map((status) => [status.name, status.started])).to.deep.equal([
      ["sidecar", true],
      ["init", false],
    ]);
    expect(initStatuses[1]?.state?.terminated?.reason).to.equal("Completed");
    expect(await fetchText(`http://${worker.podIp}:18080/anything`)).to.equal("echo GET /anything");
  });

  it("restarts a container whose liveness probe fails and counts the restart", async () => {
    // The startup probe keeps liveness from judging a server that is still starting on a loaded machine.
    const healthz = { httpGet: { path: "/healthz", port: 18080 }, periodSeconds: 1, timeoutSeconds: 5 };
    const pod = podOf({ containers: [echo("app", { startupProbe: { ...healthz, failureThreshold: 120 }, livenessProbe: { ...healthz, failureThreshold: 2 } })] });
    worker = new PodWorker(pod, nextPodIp(), "198.19.0.1", host);
    await runUntil(worker, "container started", () => host.status?.containerStatuses?.[0]?.started === true);
    const before = host.status?.containerStatuses?.[0]?.restartCount ?? 0;
    await fetchText(`http://${worker.podIp}:18080/fail-liveness`);
    await runUntil(worker, "restart after liveness failure", () => (host.status?.containerStatuses?.[0]?.restartCount ?? 0) > before && host.status?.containerStatuses?.[0]?.state?.running != null);
    expect(host.status?.containerStatuses?.[0]?.restartCount).to.equal(before + 1);
    expect(host.events.some((event) => event.reason === "Unhealthy" && event.message.startsWith("Liveness probe failed"))).to.equal(true);
    expect(host.status?.containerStatuses?.[0]?.lastState?.terminated).to.not.equal(undefined);
  });

  it("restarts a crashed (SIGKILLed) container with back-off and reports the last termination", async () => {
    worker = new PodWorker(podOf({ containers: [echo("app")] }), nextPodIp(), "198.19.0.1", host);
    await runUntil(worker, "container running", () => worker?.container("app")?.running === true);
    const firstPid = worker.container("app")?.pid;
    worker.container("app")?.process?.signal("SIGKILL");
    await runUntil(worker, "restarted", () => host.status?.containerStatuses?.[0]?.restartCount === 1 && worker?.container("app")?.running === true);
    expect(worker.container("app")?.pid).to.not.equal(firstPid);
    expect(host.status?.containerStatuses?.[0]?.lastState?.terminated?.exitCode).to.equal(137);
  });

  it("reports an unmapped image clearly and never starts it", async () => {
    worker = new PodWorker(podOf({ containers: [{ name: "app", image: "example.com/unknown:2" }] }), nextPodIp(), "198.19.0.1", host);
    await runUntil(worker, "waiting reason", () => host.status?.containerStatuses?.[0]?.state?.waiting?.reason === "ErrImageNeverPull");
    expect(host.status?.containerStatuses?.[0]?.state?.waiting?.message).to.contain('image "example.com/unknown:2" is not mapped');
    expect(host.status?.phase).to.equal("Pending");
  });

  it("holds a container with a missing secret in CreateContainerConfigError until the secret exists", async () => {
    const pod = podOf({ containers: [echo("app", { env: [{ name: "PW", valueFrom: { secretKeyRef: { name: "sa", key: "password" } } }] })] });
    worker = new PodWorker(pod, nextPodIp(), "198.19.0.1", host);
    await runUntil(worker, "config error", () => host.status?.containerStatuses?.[0]?.state?.waiting?.reason === "CreateContainerConfigError");
    expect(host.status?.containerStatuses?.[0]?.state?.waiting?.message).to.contain('secret "sa" not found');
    host.secrets.set("sa", { data: { password: Buffer.from("pw").toString("base64") } });
    await runUntil(worker, "running", () => worker?.container("app")?.running === true);
  });

  it("resolves env and writes Secret/ConfigMap volumes (items, subPath) that the program reads through SQLAG_FAKE_MOUNTS", async () => {
    host.secrets.set("creds", { data: { password: Buffer.from("S3cret").toString("base64"), user: Buffer.from("sa").toString("base64") } });
    host.configMaps.set("conf", { data: { "mssql.conf": "[hadr]\nhadrenabled = 1\n" } });
    const pod = podOf({
      volumes: [
        { name: "creds", secret: { secretName: "creds", items: [{ key: "password", path: "pw/password.txt" }] } },
        { name: "conf", configMap: { name: "conf" } },
        { name: "scratch", emptyDir: {} },
      ],
      containers: [
        echo("app", {
          env: [
            { name: "MY_POD", valueFrom: { fieldRef: { fieldPath: "metadata.name" } } },
            { name: "MY_IP", valueFrom: { fieldRef: { fieldPath: "status.podIP" } } },
            { name: "USER_NAME", valueFrom: { secretKeyRef: { name: "creds", key: "user" } } },
          ],
          volumeMounts: [
            { name: "creds", mountPath: "/etc/creds", readOnly: true },
            { name: "conf", mountPath: "/var/opt/mssql/mssql.conf", subPath: "mssql.conf" },
            { name: "scratch", mountPath: "/tmp/scratch" },
          ],
        }),
      ],
    });
    worker = new PodWorker(pod, nextPodIp(), "198.19.0.1", host);
    await runUntil(worker, "running", () => host.status?.containerStatuses?.[0]?.state?.running != null);
    const base = `http://${worker.podIp}:18080`;
    await runUntil(worker, "listening", () => answers(`${base}/healthz`));
    const env = JSON.parse(await fetchText(`${base}/env`)) as Record<string, string>;
    expect(env).to.include({ MY_POD: "p", MY_IP: worker.podIp, USER_NAME: "sa" });
    expect(readFileSync(env["KUBECONFIG"] ?? "", "utf8")).to.contain("token: fake-token");
    expect(await fetchText(`${base}/file?path=/etc/creds/pw/password.txt`)).to.equal("S3cret");
    expect(await fetchText(`${base}/file?path=/var/opt/mssql/mssql.conf`)).to.contain("hadrenabled = 1");
  });

  it("on deletion runs preStop, stops the app first and the sidecar last, then finalises", async () => {
    const pod = podOf({
      terminationGracePeriodSeconds: 10,
      initContainers: [echo("sidecar", { restartPolicy: "Always", args: ["--port", "18081"] })],
      containers: [echo("app", { args: ["--term-delay-ms", "300"], lifecycle: { preStop: { httpGet: { path: "/prestop", port: 18080 } } } })],
    });
    worker = new PodWorker(pod, nextPodIp(), "198.19.0.1", host);
    await runUntil(worker, "both running", () => worker?.container("app")?.running === true && worker.container("sidecar")?.running === true);
    await runUntil(worker, "app listening", () => answers(`http://${worker?.podIp ?? ""}:18080/healthz`));
    worker.pod = { ...pod, metadata: { ...pod.metadata, deletionTimestamp: new Date() } };
    await worker.step();
    await worker.waitTerminated();
    expect(host.finalized).to.equal(1);
    expect(host.released).to.equal(1);
    const appLog = readFileSync(worker.container("app")?.logPath ?? "", "utf8");
    const sidecarLog = readFileSync(worker.container("sidecar")?.logPath ?? "", "utf8");
    const stamp = (log: string, marker: string): number => Date.parse(log.split("\n").find((line) => line.includes(marker))?.split(" ")[0] ?? "");
    expect(appLog.indexOf("prestop called")).to.be.greaterThan(-1);
    expect(appLog.indexOf("prestop called")).to.be.lessThan(appLog.indexOf("SIGTERM received"));
    expect(stamp(sidecarLog, "SIGTERM received")).to.be.at.least(stamp(appLog, "exiting after SIGTERM"));
  });
});
