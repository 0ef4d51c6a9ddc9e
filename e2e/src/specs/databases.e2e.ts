/**
 * Declarative databases on the test cluster: adding `spec.databases` to a running AG makes the lease holder
 * create the database on the primary in FULL recovery, back it up and add it to the AG, the secondaries get it
 * by automatic seeding, status.databases lists every replica's state, and writes to it reach the secondaries.
 */
import { expect } from "chai";
import { agNames } from "@sqlag/api";
import { eventually } from "../cluster/namespaces.js";
import {
  applyAg,
  applyAndWaitRunning,
  agObject,
  podsOf,
  sqlOnPod,
  topologyReplicas,
  useAgScenario,
  waitForAg,
  writeThroughListenerAndCheckInvariants,
} from "../scenarios/ag-scenario.js";
import { note, reportSpecWallTime, step } from "../support/step.js";

const crName = "mssql-ag";
const listenerName = "mssql-ag-listener";
const database = "salesdb";

describe("databases: spec.databases added to a running AG", function () {
  reportSpecWallTime("databases");
  const scenario = useAgScenario("databases");

  it("creates the database on the primary in FULL recovery, seeds it to the secondaries, reports it and replicates writes", async function () {
    const replicas = topologyReplicas["three-synchronous"];
    const podNames = replicas.map((_, ordinal) => agNames.pod(crName, ordinal));
    const running = await applyAndWaitRunning(scenario, crName, { replicas });
    const primary = running.status.primaryReplica ?? "";
    expect(running.status.databases ?? [], "no databases before the spec names one").to.deep.equal([]);

    const addedAtMs = Date.now();
    await step(`add spec.databases [${database}]`, () => applyAg(scenario, agObject(scenario.fixture.namespace, crName, { replicas, databases: [{ name: database }] })));

    const view = await step(`status.databases lists ${database} SYNCHRONIZED on every replica`, () =>
      waitForAg(scenario, crName, `${database} synchronised everywhere`, (candidate) => {
        const status = candidate.status.databases?.find((db) => db.name === database);
        return status?.inAvailabilityGroup === true && podNames.every((pod) => status.replicas.some((replica) => replica.replica === pod && replica.synchronizationState === "SYNCHRONIZED"));
      }, 120_000),
    );
    note(`spec change → ${database} synchronised on ${podNames.length} replicas: ${((Date.now() - addedAtMs) / 1000).toFixed(1)} s`);
    note(`status.databases: ${JSON.stringify(view.status.databases)}`);

    const pods = await podsOf(scenario, crName);
    const primaryPod = pods.find((pod) => pod.metadata?.name === primary);
    if (primaryPod === undefined) throw new Error(`primary pod ${primary} not found`);
    await step(`${database} exists on the primary in FULL recovery and is in the AG`, async () => {
      const rows = await sqlOnPod(primaryPod, `SELECT d.name, d.recovery_model_desc, d.state_desc FROM sys.databases d WHERE d.name = N'${database}'`);
      note(`primary ${primary}: ${JSON.stringify(rows)}`);
      expect(rows.map((row) => [row[0], row[1]])).to.deep.equal([[database, "FULL"]]);
      const inAg = await sqlOnPod(primaryPod, `SELECT database_name FROM sys.availability_databases_cluster WHERE database_name = N'${database}'`);
      expect(inAg.length, `${database} in sys.availability_databases_cluster`).to.equal(1);
    });
    for (const pod of pods.filter((candidate) => candidate.metadata?.name !== primary)) {
      await step(`${database} seeded to ${pod.metadata?.name ?? ""}`, () =>
        eventually(`${database} on ${pod.metadata?.name ?? ""}`, async () => {
          const rows = await sqlOnPod(pod, `SELECT drs.synchronization_state_desc FROM sys.dm_hadr_database_replica_states drs JOIN sys.databases d ON d.database_id = drs.database_id WHERE d.name = N'${database}' AND drs.is_local = 1`);
          return rows.length === 1 && rows[0]?.[0] === "SYNCHRONIZED" ? true : undefined;
        }, { timeoutMs: 30_000 }),
      );
    }

    await writeThroughListenerAndCheckInvariants(scenario, {
      listenerName,
      database,
      primary,
      synchronousSecondaries: podNames.filter((pod) => pod !== primary),
      podNames,
      keyPrefix: "databases",
    });
  });
});
