/**
 * The fake kubelet against the real control plane: pods are bound to fake nodes, get loopback IPs, run their
 * containers as processes (the `sqlag.test/echo:1` test image), report probes and restarts, finish graceful
 * deletion through preStop, and StatefulSet pods behind a headless Service appear in real EndpointSlices.
 * Also the faults that need no SQL: crash, node kill, API cut (through the pod's own kubeconfig, so the pod's
 * ServiceAccount token and RBAC are exercised too).
 */
import { existsSync, mkdirSync, mkdtempSync, readFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { expect } from "chai";
import { Connection, Request } from "tedious";
import {
  AppsV1Api,
  CoordinationV1Api,
  CoreV1Api,
  DiscoveryV1Api,
  KubeConfig,
  RbacAuthorizationV1Api,
  type V1Container,
  type V1Pod,
} from "@kubernetes/client-node";
import { sharedControlPlane } from "../cluster/global-fixture.js";
import { apiStatus, createTestNamespace, deleteTestNamespace, eventually } from "../cluster/namespaces.js";
import { Faults } from "../faults/faults.js";
import { scaledBackoffPolicy } from "../kubelet/backoff.js";
import { reachableAddressOf } from "../kubelet/ip-allocator.js";
import { Kubelet } from "../kubelet/kubelet.js";
import { readyEndpoints } from "../workload/endpoints.js";

const echoImage = "sqlag.test/echo:1";
/** Kept after the run for a post-mortem; unique per run, because several runs may share the checkout. */
const runRoot = fileURLToPath(new URL("../../../.sqlag-run/e2e/", import.meta.url));

function echoContainer(extra: Partial<V1Container> = {}): V1Container {
  return {
    name: "echo",
    image: echoImage,
    ports: [{ name: "http", containerPort: 18080 }],
    readinessProbe: { httpGet: { path: "/readyz", port: "http" }, periodSeconds: 1 },
    ...extra,
  };
}

/** One query with tedious, encrypted like a real client of SQL Server (self-signed certificate trusted). */
function queryOnce(address: string, password: string, sql: string): Promise<unknown[][]> {
  return new Promise((resolve, reject) => {
    const connection = new Connection({
      server: address,
      authentication: { type: "default", options: { userName: "sa", password } },
      options: { port: 1433, encrypt: true, trustServerCertificate: true, connectTimeout: 15_000, requestTimeout: 15_000 },
    });
    connection.on("error", () => undefined);
    connection.connect((connectError) => {
      if (connectError != null) return reject(connectError);
      const rows: unknown[][] = [];
      const request = new Request(sql, (error) => {
        connection.close();
        if (error != null) reject(error);
        else resolve(rows);
      });
      request.on("row", (columns: Array<{ value: unknown }>) => rows.push(columns.map((column) => column.value)));
      connection.execSql(request);
    });
  });
}

function condition(pod: V1Pod | undefined, type: string): string | undefined {
  return pod?.status?.conditions?.find((candidate) => candidate.type === type)?.status;
}

describe("fake kubelet @smoke", function () {
  let kc: KubeConfig;
  let core: CoreV1Api;
  let namespace: string;
  let kubelet: Kubelet;
  let faults: Faults;
  let kubeletWorkDir: string;

  const readPod = (name: string): Promise<V1Pod> => core.readNamespacedPod({ name, namespace });
  const waitFor = <T>(what: string, probe: () => Promise<T | undefined>): Promise<T> => eventually(what, probe, { timeoutMs: 120_000 });
  const readyPod = (name: string): Promise<V1Pod> =>
    waitFor(`pod ${name} Ready`, async () => {
      const pod = await readPod(name);
      return condition(pod, "Ready") === "True" ? pod : undefined;
    });

  before(async function () {
    const controlPlane = sharedControlPlane();
    kc = controlPlane.kubeConfig();
    core = kc.makeApiClient(CoreV1Api);
    namespace = await createTestNamespace(kc, "kubelet");
    mkdirSync(runRoot, { recursive: true });
    kubeletWorkDir = mkdtempSync(path.join(runRoot, "kubelet-"));
    kubelet = await Kubelet.start({
      kubeConfig: kc,
      caPem: controlPlane.caPem,
      workDir: kubeletWorkDir,
      namespaces: [namespace],
      backoff: scaledBackoffPolicy(0.01),
      nodeHeartbeatIntervalMs: 2_000,
    });
    faults = new Faults(kubelet, kc);
    // The ServiceAccount admission plugin rejects pods until the controller created `default`.
    await waitFor("default ServiceAccount", async () => {
      try {
        return await core.readNamespacedServiceAccount({ name: "default", namespace });
      } catch {
        return undefined;
      }
    });
  });

  after(async function () {
    // Delete while the kubelet still runs, so it can finalise the pods and the namespace can go away.
    if (namespace) {
      await deleteTestNamespace(kc, namespace);
      await eventually("pods of the spec namespace finalised", async () => ((await core.listNamespacedPod({ namespace })).items.length === 0 ? true : undefined), {
        timeoutMs: 60_000,
      }).catch(() => undefined);
    }
    await kubelet?.stop();
  });

  it("registers Ready nodes with heartbeat Leases", async function () {
    for (const name of ["node-a", "node-b", "node-c"]) {
      const node = await core.readNode({ name });
      expect(node.metadata?.labels?.["kubernetes.io/hostname"]).to.equal(name);
      expect(node.status?.conditions?.find((candidate) => candidate.type === "Ready")?.status).to.equal("True");
      const lease = await kc.makeApiClient(CoordinationV1Api).readNamespacedLease({ name, namespace: "kube-node-lease" });
      expect(lease.spec?.holderIdentity).to.equal(name);
    }
  });

  it("binds a pod, gives it a loopback IP, runs the mapped image and turns Ready through an httpGet probe", async function () {
    await core.createNamespacedPod({
      namespace,
      body: {
        metadata: { name: "echo-ready" },
        spec: { containers: [echoContainer({ env: [{ name: "MY_NODE", valueFrom: { fieldRef: { fieldPath: "spec.nodeName" } } }] })] },
      },
    });
    const pod = await readyPod("echo-ready");
    expect(pod.spec?.nodeName).to.be.oneOf(["node-a", "node-b", "node-c"]);
    expect(pod.status?.phase).to.equal("Running");
    // Published in 198.18.0.0/15 (EndpointSlices refuse loopback); the processes listen on the 127.0.X.Y twin.
    expect(pod.status?.podIP).to.match(/^198\.18\.\d+\.\d+$/);
    expect(reachableAddressOf(pod.status?.podIP ?? "")).to.equal(kubelet.pod(namespace, "echo-ready")?.podIp);
    expect(pod.status?.hostIP).to.equal(kubelet.hostIpOf(pod.spec?.nodeName ?? ""));
    expect(pod.status?.containerStatuses?.[0]).to.deep.include({ name: "echo", ready: true, started: true, restartCount: 0 });
    const env = (await (await fetch(`http://${reachableAddressOf(pod.status?.podIP ?? "")}:18080/env`)).json()) as Record<string, string>;
    expect(env["MY_NODE"]).to.equal(pod.spec?.nodeName);
  });

  it("fails a pod with an unmapped image clearly", async function () {
    await core.createNamespacedPod({ namespace, body: { metadata: { name: "unmapped" }, spec: { containers: [{ name: "app", image: "example.com/nope:3" }] } } });
    const waiting = await waitFor("ErrImageNeverPull", async () => {
      const state = (await readPod("unmapped")).status?.containerStatuses?.[0]?.state?.waiting;
      return state?.reason === "ErrImageNeverPull" ? state : undefined;
    });
    expect(waiting.message).to.contain('image "example.com/nope:3" is not mapped');
    expect((await readPod("unmapped")).status?.phase).to.equal("Pending");
  });

  it("restarts a container on liveness failure and on a crash, counting restarts", async function () {
    // A startup probe holds liveness back until the server answers, as a real manifest would; counts are
    // compared with the value before each fault, so a slow start on a loaded machine cannot skew them.
    const healthz = { httpGet: { path: "/healthz", port: 18080 }, periodSeconds: 1, timeoutSeconds: 5 };
    await core.createNamespacedPod({
      namespace,
      body: {
        metadata: { name: "echo-live" },
        spec: { containers: [echoContainer({ startupProbe: { ...healthz, failureThreshold: 120 }, livenessProbe: { ...healthz, failureThreshold: 2 } })] },
      },
    });
    const restartsNow = async (): Promise<number> => (await readPod("echo-live")).status?.containerStatuses?.[0]?.restartCount ?? 0;
    const restartedAfter = (before: number, what: string) =>
      waitFor(what, async () => {
        const status = (await readPod("echo-live")).status?.containerStatuses?.[0];
        return (status?.restartCount ?? 0) > before && status?.state?.running != null ? status : undefined;
      });
    const pod = await readyPod("echo-live");
    const beforeLiveness = await restartsNow();
    await fetch(`http://${reachableAddressOf(pod.status?.podIP ?? "")}:18080/fail-liveness`);
    const afterLiveness = await restartedAfter(beforeLiveness, "a restart after the liveness failure");
    expect(afterLiveness.restartCount).to.equal(beforeLiveness + 1);
    await readyPod("echo-live");
    const beforeCrash = await restartsNow();
    faults.crashContainer({ namespace, name: "echo-live" }, "echo");
    const afterCrash = await restartedAfter(beforeCrash, "a restart after the crash");
    expect(afterCrash.restartCount).to.equal(beforeCrash + 1);
    expect(afterCrash.lastState?.terminated?.exitCode).to.equal(137);
  });

  it("graceful deletion runs preStop, then SIGTERM, then finalises the pod", async function () {
    await core.createNamespacedPod({
      namespace,
      body: {
        metadata: { name: "echo-prestop" },
        spec: {
          terminationGracePeriodSeconds: 20,
          containers: [echoContainer({ lifecycle: { preStop: { httpGet: { path: "/prestop", port: 18080 } } } })],
        },
      },
    });
    await readyPod("echo-prestop");
    const logPath = kubelet.pod(namespace, "echo-prestop")?.container("echo")?.logPath ?? "";
    await faults.deletePod({ namespace, name: "echo-prestop" });
    await waitFor("pod gone", async () => {
      try {
        await readPod("echo-prestop");
        return undefined;
      } catch (error) {
        return apiStatus(error) === 404 ? true : undefined;
      }
    });
    const log = readFileSync(logPath, "utf8");
    expect(log.indexOf("prestop called")).to.be.greaterThan(-1);
    expect(log.indexOf("prestop called")).to.be.lessThan(log.indexOf("SIGTERM received"));
  });

  it("runs a StatefulSet behind a headless Service: pods spread over nodes and appear in EndpointSlices", async function () {
    const labels = { app: "web" };
    await core.createNamespacedService({
      namespace,
      body: { metadata: { name: "web-hl" }, spec: { clusterIP: "None", selector: labels, ports: [{ name: "http", port: 18080 }], publishNotReadyAddresses: true } },
    });
    await kc.makeApiClient(AppsV1Api).createNamespacedStatefulSet({
      namespace,
      body: {
        metadata: { name: "web" },
        spec: {
          serviceName: "web-hl",
          replicas: 3,
          selector: { matchLabels: labels },
          template: {
            metadata: { labels },
            spec: {
              affinity: {
                podAntiAffinity: {
                  preferredDuringSchedulingIgnoredDuringExecution: [
                    { weight: 100, podAffinityTerm: { topologyKey: "kubernetes.io/hostname", labelSelector: { matchLabels: labels } } },
                  ],
                },
              },
              containers: [echoContainer()],
            },
          },
        },
      },
    });
    const discovery = kc.makeApiClient(DiscoveryV1Api);
    const endpoints = await waitFor("3 ready endpoints", async () => {
      const slices = await discovery.listNamespacedEndpointSlice({ namespace, labelSelector: "kubernetes.io/service-name=web-hl" });
      const ready = readyEndpoints(slices.items, "http");
      return ready.length === 3 ? ready : undefined;
    });
    expect(endpoints.map((endpoint) => endpoint.podName)).to.deep.equal(["web-0", "web-1", "web-2"]);
    const pods = await Promise.all(["web-0", "web-1", "web-2"].map((name) => readPod(name)));
    expect(endpoints.map((endpoint) => endpoint.address)).to.deep.equal(pods.map((pod) => pod.status?.podIP));
    expect(new Set(pods.map((pod) => pod.spec?.nodeName)).size).to.equal(3);
    const dns = JSON.parse(readFileSync(kubelet.dnsFilePath, "utf8")) as Record<string, string>;
    expect(dns[`web-0.web-hl.${namespace}.svc.cluster.local`]).to.equal(reachableAddressOf(pods[0]?.status?.podIP ?? ""));

    // A re-created StatefulSet pod keeps its address (there is no DNS to follow a change).
    const before = pods[0];
    await faults.deletePod({ namespace, name: "web-0" });
    const recreated = await waitFor("web-0 re-created and Ready", async () => {
      const pod = await readPod("web-0").catch(() => undefined);
      return pod != null && pod.metadata?.uid !== before?.metadata?.uid && condition(pod, "Ready") === "True" ? pod : undefined;
    });
    expect(recreated.status?.podIP).to.equal(before?.status?.podIP);
  });

  it("gives each pod its own ServiceAccount token (RBAC applies) and an API proxy the tests can cut", async function () {
    const rbac = kc.makeApiClient(RbacAuthorizationV1Api);
    await core.createNamespacedServiceAccount({ namespace, body: { metadata: { name: "reader" } } });
    await rbac.createNamespacedRole({
      namespace,
      body: { metadata: { name: "pod-reader" }, rules: [{ apiGroups: [""], resources: ["pods"], verbs: ["get", "list"] }] },
    });
    await rbac.createNamespacedRoleBinding({
      namespace,
      body: {
        metadata: { name: "pod-reader" },
        roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "Role", name: "pod-reader" },
        subjects: [{ kind: "ServiceAccount", name: "reader", namespace }],
      },
    });
    await core.createNamespacedPod({ namespace, body: { metadata: { name: "echo-sa" }, spec: { serviceAccountName: "reader", containers: [echoContainer()] } } });
    await readyPod("echo-sa");
    const handle = kubelet.pod(namespace, "echo-sa");
    const podKubeConfig = new KubeConfig();
    podKubeConfig.loadFromFile(handle?.kubeconfigPath ?? "");
    expect(podKubeConfig.getCurrentUser()?.name).to.equal(`system:serviceaccount:${namespace}:reader`);
    // The kubelet's 3607 s request is extended by the apiserver, so long runs never see the token expire.
    const claims = JSON.parse(Buffer.from((podKubeConfig.getCurrentUser()?.token ?? "").split(".")[1] ?? "", "base64url").toString()) as { exp: number; iat: number };
    expect(claims.exp - claims.iat, "token lifetime in seconds").to.be.greaterThan(86_400);
    const asPod = podKubeConfig.makeApiClient(CoreV1Api);
    expect((await asPod.listNamespacedPod({ namespace })).items.length).to.be.greaterThan(0);
    let denied: number | undefined;
    try {
      await asPod.listNamespacedSecret({ namespace });
    } catch (error) {
      denied = apiStatus(error);
    }
    expect(denied, "the pod's token must not read secrets").to.equal(403);

    faults.cutApiAccess({ namespace, name: "echo-sa" }, "refuse");
    let cutError: unknown;
    try {
      await asPod.listNamespacedPod({ namespace });
    } catch (error) {
      cutError = error;
    }
    expect(cutError, "a cut pod cannot reach the API server").to.not.equal(undefined);
    expect(apiStatus(cutError)).to.equal(undefined);
    faults.restoreApiAccess({ namespace, name: "echo-sa" });
    await waitFor("API reachable again", async () => ((await asPod.listNamespacedPod({ namespace })).items.length > 0 ? true : undefined));
  });

  it("runs mssql-sim for the SQL Server image: TDS on the pod IP, data on the PVC path, admin API reachable", async function () {
    await core.createNamespacedSecret({ namespace, body: { metadata: { name: "mssql-sa" }, stringData: { password: "Sql-Passw0rd!" } } });
    await core.createNamespacedPersistentVolumeClaim({
      namespace,
      body: { metadata: { name: "data-sql" }, spec: { accessModes: ["ReadWriteOnce"], resources: { requests: { storage: "1Gi" } } } },
    });
    await core.createNamespacedPod({
      namespace,
      body: {
        metadata: { name: "sql" },
        spec: {
          volumes: [{ name: "data", persistentVolumeClaim: { claimName: "data-sql" } }],
          containers: [
            {
              name: "mssql",
              image: "mcr.microsoft.com/mssql/server:2022-latest",
              ports: [{ name: "mssql", containerPort: 1433 }],
              env: [
                { name: "ACCEPT_EULA", value: "Y" },
                { name: "MSSQL_SA_PASSWORD", valueFrom: { secretKeyRef: { name: "mssql-sa", key: "password" } } },
              ],
              volumeMounts: [{ name: "data", mountPath: "/var/opt/mssql" }],
              readinessProbe: { tcpSocket: { port: "mssql" }, periodSeconds: 1 },
            },
          ],
        },
      },
    });
    const pod = await readyPod("sql");
    const rows = await queryOnce(reachableAddressOf(pod.status?.podIP ?? ""), "Sql-Passw0rd!", "SELECT @@SERVERNAME");
    expect(rows).to.deep.equal([["sql"]]);
    expect(existsSync(path.join(kubeletWorkDir, "pvc", namespace, "data-sql")), "data dir on the PVC path").to.equal(true);
    const admin = faults.mssqlAdmin({ namespace, name: "sql" });
    expect(await admin.writableIntervals()).to.deep.equal([]);
  });

  it("a killed node's pods die without preStop and the node goes NotReady; revive restores it", async function () {
    await core.createNamespacedPod({
      namespace,
      body: {
        metadata: { name: "echo-doomed" },
        spec: { containers: [echoContainer({ lifecycle: { preStop: { httpGet: { path: "/prestop", port: 18080 } } } })] },
      },
    });
    const pod = await readyPod("echo-doomed");
    const nodeName = faults.nodeOf({ namespace, name: "echo-doomed" });
    const container = kubelet.pod(namespace, "echo-doomed")?.container("echo");
    const pid = container?.pid;
    const logPath = container?.logPath ?? "";
    expect(pid).to.be.a("number");
    await faults.killNode(nodeName);
    expect(() => process.kill(pid ?? 0, 0), "the container process is gone").to.throw();
    const node = await core.readNode({ name: nodeName });
    expect(node.status?.conditions?.find((candidate) => candidate.type === "Ready")?.status).to.equal("Unknown");
    const stillBound = await readPod("echo-doomed");
    expect(stillBound.spec?.nodeName).to.equal(nodeName);
    expect(stillBound.metadata?.uid).to.equal(pod.metadata?.uid);
    expect(readFileSync(logPath, "utf8")).to.not.contain("prestop called");
    await faults.forceDeletePod({ namespace, name: "echo-doomed" });
    await faults.reviveNode(nodeName);
    const revived = await core.readNode({ name: nodeName });
    expect(revived.status?.conditions?.find((candidate) => candidate.type === "Ready")?.status).to.equal("True");
  });
});
