/**
 * Bootstrap on the test cluster: for each supported topology the agents form the AG by themselves from empty
 * mssql-sim pods. What a user and an application can see is asserted: phase Running, one pod labelled primary
 * that holds the Lease and is the only writable instance per the simulator's ground truth, the rw listener
 * pointing at it alone, secondaries synchronising, `kubectl get sqlag` columns, FailoverReady, and a workload
 * writing through the rw Service with the invariant checker passing.
 */
import { CoordinationV1Api, type V1Pod } from "@kubernetes/client-node";
import { expect } from "chai";
import { agNames, type AvailabilityMode } from "@sqlag/api";
import { eventually } from "../cluster/namespaces.js";
import { kubectl } from "../support/kubectl.js";
import { conditionOf } from "../support/custom-objects.js";
import { note, reportSpecWallTime, step } from "../support/step.js";
import { reachableAddressOf } from "../kubelet/ip-allocator.js";
import {
  agentRssKiB,
  agentStatus,
  agObject,
  applyAg,
  instanceTruth,
  lastServingMs,
  measureSteadyStateApiRequests,
  podsOf,
  readAg,
  roleLabelOf,
  serviceEndpoints,
  topologyReplicas,
  useAgScenario,
  waitForAg,
  writeThroughListenerAndCheckInvariants,
  type AgScenario,
  type AgTopology,
} from "../scenarios/ag-scenario.js";

const crName = "mssql-ag";
const database = "appdb";
const listenerName = "mssql-ag-listener";

interface TopologyCase {
  readonly topology: AgTopology;
  readonly title: string;
  readonly tags: string;
  readonly failoverReady: "True" | "False";
  /** Print the API request rate over a 60 s steady-state window (once is enough; it costs a minute). */
  readonly measureApiRequests?: boolean;
}

const cases: readonly TopologyCase[] = [
  { topology: "compatibility", title: "compatibility manifest (2 synchronous + 1 asynchronous)", tags: "@smoke", failoverReady: "False", measureApiRequests: true },
  { topology: "three-synchronous", title: "three synchronous replicas", tags: "", failoverReady: "True" },
  { topology: "two-synchronous-witness", title: "two synchronous replicas + configuration-only witness", tags: "", failoverReady: "True" },
];

/** What each replica's databases must reach: synchronous SYNCHRONIZED, asynchronous SYNCHRONIZING, a witness none. */
function expectedDatabaseState(mode: AvailabilityMode | undefined): string | undefined {
  if (mode === "SynchronousCommit") return "SYNCHRONIZED";
  if (mode === "AsynchronousCommit") return "SYNCHRONIZING";
  return undefined;
}

async function bootstrapAndVerify(scenario: AgScenario, topology: TopologyCase): Promise<void> {
  const { fixture } = scenario;
  const replicas = topologyReplicas[topology.topology];
  const podNames = replicas.map((_, ordinal) => agNames.pod(crName, ordinal));
  const appliedAtMs = Date.now();
  await step(`apply the ${topology.title} AG with database ${database}`, () => applyAg(scenario, agObject(fixture.namespace, crName, { replicas, databases: [{ name: database }] })));

  const running = await step("phase Running with the primary recorded and initialisation complete", () =>
    waitForAg(scenario, crName, "phase Running", (view) => view.status.phase === "Running" && view.status.primaryReplica !== undefined && view.status.initializationComplete === true, 240_000),
  );
  const runningAtMs = Date.now();
  const servingMs = lastServingMs(scenario, podNames);
  note(`timings: applied→Running ${((runningAtMs - appliedAtMs) / 1000).toFixed(1)} s; last mssql-sim "serving"→Running ${servingMs === undefined ? "n/a" : `${((runningAtMs - servingMs) / 1000).toFixed(1)} s`} (polled every 0.5 s)`);

  const primary = running.status.primaryReplica ?? "";
  const pods = await step("exactly one pod labelled primary, the others secondary", () =>
    eventually("role labels", async () => {
      const items = await podsOf(scenario, crName);
      const primaries = items.filter((pod) => roleLabelOf(pod) === "primary");
      const dataReplicas = replicas.filter((replica) => replica.availabilityMode !== "ConfigurationOnly").length;
      const secondaries = items.filter((pod) => roleLabelOf(pod) === "secondary");
      return items.length === replicas.length && primaries.length === 1 && secondaries.length >= dataReplicas - 1 ? items : undefined;
    }, { timeoutMs: 60_000 }),
  );
  const labelledPrimary = pods.find((pod) => roleLabelOf(pod) === "primary")?.metadata?.name;
  note(`labels: ${pods.map((pod) => `${pod.metadata?.name ?? ""}=${roleLabelOf(pod) ?? "-"}`).join(", ")}`);
  expect(labelledPrimary, "the labelled primary is status.primaryReplica").to.equal(primary);

  const lease = await fixture.kc.makeApiClient(CoordinationV1Api).readNamespacedLease({ name: agNames.lease(crName), namespace: fixture.namespace });
  expect(lease.spec?.holderIdentity, "the primary holds the Lease").to.equal(primary);

  await step("mssql-sim ground truth: the primary is the only writable instance", async () => {
    const truths = await Promise.all(podNames.map((pod) => instanceTruth(scenario, pod)));
    const writable = truths.filter((truth) => truth.ags.some((ag) => ag.writable)).map((truth) => truth.name);
    note(`ground truth: ${truths.map((truth) => `${truth.name}:${truth.ags.map((ag) => `${ag.name}/${ag.role}${ag.writable ? "/writable" : ""}`).join(",") || "no AG"}`).join("; ")}`);
    expect(writable).to.deep.equal([primary]);
  });

  await step("the rw listener's EndpointSlice lists the primary and only it", () =>
    eventually("rw endpoints = [primary]", async () => {
      const endpoints = await serviceEndpoints(scenario, listenerName);
      const primaryPod = pods.find((pod) => pod.metadata?.name === primary) as V1Pod;
      const ready = endpoints.filter((endpoint) => endpoint.ready);
      return endpoints.length === 1 && ready.length === 1 && ready[0]?.podName === primary && ready[0]?.address === reachableAddressOf(primaryPod.status?.podIP ?? "") ? true : undefined;
    }, { timeoutMs: 60_000 }),
  );

  const synced = await step("secondaries SECONDARY; databases SYNCHRONIZED on synchronous and SYNCHRONIZING on asynchronous replicas", () =>
    waitForAg(scenario, crName, "replica and database states", (view) => {
      const replicaStatuses = view.status.replicaStatuses ?? [];
      const rolesOk = replicas.every((replica, ordinal) => {
        const status = replicaStatuses.find((candidate) => candidate.name === replica.name || candidate.pod === podNames[ordinal]);
        if (status === undefined) return false;
        return podNames[ordinal] === primary ? status.role === "PRIMARY" : status.role === "SECONDARY";
      });
      const databaseStatus = view.status.databases?.find((candidate) => candidate.name === database);
      const databasesOk =
        databaseStatus?.inAvailabilityGroup === true &&
        replicas.every((replica, ordinal) => {
          const pod = podNames[ordinal] ?? "";
          const expected = pod === primary ? "SYNCHRONIZED" : expectedDatabaseState(replica.availabilityMode);
          const state = databaseStatus.replicas.find((candidate) => candidate.replica === replica.name || candidate.replica === pod)?.synchronizationState;
          return expected === undefined ? state === undefined : state === expected;
        });
      return rolesOk && databasesOk;
    }, 90_000),
  );
  note(`status.replicaStatuses: ${JSON.stringify(synced.status.replicaStatuses)}`);
  note(`status.databases: ${JSON.stringify(synced.status.databases)}`);

  await step("agents' /v1/status agree on roles", async () => {
    for (const pod of pods) {
      const status = await agentStatus(pod);
      const name = pod.metadata?.name ?? "";
      expect(status.role, `${name} role`).to.equal(name === primary ? "PRIMARY" : "SECONDARY");
      note(`${name}: role=${status.role} health=${status.health} lease=${status.lease?.holder ?? "-"}#${status.lease?.epoch ?? "-"} reason=${status.lastReason} databases=${status.databases.map((db) => `${db.name}:${db.synchronizationState}`).join(",")}`);
    }
  });

  await step("kubectl get sqlag shows NAME PHASE PRIMARY INIT AGE", () => {
    const output = kubectl(["get", "sqlag", crName], { kubeconfigPath: fixture.controlPlane.adminKubeconfigPath, namespace: fixture.namespace });
    note(`kubectl get sqlag:\n${output.trimEnd()}`);
    const [header, row] = output.trim().split("\n").map((line) => line.trim().split(/\s+/));
    expect(header).to.deep.equal(["NAME", "PHASE", "PRIMARY", "INIT", "AGE"]);
    expect(row?.slice(0, 4)).to.deep.equal([crName, "Running", primary, "true"]);
    expect(row?.[4] ?? "").to.match(/^\d+[smh]/);
  });

  await step(`FailoverReady ${topology.failoverReady}`, async () => {
    const view = await waitForAg(scenario, crName, `FailoverReady=${topology.failoverReady}`, (candidate) => conditionOf(candidate, "FailoverReady")?.status === topology.failoverReady, 30_000);
    const condition = conditionOf(view, "FailoverReady");
    note(`FailoverReady=${condition?.status ?? "?"} reason=${condition?.reason ?? "?"}: ${condition?.message ?? ""}`);
    if (topology.failoverReady === "False") expect(condition?.message ?? "", "the message says how to fix it").to.match(/synchronous|witness|ConfigurationOnly/i);
  });

  await writeThroughListenerAndCheckInvariants(scenario, { listenerName, database, primary, synchronousSecondaries: replicas.flatMap((replica, ordinal) => (replica.availabilityMode === "SynchronousCommit" && podNames[ordinal] !== primary ? [podNames[ordinal] ?? ""] : [])), podNames, keyPrefix: "bootstrap" });

  if (topology.measureApiRequests) await step("measure steady-state API requests for 60 s", () => measureSteadyStateApiRequests(scenario, podNames.length));
  const rss = agentRssKiB(scenario, podNames);
  note(`agent RSS: ${[...rss].map(([pod, kib]) => `${pod} ${(kib / 1024).toFixed(1)} MiB`).join(", ")}`);
}

describe("bootstrap: the agents form the AG on the test cluster", function () {
  for (const topology of cases) {
    describe(`${topology.title}${topology.tags !== "" ? ` ${topology.tags}` : ""}`, function () {
      reportSpecWallTime(`bootstrap ${topology.topology}`);
      const scenario = useAgScenario(`bootstrap-${topology.topology === "compatibility" ? "compat" : topology.topology === "three-synchronous" ? "sync3" : "witness"}`);
      it("reaches Running with one labelled primary behind the rw listener, synchronised secondaries and a passing workload", async function () {
        await bootstrapAndVerify(scenario, topology);
        const view = await readAg(scenario, crName);
        expect(view.status.phase).to.equal("Running");
      });
    });
  }
});
