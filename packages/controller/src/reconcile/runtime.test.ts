import { expect } from "chai";
import type { KubernetesObject, V1StatefulSet } from "@kubernetes/client-node";
import { API_GROUP_VERSION, type SQLServerAvailabilityGroup, type SQLServerInstance } from "@sqlag/api";
import { SupervisedInformer } from "@sqlag/kube";
import { FakeClock, FakeInformer } from "@sqlag/testkit";
import * as renderers from "../render/index.js";
import type { ControllerMetrics } from "../metrics.js";
import { FakeClusterClient } from "./fake-cluster-client.js";
import { silentLogger } from "./logger.js";
import { ControllerRuntime, parseQueueKey, queueKey } from "./runtime.js";
import { WorkQueue } from "./work-queue.js";

type Ag = SQLServerAvailabilityGroup & KubernetesObject;
type Instance = SQLServerInstance & KubernetesObject;

function ag(name: string, generation = 1): Ag {
  return {
    apiVersion: API_GROUP_VERSION,
    kind: "SQLServerAvailabilityGroup",
    metadata: { name, namespace: "db", uid: `uid-${name}`, generation },
    spec: {
      agName: "AG1",
      saPasswordSecretRef: { name: "sa", key: "SA_PASSWORD" },
      replicas: [
        { name: "a", availabilityMode: "SynchronousCommit", failoverMode: "Automatic" },
        { name: "b", availabilityMode: "SynchronousCommit", failoverMode: "Automatic" },
        { name: "c", availabilityMode: "SynchronousCommit", failoverMode: "Automatic" },
      ],
    },
  };
}

function instance(name: string): Instance {
  return {
    apiVersion: API_GROUP_VERSION,
    kind: "SQLServerInstance",
    metadata: { name, namespace: "db", uid: `uid-${name}`, generation: 1 },
    spec: { saPasswordSecretRef: { name: "sa", key: "SA_PASSWORD" } },
  };
}

async function settle(): Promise<void> {
  for (let i = 0; i < 30; i++) await new Promise((r) => setImmediate(r));
}

interface Harness {
  clock: FakeClock;
  client: FakeClusterClient;
  ags: FakeInformer<Ag>;
  instances: FakeInformer<Instance>;
  statefulSets: FakeInformer<V1StatefulSet>;
  runtime: ControllerRuntime;
  queue: WorkQueue;
  observed: { kind: string; result: string }[];
  stop: AbortController;
}

async function harness(options: { workers?: number; client?: FakeClusterClient } = {}): Promise<Harness> {
  const clock = new FakeClock();
  const client = options.client ?? new FakeClusterClient().withSecret("db", "sa", ["SA_PASSWORD"]);
  const ags = new FakeInformer<Ag>();
  const instances = new FakeInformer<Instance>();
  const statefulSets = new FakeInformer<V1StatefulSet>();
  const queue = new WorkQueue({ clock, baseBackoffMs: 1_000 });
  const observed: { kind: string; result: string }[] = [];
  const metrics: ControllerMetrics = { observeReconcile: (kind, result) => observed.push({ kind, result }), setLeader: () => undefined };
  const runtime = new ControllerRuntime({
    availabilityGroups: [new SupervisedInformer({ name: "ags", informer: ags, clock })],
    instances: [new SupervisedInformer({ name: "instances", informer: instances, clock })],
    statefulSets: [new SupervisedInformer({ name: "statefulsets", informer: statefulSets, clock })],
    queue,
    deps: { client, renderers, clock, randomSecret: () => "generated", requestTimeoutMs: 1_000 },
    clock,
    workers: options.workers ?? 2,
    resyncPeriodMs: 60_000,
    metrics,
    logger: silentLogger,
  });
  const stop = new AbortController();
  await runtime.startInformers(stop.signal);
  return { clock, client, ags, instances, statefulSets, runtime, queue, observed, stop };
}

describe("ControllerRuntime", () => {
  it("queue keys round-trip and reject junk", () => {
    expect(parseQueueKey(queueKey("instance", "db", "x"))).to.deep.equal({ kind: "instance", namespace: "db", name: "x" });
    expect(parseQueueKey("pods/db/x")).to.equal(undefined);
    expect(parseQueueKey("instance/db")).to.equal(undefined);
  });

  it("reports not ready until every informer synced", async () => {
    const clock = new FakeClock();
    const broken = new FakeInformer<Ag>();
    broken.listFailures = [new Error("connect ECONNREFUSED")];
    const runtime = new ControllerRuntime({
      availabilityGroups: [new SupervisedInformer({ name: "ags", informer: broken, clock, random: () => 0 })],
      instances: [],
      statefulSets: [],
      queue: new WorkQueue({ clock }),
      deps: { client: new FakeClusterClient(), renderers, clock, randomSecret: () => "x", requestTimeoutMs: 1_000 },
      clock,
      workers: 1,
      resyncPeriodMs: 60_000,
      logger: silentLogger,
    });
    const stop = new AbortController();
    await runtime.startInformers(stop.signal);
    expect(runtime.notReadyReasons()).to.deep.equal(["informer ags has not synced"]);
    await clock.advance(1_000);
    await settle();
    expect(runtime.notReadyReasons()).to.deep.equal([]);
    stop.abort();
  });

  it("reconciles existing and new CRs with the workers, and stops cleanly", async () => {
    const h = await harness();
    h.ags.add(ag("one"));
    const running = h.runtime.runWorkers(h.stop.signal);
    await settle();
    h.instances.add(instance("dev"));
    await settle();
    expect(h.observed).to.deep.equal([
      { kind: "availabilitygroup", result: "success" },
      { kind: "instance", result: "success" },
    ]);
    expect(h.client.statusPatches.map((p) => p.ref.name)).to.deep.equal(["one", "dev"]);
    h.stop.abort();
    await running;
  });

  it("ignores status-only updates but reconciles a new generation", async () => {
    const h = await harness();
    const running = h.runtime.runWorkers(h.stop.signal);
    h.ags.add(ag("one", 1));
    await settle();
    h.ags.update({ ...ag("one", 1), status: { phase: "Running" } });
    await settle();
    expect(h.observed).to.have.length(1);
    h.ags.update(ag("one", 2));
    await settle();
    expect(h.observed).to.have.length(2);
    h.stop.abort();
    await running;
  });

  it("reconciles an AG again when the pods its status lists change (a replica left the AG), not on other status churn", async () => {
    const h = await harness();
    const workers = h.runtime.runWorkers(h.stop.signal);
    const member = (pod: string) => ({ name: pod, pod, role: "SECONDARY" as const, availabilityMode: "SynchronousCommit" as const });
    h.ags.add({ ...ag("one", 2), status: { replicaStatuses: [member("one-0"), member("one-1"), member("one-2")] } });
    await settle();
    h.ags.update({ ...ag("one", 2), status: { phase: "Running", replicaStatuses: [member("one-0"), member("one-1"), member("one-2")] } });
    await settle();
    expect(h.observed, "same members: no reconcile").to.have.length(1);
    h.ags.update({ ...ag("one", 2), status: { phase: "Running", replicaStatuses: [member("one-0"), member("one-1")] } });
    await settle();
    expect(h.observed, "a member left: reconcile").to.have.length(2);
    h.stop.abort();
    await workers;
  });

  it("retries a failing CR with backoff until the Secret appears", async () => {
    const h = await harness({ client: new FakeClusterClient() });
    const running = h.runtime.runWorkers(h.stop.signal);
    h.ags.add(ag("one"));
    await settle();
    expect(h.observed.map((o) => o.result)).to.deep.equal(["secret_not_found"]);
    await h.clock.advance(999);
    await settle();
    expect(h.observed).to.have.length(1);
    await h.clock.advance(1);
    await settle();
    expect(h.observed.map((o) => o.result)).to.deep.equal(["secret_not_found", "secret_not_found"]);
    h.client.withSecret("db", "sa", ["SA_PASSWORD"]);
    await h.clock.advance(2_000);
    await settle();
    expect(h.observed.map((o) => o.result)).to.deep.equal(["secret_not_found", "secret_not_found", "success"]);
    expect(h.queue.failureCount(queueKey("availabilitygroup", "db", "one"))).to.equal(0);
    h.stop.abort();
    await running;
  });

  it("one slow reconcile does not block the other workers", async () => {
    let release: () => void = () => undefined;
    const gate = new Promise<void>((r) => (release = r));
    class SlowForOne extends FakeClusterClient {
      override async apply(obj: KubernetesObject): Promise<void> {
        if (obj.metadata?.name === "slow") await gate;
        await super.apply(obj);
      }
    }
    const h = await harness({ client: new SlowForOne().withSecret("db", "sa", ["SA_PASSWORD"]), workers: 2 });
    h.ags.add(ag("slow"));
    h.ags.add(ag("fast"));
    const running = h.runtime.runWorkers(h.stop.signal);
    await settle();
    expect(h.client.statusPatches.map((p) => p.ref.name)).to.deep.equal(["fast"]);
    release();
    await settle();
    expect(h.client.statusPatches.map((p) => p.ref.name)).to.deep.equal(["fast", "slow"]);
    h.stop.abort();
    await running;
  });

  it("a StatefulSet change re-queues its owning Instance", async () => {
    const h = await harness();
    h.instances.add(instance("dev"));
    const running = h.runtime.runWorkers(h.stop.signal);
    await settle();
    const sts: V1StatefulSet = {
      metadata: { name: "dev", namespace: "db", generation: 1, ownerReferences: [{ apiVersion: API_GROUP_VERSION, kind: "SQLServerInstance", name: "dev", uid: "uid-dev", controller: true }] },
      spec: { replicas: 1, serviceName: "dev-hl", selector: {}, template: { spec: { containers: [{ name: "mssql", image: "mcr.microsoft.com/mssql/server:2025-latest" }] } } },
      status: { replicas: 1, readyReplicas: 1, observedGeneration: 1, currentRevision: "r1", updateRevision: "r1", updatedReplicas: 1 },
    };
    h.statefulSets.update(sts);
    await settle();
    expect(h.observed.filter((o) => o.kind === "instance")).to.have.length(2);
    expect(h.client.statusPatches.at(-1)?.status).to.deep.include({ phase: "Running", readyReplicas: 1 });
    h.stop.abort();
    await running;
  });

  it("resyncs every CR after the resync period", async () => {
    const h = await harness();
    h.ags.add(ag("one"));
    const running = h.runtime.runWorkers(h.stop.signal);
    await settle();
    await h.clock.advance(60_000);
    await settle();
    expect(h.observed).to.have.length(2);
    h.stop.abort();
    await running;
  });
});
