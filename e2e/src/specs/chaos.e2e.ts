/**
 * @disruptive Issue 6 on the test cluster: a randomized, seeded fault schedule (≥ 10 faults) against three
 * synchronous replicas while the workload writes through the rw listener the whole time. The faults come from
 * the menu the test cluster supports (SIGKILL of a primary/secondary SQL Server or agent, a short freeze of the
 * primary, a switchover to `any`, a graceful deletion of the primary pod, an endpoint partition, an API cut of
 * one pod); the generator (e2e/src/chaos/schedule.ts) only emits schedules the AG survives by design. Between
 * faults the runner waits until the AG is "settled enough" for the next one (one labelled, writable primary
 * behind the listener, plus what the next fault needs), not for a full resync. It ends healed, in a healthy AG
 * (one primary, every replica SYNCHRONIZED), and the invariant checker asserts the four invariants.
 * SQLAG_CHAOS_SEED replays a schedule; the seed and the schedule are printed first.
 */
import { randomInt } from "node:crypto";
import { agNames, annotations, CONTAINER_AGENT, CONTAINER_MSSQL, KIND_AVAILABILITY_GROUP, labels } from "@sqlag/api";
import { eventually } from "../cluster/namespaces.js";
import { judgeSettled, labelledPrimary, type AgObservation, type SettleVerdict } from "../chaos/settle.js";
import { chooseSecondary, describeSchedule, describeTarget, generateChaosSchedule, noPrecondition, parseChaosSeed, type ChaosStep, type ChaosTarget, type SettlePrecondition } from "../chaos/schedule.js";
import { agentStatus, applyAndWaitRunning, podsOf, serviceEndpoints, topologyReplicas, useAgScenario, type AgScenario } from "../scenarios/ag-scenario.js";
import { kubectl } from "../support/kubectl.js";
import { queryRows } from "../support/sql.js";
import { samplePassword } from "../support/sqlag-fixtures.js";
import { unavailabilityWindows } from "../workload/journal.js";
import { note, reportSpecWallTime, step } from "../support/step.js";
import { crName, database, faultsOf, listenerName, podRef, startFailoverWorkload, waitSynchronized } from "./failover-workload.js";

/** Issue 6 asks for at least ten faults; more would not fit the spec's 7-minute budget on a loaded machine. */
const faultCount = 10;
const settleTimeoutMs = 180_000;
const baseline: SettlePrecondition = noPrecondition;
const healthy: SettlePrecondition = { synchronizedSecondaries: 2, everySecondaryJoined: true, spareSynchronizedSecondary: false };
/** A probe write that does not commit within this is a stall (e.g. the primary waiting for a synchronous partner). */
const probeTimeoutMs = 3_000;
let probeCount = 0;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * One probe row through the rw listener's single ready endpoint; true when it committed on `pod`. The probe keys
 * are not in the workload journal, so the invariant checker ignores them.
 */
async function probeWrite(endpoint: { address: string; port: number }, pod: string): Promise<boolean> {
  probeCount += 1;
  const sqlText = `USE [${database}]; INSERT INTO kv (k, v) VALUES (N'chaos-probe-${Date.now()}-${probeCount}', N'probe'); SELECT @@SERVERNAME`;
  try {
    const rows = await queryRows({ ...endpoint, userName: "sa", password: samplePassword() }, sqlText, probeTimeoutMs);
    return rows[0]?.[0] === pod;
  } catch {
    return false;
  }
}

async function observe(scenario: AgScenario): Promise<AgObservation> {
  // A pod being deleted still answers for a while; it does not count until its replacement is there.
  const pods = (await podsOf(scenario, crName)).filter((pod) => pod.metadata?.deletionTimestamp == null);
  const primary = labelledPrimary(pods.map((pod) => ({ name: pod.metadata?.name ?? "", roleLabel: pod.metadata?.labels?.[labels.role] })));
  const endpoints = (await serviceEndpoints(scenario, listenerName).catch(() => [])).filter((endpoint) => endpoint.ready);
  const statuses = await Promise.all(pods.map((pod) => agentStatus(pod).catch(() => undefined)));
  const observed = await Promise.all(
    pods.map(async (pod, index) => {
      const name = pod.metadata?.name ?? "";
      const status = statuses[index];
      const [endpoint] = endpoints;
      // Probe only when everything else already points at this pod (a probe costs a connection).
      const probe = name === primary && status?.role === "PRIMARY" && endpoints.length === 1 && endpoint?.podName === name;
      return {
        name,
        roleLabel: pod.metadata?.labels?.[labels.role],
        agent: status === undefined ? undefined : { role: status.role, databaseSynchronized: status.databases.some((db) => db.name === database && db.synchronizationState === "SYNCHRONIZED") },
        writable: name !== primary ? undefined : probe && endpoint !== undefined ? await probeWrite(endpoint, name) : false,
      };
    }),
  );
  return { expectedPods: 3, pods: observed, listenerPods: endpoints.flatMap((endpoint) => (endpoint.podName === undefined ? [] : [endpoint.podName])) };
}

async function waitSettled(scenario: AgScenario, precondition: SettlePrecondition, what: string, targetOf?: (secondaries: readonly string[]) => string | undefined): Promise<{ primary: string; secondaries: readonly string[] }> {
  let last: SettleVerdict | undefined;
  try {
    return await eventually(
      what,
      async () => {
        last = judgeSettled(await observe(scenario), precondition, targetOf);
        return last.settled ? last : undefined;
      },
      { timeoutMs: settleTimeoutMs, intervalMs: 250 },
    );
  } catch (error) {
    throw new Error(`${what}: still waiting for ${last !== undefined && !last.settled ? last.waitingFor : "a first observation"}`, { cause: error });
  }
}

/** The open fault in place (a partition or an API cut) with the pods it was injected on. */
interface OpenFaultInPlace {
  readonly fault: "partition" | "api-cut";
  readonly primary: string;
  /** The pod the fault targets (partition: the cut secondary). */
  readonly target: string;
  readonly healNotBeforeMs: number;
}

describe("@disruptive chaos: a seeded random schedule of ten faults", function () {
  reportSpecWallTime("chaos");
  const scenario = useAgScenario("chaos");

  it("survives every fault with one writer, no lost write, the listener on the writer, and ends healthy", async function () {
    this.timeout(900_000);
    const seed = parseChaosSeed(process.env["SQLAG_CHAOS_SEED"]) ?? randomInt(0, 0xffffffff);
    const schedule = generateChaosSchedule({ seed, faultCount });
    note(`chaos seed ${seed} (replay: SQLAG_CHAOS_SEED=${seed}), ${schedule.faultCount} faults in ${schedule.steps.length} steps:\n${describeSchedule(schedule).map((line) => `        ${line}`).join("\n")}`);

    const replicas = topologyReplicas["three-synchronous"];
    const podNames = replicas.map((_, ordinal) => agNames.pod(crName, ordinal));
    await applyAndWaitRunning(scenario, crName, { replicas, databases: [{ name: database }] });
    await waitSynchronized(scenario, 3, `${database} SYNCHRONIZED on all three replicas`);
    const workload = await startFailoverWorkload(scenario, "chaos");
    await sleep(3_000);

    const faults = faultsOf(scenario);
    const ref = (pod: string) => podRef(scenario, pod);
    const startedAtMs = Date.now();
    const at = () => `+${((Date.now() - startedAtMs) / 1000).toFixed(1)} s`;
    let open: OpenFaultInPlace | undefined;
    const outages: string[] = [];

    const targetPod = (target: ChaosTarget, settled: { primary: string; secondaries: readonly string[] }): string => {
      if (target.role === "primary") return settled.primary;
      if (target.role === "secondary") return chooseSecondary(settled.secondaries, target.pick);
      if (open === undefined) throw new Error("the schedule names the impaired secondary with nothing open");
      return open.target;
    };

    const run = async (chaosStep: ChaosStep, settled: { primary: string; secondaries: readonly string[] }): Promise<string> => {
      if (chaosStep.kind === "heal") {
        const current = open;
        if (current === undefined) throw new Error(`${chaosStep.heal} with nothing open`);
        await sleep(Math.max(0, current.healNotBeforeMs - Date.now()));
        if (current.fault === "partition") {
          // Each side separately: a side whose SQL Server restarted meanwhile has forgotten the partition.
          for (const [side, peer] of [[current.primary, current.target], [current.target, current.primary]] as const) {
            await faults.mssqlAdmin(ref(side)).heal(peer).catch((error: unknown) => note(`heal on ${side}: ${error instanceof Error ? error.message : String(error)}`));
          }
        } else {
          faults.restoreApiAccess(ref(current.target));
        }
        open = undefined;
        return `${chaosStep.heal} (${current.fault} ${current.fault === "api-cut" ? current.target : `${current.primary}↔${current.target}`})`;
      }
      const pod = targetPod(chaosStep.target, settled);
      const label = `fault ${chaosStep.faultNumber}/${schedule.faultCount} ${chaosStep.fault} on ${pod} (${describeTarget(chaosStep.target)})`;
      switch (chaosStep.fault) {
        case "kill-primary-sql":
        case "kill-secondary-sql":
          faults.crashContainer(ref(pod), CONTAINER_MSSQL);
          break;
        case "kill-primary-agent":
        case "kill-secondary-agent":
          faults.crashContainer(ref(pod), CONTAINER_AGENT);
          break;
        case "freeze-primary":
          faults.freezeContainer(ref(pod), CONTAINER_MSSQL);
          try {
            await sleep(chaosStep.holdMs ?? 2_000);
          } finally {
            faults.thawContainer(ref(pod), CONTAINER_MSSQL);
          }
          break;
        case "switchover-any":
          kubectl(["annotate", "--overwrite", "-n", scenario.fixture.namespace, `sqlserveravailabilitygroup/${crName}`, `${annotations.switchoverTo}=any`], { kubeconfigPath: scenario.fixture.controlPlane.adminKubeconfigPath });
          await eventually("the switchover annotation removed once carried out", async () => {
            const object = await scenario.objects().read(scenario.fixture.namespace, KIND_AVAILABILITY_GROUP, crName);
            return object.metadata?.annotations?.[annotations.switchoverTo] === undefined ? true : undefined;
          }, { timeoutMs: 90_000, intervalMs: 250 });
          break;
        case "delete-primary-pod":
          await faults.deletePod(ref(pod));
          break;
        case "partition":
          await faults.partitionSql(ref(settled.primary), ref(pod));
          open = { fault: "partition", primary: settled.primary, target: pod, healNotBeforeMs: Date.now() + chaosStep.holdMs };
          return `fault ${chaosStep.faultNumber}/${schedule.faultCount} partition ${settled.primary}↔${pod} (${describeTarget(chaosStep.target)})`;
        case "api-cut":
          faults.cutApiAccess(ref(pod), "blackhole");
          open = { fault: "api-cut", primary: settled.primary, target: pod, healNotBeforeMs: Date.now() + chaosStep.holdMs };
          break;
      }
      return label;
    };

    let firstFaultAtMs = startedAtMs;
    const injections: { atMs: number; what: string }[] = [];
    try {
      for (const [index, chaosStep] of schedule.steps.entries()) {
        const target = chaosStep.kind === "heal" ? undefined : chaosStep.target;
        const targetOf = (secondaries: readonly string[]): string | undefined =>
          target?.role === "secondary" ? chooseSecondary(secondaries, target.pick) : target?.role === "impaired" ? open?.target : undefined;
        const settled = await waitSettled(scenario, chaosStep.precondition, `settled enough for step ${index + 1}`, targetOf);
        const injectedAtMs = Date.now();
        if (index === 0) firstFaultAtMs = injectedAtMs;
        const what = await step(`${at()} step ${index + 1}/${schedule.steps.length}`, () => run(chaosStep, settled));
        note(`${at()} ${what} (primary was ${settled.primary})`);
        injections.push({ atMs: injectedAtMs, what: `step ${index + 1} ${chaosStep.kind === "heal" ? chaosStep.heal : chaosStep.fault}` });
        const after = await waitSettled(scenario, baseline, `one writable primary behind the listener after step ${index + 1}`);
        const settledSeconds = (Date.now() - injectedAtMs) / 1000;
        note(`${at()} settled after ${settledSeconds.toFixed(1)} s: primary ${after.primary}`);
        if (chaosStep.kind !== "heal") outages.push(`${chaosStep.fault} ${settledSeconds.toFixed(1)} s`);
        await sleep(chaosStep.gapAfterMs);
      }
      const current = await step("healthy AG: one primary, both secondaries SYNCHRONIZED (their agents' own view)", () => waitSettled(scenario, healthy, "healthy AG at the end"));
      const finalPrimary = current.primary;
      await waitSynchronized(scenario, 3, "the CR status agrees: every replica SYNCHRONIZED", (view) => view.status.primaryReplica === finalPrimary, 120_000);
      note(`chaos seed ${seed}: ${schedule.faultCount} faults in ${((Date.now() - firstFaultAtMs) / 1000).toFixed(1)} s; fault → settled (one writable primary behind the listener): ${outages.join(", ")}`);
      await sleep(2_000);
      const journal = await workload.stop(firstFaultAtMs, current.secondaries, podNames);
      // Each write gap over 0.5 s, attributed to the last step injected before it began (for the report).
      const gaps = unavailabilityWindows(journal, 500).windows.filter((window) => window.toMs >= firstFaultAtMs);
      note(
        `write gaps over 0.5 s by step: ${gaps
          .map((window) => {
            const cause = injections.filter((injection) => injection.atMs <= window.fromMs + 1_000).at(-1)?.what ?? "before the first fault";
            return `${cause}: ${(window.durationMs / 1000).toFixed(2)} s from +${((window.fromMs - startedAtMs) / 1000).toFixed(1)} s`;
          })
          .join("; ") || "none"}`,
      );
    } catch (error) {
      note(`chaos seed ${seed} FAILED at ${at()} (replay: SQLAG_CHAOS_SEED=${seed})`);
      throw error;
    }
  });
});
