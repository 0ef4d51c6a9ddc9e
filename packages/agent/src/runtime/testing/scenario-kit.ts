/**
 * Failure-scenario kit for the simulator tier (issue 6): a workload that writes through "the listener" (the pod
 * labelled primary in the fake cluster, as the rw Service's EndpointSlice would route) and journals only
 * acknowledged keys, a sampler of the role labels, and the four invariant checks of ARCHITECTURE §5 that every
 * scenario ends with:
 *  1. never two writers (mssql-sim ground truth: writable intervals never overlap);
 *  2. every acknowledged key is on the final primary and on the caught-up synchronous secondaries;
 *  3. the primary label never on two pods at once, and it ends on the writable replica;
 *  4. nothing dropped or re-created (no DROP in any statement log, one group_id everywhere, unchanged).
 * Outage windows are measured and printed, never asserted (tests check behaviour, benchmarks speed).
 * `useScenario(this)` in a suite body gives each test its harness, workload and sampler and tears them down once.
 */
import { expect } from "chai";
import { labels, type SQLServerAvailabilityGroup } from "@sqlag/api";
import { compatibilityManifest } from "@sqlag/api/schema/fixtures";
import { overlappingWriters } from "@sqlag/mssql-sim/cluster";
import { SqlConnection } from "../../sql/connection.js";
import type { Statement } from "../../sql/statements.js";
import { eventually, HARNESS_TIMING_SECONDS, SIM_SA_PASSWORD, SimHarness, type SimHarnessOptions } from "./sim-harness.js";

export const AG_NAME = "AG1";

/** The compatibility manifest (two synchronous replicas and one asynchronous) with appdb and the harness timings. */
export function harnessManifest(edit?: (cr: SQLServerAvailabilityGroup) => void): SQLServerAvailabilityGroup {
  const cr = compatibilityManifest();
  cr.spec.databases = [{ name: "appdb" }];
  cr.spec.timing = { ...HARNESS_TIMING_SECONDS };
  edit?.(cr);
  return cr;
}

/** The harness manifest with all three replicas synchronous with automatic failover, then `edit`. */
export function scenarioManifest(edit?: (cr: SQLServerAvailabilityGroup) => void): SQLServerAvailabilityGroup {
  return harnessManifest((cr) => {
    cr.spec.replicas[2] = { ...cr.spec.replicas[2]!, availabilityMode: "SynchronousCommit", failoverMode: "Automatic" };
    edit?.(cr);
  });
}

export const createKvTable: Statement = { name: "create_kv", sql: "USE [appdb]; CREATE TABLE kv (k nvarchar(64) PRIMARY KEY, v nvarchar(4000))" };

export function insertKey(key: string): Statement {
  return {
    name: "insert_kv",
    sql: "USE [appdb]; INSERT INTO kv (k, v) VALUES (@k, @v)",
    params: { k: { type: "nvarchar", value: key }, v: { type: "nvarchar", value: `value of ${key}` } },
  };
}

export function holderOf(h: SimHarness): string {
  return h.cluster.leaseRecord()?.holderIdentity ?? "";
}

export function conditionOf(h: SimHarness, type: string): { status: string; reason: string; message: string } | undefined {
  return h.cluster.status?.conditions?.find((c) => c.type === type);
}

/** Pods carrying the primary role label right now (what the rw Service selects). */
export function labelledPrimaries(h: SimHarness): string[] {
  return h.cluster.podNames().filter((p) => h.cluster.podLabels(p)[labels.role] === "primary");
}

export function synchronousPods(h: SimHarness): string[] {
  return h.cluster.cr.spec.replicas.flatMap((r, ordinal) => (r.availabilityMode === "SynchronousCommit" ? [h.podName(ordinal)] : []));
}

/** appdb's synchronization state of `pod` in the status the holder publishes. */
export function appdbSynchronizationState(h: SimHarness, pod: string): string | undefined {
  return h.cluster.status?.databases?.find((d) => d.name === "appdb")?.replicas.find((r) => r.replica === pod)?.synchronizationState;
}

/**
 * Healthy AG: exactly one writable instance, it holds the Lease, it alone is labelled primary, and every other
 * synchronous replica (in `pods`, default all) reports appdb SYNCHRONIZED in the status the holder publishes.
 */
export function healthyAg(h: SimHarness, pods: readonly string[] = synchronousPods(h)): string | undefined {
  const writable = h.sim.writableNow();
  const holder = holderOf(h);
  if (writable.length !== 1 || writable[0]?.instance !== holder) return undefined;
  const labelled = labelledPrimaries(h);
  if (labelled.length !== 1 || labelled[0] !== holder) return undefined;
  if (h.cluster.status?.primaryReplica !== holder) return undefined;
  for (const pod of pods) if (pod !== holder && appdbSynchronizationState(h, pod) !== "SYNCHRONIZED") return undefined;
  return holder;
}

/** Starts the harness and waits for a healthy AG with the kv table; returns the primary and the AG's group_id. */
export async function bootstrapScenario(h: SimHarness, timeoutMs = 90_000): Promise<{ primary: string; groupId: string }> {
  await h.start();
  const primary = await eventually("a healthy AG after bootstrap", () => healthyAg(h), timeoutMs);
  const groupId = h.cluster.status?.groupId;
  expect(groupId, "status.groupId after bootstrap").to.be.a("string");
  await h.run(primary, createKvTable);
  return { primary, groupId: groupId! };
}

export interface Ack {
  key: string;
  pod: string;
  /** performance.now() when the acknowledgement arrived. */
  atMs: number;
}

/**
 * An application writing through the rw listener: it routes to the one pod labelled primary (no pod, or an
 * ambiguous selection, means no route), keeps one connection, reconnects after any error like a client
 * library with retry, and journals a key only once the server acknowledged its commit. Every attempt uses a new
 * key, so a write whose outcome is unknown (timeout) is never retried under the same name.
 */
export class ListenerWriter {
  readonly acks: Ack[] = [];
  attempts = 0;
  failures = 0;
  readonly errors = new Map<string, number>();
  private stopped = false;
  private loop: Promise<void> | undefined;
  private connection: { pod: string; sql: SqlConnection } | undefined;
  private n = 0;

  constructor(
    private readonly h: SimHarness,
    private readonly prefix: string,
    private readonly pauseMs = 40,
  ) {}

  start(): void {
    this.loop ??= this.run();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await this.loop;
    await this.drop();
  }

  get acknowledgedKeys(): string[] {
    return this.acks.map((a) => a.key);
  }

  /** Resolves once `count` more writes were acknowledged (the workload is flowing again). */
  async waitForAcks(count: number, timeoutMs: number): Promise<void> {
    const target = this.acks.length + count;
    await eventually(`${count} acknowledged writes through the listener`, () => this.acks.length >= target, timeoutMs, 50);
  }

  /**
   * The write-unavailability window around a fault: the longest silence between acknowledgements from the last
   * ack before the fault until the first ack after it (from a pod other than `awayFrom`, when given: writes may
   * go on for a while on the old primary, e.g. until its SQL lease lapses).
   */
  outageAround(faultAtMs: number, awayFrom?: string): { gapMs: number; sinceFaultMs: number } | undefined {
    const resume = this.acks.find((a) => a.atMs > faultAtMs && (awayFrom === undefined || a.pod !== awayFrom));
    if (resume === undefined) return undefined;
    const before = [...this.acks].reverse().find((a) => a.atMs <= faultAtMs);
    return { gapMs: this.maxGapMs(before?.atMs ?? faultAtMs, resume.atMs), sinceFaultMs: resume.atMs - faultAtMs };
  }

  /** The longest pause between consecutive acknowledgements within [fromMs, toMs]. */
  maxGapMs(fromMs: number, toMs: number): number {
    const times = this.acks.map((a) => a.atMs).filter((t) => t >= fromMs && t <= toMs);
    let max = 0;
    let previous = fromMs;
    for (const t of [...times, toMs]) {
      max = Math.max(max, t - previous);
      previous = t;
    }
    return max;
  }

  private async drop(): Promise<void> {
    const current = this.connection;
    this.connection = undefined;
    if (current !== undefined) await current.sql.close().catch(() => undefined);
  }

  private async connect(pod: string): Promise<SqlConnection> {
    if (this.connection?.pod === pod && this.connection.sql.isOpen) return this.connection.sql;
    await this.drop();
    const instance = this.h.sim.get(pod);
    const sql = await SqlConnection.open({
      host: instance.host,
      port: instance.port,
      userName: "sa",
      password: SIM_SA_PASSWORD,
      encrypt: true,
      trustServerCertificate: true,
      connectTimeoutMs: 1000,
      requestTimeoutMs: 4000,
      appName: "scenario-workload",
    });
    this.connection = { pod, sql };
    return sql;
  }

  private async run(): Promise<void> {
    while (!this.stopped) {
      const routes = labelledPrimaries(this.h);
      if (routes.length !== 1) {
        await sleep(this.pauseMs);
        continue;
      }
      const pod = routes[0]!;
      const key = `${this.prefix}-${this.n++}`;
      this.attempts++;
      try {
        const sql = await this.connect(pod);
        await sql.execute(insertKey(key));
        this.acks.push({ key, pod, atMs: performance.now() });
      } catch (e) {
        this.failures++;
        const kind = e instanceof Error ? (/\b(\d{3,5})\b/.exec(e.message)?.[1] ?? e.name) : "error";
        this.errors.set(kind, (this.errors.get(kind) ?? 0) + 1);
        await this.drop();
        await sleep(100);
        continue;
      }
      await sleep(this.pauseMs);
    }
  }
}

/**
 * Samples the role labels every `everyMs` (faster than an agent cycle) and records any double primary; also
 * records every change of the Lease holder (who held it, from when, in which epoch).
 */
export class LabelSampler {
  readonly doublePrimaries: { atMs: number; pods: string[] }[] = [];
  readonly holders: { atMs: number; holder: string; epoch: number }[] = [];
  samples = 0;
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly h: SimHarness,
    private readonly everyMs = 20,
  ) {}

  start(): void {
    this.timer ??= setInterval(() => {
      this.samples++;
      const pods = labelledPrimaries(this.h);
      if (pods.length > 1) this.doublePrimaries.push({ atMs: performance.now(), pods });
      const lease = this.h.cluster.leaseRecord();
      const last = this.holders.at(-1);
      if (lease !== undefined && (last?.holder !== lease.holderIdentity || last.epoch !== lease.leaseTransitions)) {
        this.holders.push({ atMs: performance.now(), holder: lease.holderIdentity, epoch: lease.leaseTransitions });
      }
    }, this.everyMs);
  }

  /** Holders (non-empty) that took the Lease after `fromMs`. */
  holdersSince(fromMs: number): string[] {
    return this.holders.filter((x) => x.atMs > fromMs && x.holder !== "").map((x) => x.holder);
  }

  stop(): void {
    if (this.timer !== undefined) clearInterval(this.timer);
    this.timer = undefined;
  }
}

const DROP_STATEMENT = /(^|;|\s)DROP\s+(AVAILABILITY\s+GROUP|DATABASE|ENDPOINT|CERTIFICATE|MASTER\s+KEY|LOGIN|USER|TABLE)\b/i;

async function groupIdOn(h: SimHarness, pod: string): Promise<string | undefined> {
  const connection = await h.client(pod);
  try {
    const rows = await connection.query({ name: "group_id", sql: `SELECT group_id FROM sys.availability_groups WHERE name = N'${AG_NAME}'` });
    const value = rows[0]?.["group_id"];
    return value === undefined || value === null ? undefined : String(value).toUpperCase();
  } finally {
    await connection.close();
  }
}

export interface InvariantOptions {
  /** The AG's group_id at bootstrap; it must be the same everywhere at the end. */
  groupId: string;
  /** Pods whose SQL instance is down or cut off at the end: not required to catch up. Default none. */
  notCaughtUp?: readonly string[];
  /** How long the synchronous secondaries get to catch up (default 30 s). */
  catchUpTimeoutMs?: number;
}

/**
 * The four invariants, checked at the end of a scenario (the writer and sampler stopped first). Returns the final
 * primary. Waits (bounded) for convergence where the invariant is "eventually": the single label on the writer,
 * the secondaries holding every acknowledged key.
 */
export async function expectInvariants(h: SimHarness, writer: ListenerWriter, sampler: LabelSampler, options: InvariantOptions): Promise<string> {
  // 1. Never two writers, over the whole run (ground truth of every instance, past incarnations included).
  expect(overlappingWriters(h.sim.writableIntervals(), Date.now()), "overlapping writable intervals (two writers)").to.deep.equal([]);

  // 3. The label never on two pods at once; at the end on the writable replica only.
  expect(sampler.doublePrimaries, "moments with two pods labelled primary").to.deep.equal([]);
  expect(sampler.samples, "label samples taken").to.be.greaterThan(0);
  const primary = await eventually(
    "one writable primary that holds the Lease and alone carries the primary label",
    () => {
      const writable = h.sim.writableNow();
      const labelled = labelledPrimaries(h);
      return writable.length === 1 && writable[0]?.instance === holderOf(h) && labelled.length === 1 && labelled[0] === writable[0].instance ? labelled[0] : undefined;
    },
    30_000,
  );

  // 2. Every acknowledged key on the final primary, and on every synchronous secondary once it caught up.
  const acknowledged = writer.acknowledgedKeys;
  const onPrimary = new Set(h.sim.committedKeys(primary, "appdb"));
  expect(acknowledged.filter((k) => !onPrimary.has(k)), `acknowledged keys missing on the final primary ${primary}`).to.deep.equal([]);
  const skip = new Set(options.notCaughtUp ?? []);
  for (const pod of synchronousPods(h).filter((p) => p !== primary && !skip.has(p))) {
    await eventually(
      `${pod} to hold all ${acknowledged.length} acknowledged keys`,
      () => {
        const keys = new Set(h.sim.committedKeys(pod, "appdb"));
        return acknowledged.every((k) => keys.has(k));
      },
      options.catchUpTimeoutMs ?? 30_000,
      250,
    );
  }

  // 4. Nothing dropped or re-created: no DROP anywhere, one CREATE AVAILABILITY GROUP, the same group_id everywhere.
  const statements = h.cluster.podNames().flatMap((pod) => h.sim.statementLog(pod).map((e) => ({ pod, text: e.text })));
  expect(statements.filter((s) => DROP_STATEMENT.test(s.text)).map((s) => `${s.pod}: ${s.text.slice(0, 120)}`), "DROP statements").to.deep.equal([]);
  expect(h.cluster.status?.groupId?.toUpperCase(), "status.groupId").to.equal(options.groupId.toUpperCase());
  for (const pod of h.cluster.podNames()) {
    if (h.sim.get(pod).state !== "running") continue;
    const id = await groupIdOn(h, pod);
    if (id !== undefined) expect(id, `group_id on ${pod}`).to.equal(options.groupId.toUpperCase());
  }
  return primary;
}

/** One line per scenario with the measured window, and its ratio to the scaled Lease duration and W. */
export function reportOutage(scenario: string, outage: { gapMs: number; sinceFaultMs: number } | undefined, writer: ListenerWriter): void {
  const lease = HARNESS_TIMING_SECONDS.leaseDurationSeconds * 1000;
  const w = HARNESS_TIMING_SECONDS.sqlWriteLeaseSeconds * 1000;
  const window =
    outage === undefined
      ? "no write acknowledged after the fault"
      : `writes resumed ${(outage.sinceFaultMs / 1000).toFixed(2)} s after the fault (gap between acks ${(outage.gapMs / 1000).toFixed(2)} s = ${(outage.gapMs / lease).toFixed(2)} × leaseDuration, ${(outage.gapMs / w).toFixed(2)} × W)`;
  console.log(`      [${scenario}] ${window}; ${writer.acks.length} acked / ${writer.attempts} attempts, errors ${[...writer.errors].map(([k, n]) => `${k}×${n}`).join(" ") || "none"}`);
}

/** The last agent log lines and the CR status, for a failed scenario's output. */
export function dumpOnFailure(context: Mocha.Context, h: SimHarness | undefined): void {
  if (h === undefined || (context.currentTest?.state !== "failed" && process.env["SQLAG_SCENARIO_LOGS"] !== "1")) return;
  console.log(h.dumpLogs(Number(process.env["SQLAG_SCENARIO_LOG_LINES"] ?? 80)));
  console.log(JSON.stringify({ status: h.cluster.status, lease: h.cluster.leaseRecord(), sim: h.cluster.podNames().map((p) => h.sim.get(p).summary()) }, null, 1));
}

/** A harness bootstrapped to a healthy AG (with the kv table) for the current test. */
export interface BootstrappedScenario {
  harness: SimHarness;
  /** The primary after bootstrap. */
  primary: string;
  /** The AG's group_id after bootstrap; the invariants require it unchanged at the end. */
  groupId: string;
}

/** The workload of the current test: the listener writer and the label sampler, both running. */
export interface ScenarioWorkload {
  writer: ListenerWriter;
  sampler: LabelSampler;
}

export type Scenario = BootstrappedScenario & ScenarioWorkload;

/**
 * The harness, workload and sampler of the current test of one simulator suite, torn down once after every test
 * whatever the test did: the sampler and the writer stop first (so no write goes to a stopping instance), the
 * agent logs are dumped if the test failed, then the harness stops. A scenario test starts with `setUp()` (or
 * `bootstrap()` and later `startWorkload()`) and ends with `finish()`; a test that drives its own harness takes
 * it from `newHarness()` and gets the same teardown.
 */
export class ScenarioFixture {
  private harness: SimHarness | undefined;
  private groupId: string | undefined;
  private writer: ListenerWriter | undefined;
  private sampler: LabelSampler | undefined;

  constructor(suite: Mocha.Suite) {
    const tearDown = (context: Mocha.Context): Promise<void> => this.tearDown(context);
    suite.afterEach(async function () {
      await tearDown(this);
    });
  }

  /** A harness (not started) for the current test, stopped after it. */
  newHarness(options: SimHarnessOptions): SimHarness {
    this.harness = new SimHarness(options);
    return this.harness;
  }

  /** A harness on `options.cr` (default `scenarioManifest()`) started and bootstrapped to a healthy AG with the kv table. */
  async bootstrap(options: Partial<SimHarnessOptions> = {}): Promise<BootstrappedScenario> {
    const harness = this.newHarness({ ...options, cr: options.cr ?? scenarioManifest() });
    const { primary, groupId } = await bootstrapScenario(harness);
    this.groupId = groupId;
    return { harness, primary, groupId };
  }

  /** Starts the label sampler and the writer (keys `prefix-n`) on the bootstrapped harness; resolves once 10 writes were acknowledged. */
  async startWorkload(prefix: string): Promise<ScenarioWorkload> {
    const harness = this.bootstrapped().harness;
    const writer = new ListenerWriter(harness, prefix);
    this.writer = writer;
    const sampler = new LabelSampler(harness);
    this.sampler = sampler;
    sampler.start();
    writer.start();
    await writer.waitForAcks(10, 20_000);
    return { writer, sampler };
  }

  /** `bootstrap(options)`, then `startWorkload(prefix)`: the usual start of a scenario. */
  async setUp(prefix: string, options: Partial<SimHarnessOptions> = {}): Promise<Scenario> {
    const bootstrapped = await this.bootstrap(options);
    return { ...bootstrapped, ...(await this.startWorkload(prefix)) };
  }

  /** Waits until the workload flows (5 more acknowledged writes), then stops the sampler and the writer. */
  async stopWorkload(): Promise<void> {
    const { writer, sampler } = this.workload();
    await writer.waitForAcks(5, 20_000);
    sampler.stop();
    await writer.stop();
  }

  /** The four invariants over the whole run (`stopWorkload()` first); returns the final primary. */
  async expectInvariants(): Promise<string> {
    const { harness, groupId } = this.bootstrapped();
    const { writer, sampler } = this.workload();
    return expectInvariants(harness, writer, sampler, { groupId });
  }

  /** The end of a scenario: `stopWorkload()`, then `expectInvariants()`. */
  async finish(): Promise<string> {
    await this.stopWorkload();
    return this.expectInvariants();
  }

  private bootstrapped(): { harness: SimHarness; groupId: string } {
    if (this.harness === undefined || this.groupId === undefined) throw new Error("no bootstrapped scenario in this test: call bootstrap() or setUp() first");
    return { harness: this.harness, groupId: this.groupId };
  }

  private workload(): ScenarioWorkload {
    if (this.writer === undefined || this.sampler === undefined) throw new Error("no workload in this test: call startWorkload() or setUp() first");
    return { writer: this.writer, sampler: this.sampler };
  }

  private async tearDown(context: Mocha.Context): Promise<void> {
    this.sampler?.stop();
    await this.writer?.stop();
    dumpOnFailure(context, this.harness);
    await this.harness?.stop();
    this.harness = undefined;
    this.groupId = undefined;
    this.writer = undefined;
    this.sampler = undefined;
  }
}

/** Call in a `describe(…, function () { … })` body: `const scenario = useScenario(this);`. */
export function useScenario(suite: Mocha.Suite): ScenarioFixture {
  return new ScenarioFixture(suite);
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
