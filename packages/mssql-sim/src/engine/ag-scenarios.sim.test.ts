import { expect } from "chai";
import { SimCluster } from "../cluster.js";
import { DirectClient, DirectSqlError } from "./direct-client.js";
import { createAg, freePort, provisionEndpoints, roleOf, type AgReplicaSpec } from "./provision.js";
import { scaleTimings } from "./timings.js";

const TIMINGS = { ...scaleTimings(0.02), sessionTimeoutScale: 30, commitWaitLimitMs: 600, earlyReconnectWindowMs: 400, joinConfigWaitMs: 5000, connectTimeoutMs: 1000 };
const log = process.env.SIMLOG ? (event: string, fields: Record<string, unknown>) => console.log(event, JSON.stringify(fields)) : undefined;

async function expectSqlError(promise: Promise<unknown>, number: number): Promise<DirectSqlError> {
  try {
    await promise;
  } catch (err) {
    expect(err).to.be.instanceOf(DirectSqlError);
    expect((err as DirectSqlError).number, (err as Error).message).to.equal(number);
    return err as DirectSqlError;
  }
  expect.fail(`expected SQL error ${number}`);
}

async function threeReplicaCluster(modes: AgReplicaSpec["mode"][] = ["SYNCHRONOUS_COMMIT", "SYNCHRONOUS_COMMIT", "SYNCHRONOUS_COMMIT"], agOptions: { leaseSeconds?: number; rsstc?: number } = {}) {
  const cluster = new SimCluster(log ? { timings: TIMINGS, tds: null, log } : { timings: TIMINGS, tds: null });
  const names = ["sqla", "sqlb", "sqlc"].slice(0, modes.length);
  const replicas: AgReplicaSpec[] = [];
  for (const [i, name] of names.entries()) {
    await cluster.add({ name });
    const spec: AgReplicaSpec = { name, endpointPort: await freePort() };
    const mode = modes[i];
    if (mode) spec.mode = mode;
    replicas.push(spec);
  }
  await provisionEndpoints(cluster, replicas);
  await createAg(cluster, { ag: "ag1", replicas, database: "appdb", ...agOptions });
  const clients = Object.fromEntries(names.map((n) => [n, new DirectClient(cluster.get(n))])) as Record<string, DirectClient>;
  return { cluster, replicas, clients };
}

describe("AG scenarios (multi-instance, endpoint links over TCP)", function () {
  this.timeout(30000);
  let cluster: SimCluster | undefined;
  afterEach(async () => {
    await cluster?.close();
    cluster = undefined;
  });

  it("B3 CREATE/JOIN/ADD DATABASE: three replicas synchronize and writes replicate", async () => {
    const setup = await threeReplicaCluster();
    cluster = setup.cluster;
    const { sqla, sqlb } = setup.clients as Record<string, DirectClient>;
    expect(await roleOf(sqla!, "ag1")).to.equal("PRIMARY");
    expect(await roleOf(sqlb!, "ag1")).to.equal("SECONDARY");
    await sqla!.execSql("USE appdb; INSERT INTO kv (k, v) VALUES (@k, @v)", { k: "key1", v: "value1" });
    expect(cluster.committedKeys("sqlb", "appdb")).to.deep.equal(["key1"]);
    expect(cluster.committedKeys("sqlc", "appdb")).to.deep.equal(["key1"]);
    const read = await sqlb!.query("USE appdb; SELECT v FROM kv WHERE k = N'key1'");
    expect(read.recordsets[0]?.rows).to.deep.equal([["value1"]]);
    await expectSqlError(sqlb!.query("USE appdb; INSERT INTO kv (k, v) VALUES (N'x', N'y')"), 3906);
    expect(cluster.writableNow()).to.deep.equal([{ instance: "sqla", ag: "ag1" }]);
  });
});
