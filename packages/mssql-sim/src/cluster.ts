/**
 * `SimCluster`: several `SqlInstance`s in one process, sharing a host-name map, with the fault and ground-truth
 * API the tests and the e2e invariant checker use (brief "Administration").
 */
import { DEFAULT_QUIRKS, type DiagnosticState, type Quirks, type WritableInterval } from "./engine/server-model.js";
import { DEFAULT_TIMINGS, scaleTimings, type SimTimings } from "./engine/timings.js";
import { SqlInstance, type SqlInstanceOptions } from "./instance.js";

export interface SimClusterOptions {
  saPassword?: string;
  timings?: SimTimings;
  /** Shortcut: scale DEFAULT_TIMINGS by this factor (ignored when `timings` is given). */
  timingsScale?: number;
  quirks?: Quirks;
  log?: (event: string, fields: Record<string, unknown>) => void;
  tds?: SqlInstanceOptions["tds"];
}

export class UnknownInstanceError extends Error {
  constructor(name: string) {
    super(`mssql-sim: no instance named '${name}'`);
    this.name = "UnknownInstanceError";
  }
}

export class SimCluster {
  readonly instances = new Map<string, SqlInstance>();
  readonly hosts: Record<string, string> = {};
  timings: SimTimings;
  quirks: Quirks;

  constructor(readonly options: SimClusterOptions = {}) {
    this.timings = options.timings ?? (options.timingsScale ? scaleTimings(options.timingsScale) : DEFAULT_TIMINGS);
    this.quirks = options.quirks ?? DEFAULT_QUIRKS;
  }

  /** Create and start an instance; its name resolves to its host for ENDPOINT_URLs of every instance here. */
  async add(options: Partial<SqlInstanceOptions> & { name: string }): Promise<SqlInstance> {
    const full: SqlInstanceOptions = {
      saPassword: this.options.saPassword ?? "Sim-Passw0rd!",
      timings: this.timings,
      quirks: this.quirks,
      hosts: this.hosts,
      ...options,
    };
    if (this.options.log && !full.log) full.log = this.options.log;
    if (this.options.tds !== undefined && full.tds === undefined) full.tds = this.options.tds;
    const instance = new SqlInstance(full);
    this.instances.set(options.name.toLowerCase(), instance);
    this.hosts[options.name.toLowerCase()] = instance.host;
    await instance.start();
    return instance;
  }

  get(name: string): SqlInstance {
    const instance = this.instances.get(name.toLowerCase());
    if (!instance) throw new UnknownInstanceError(name);
    return instance;
  }

  start(name: string): Promise<void> {
    return this.get(name).start();
  }
  stop(name: string): Promise<void> {
    return this.get(name).stop();
  }
  crash(name: string): Promise<void> {
    return this.get(name).crash();
  }
  restart(name: string): Promise<void> {
    return this.get(name).restart();
  }
  freeze(name: string): void {
    this.get(name).freeze();
  }
  thaw(name: string): void {
    this.get(name).thaw();
  }

  /** Cut the endpoint link between a and b in both directions (packets silently dropped). */
  partition(a: string, b: string): void {
    this.get(a).partition(b);
    this.get(b).partition(a);
  }

  heal(a: string, b: string): void {
    this.get(a).heal(b);
    this.get(b).heal(a);
  }

  setDiagnostics(name: string, component: string, state: DiagnosticState): void {
    this.get(name).setDiagnostics(component, state);
  }

  setTimings(timings: Partial<SimTimings>): void {
    this.timings = { ...this.timings, ...timings };
    for (const instance of this.instances.values()) instance.setTimings(this.timings);
  }

  setQuirks(quirks: Partial<Quirks>): void {
    this.quirks = { ...this.quirks, ...quirks };
    for (const instance of this.instances.values()) instance.setQuirks(this.quirks);
  }

  /** Ground truth: which instances accept writes right now (per AG). */
  writableNow(): { instance: string; ag: string }[] {
    return [...this.instances.values()].flatMap((i) => i.writableAgs().map((ag) => ({ instance: i.name, ag })));
  }

  committedKeys(name: string, db: string): string[] {
    return this.get(name).committedKeys(db);
  }

  writableIntervals(): WritableInterval[] {
    return [...this.instances.values()].flatMap((i) => i.writableIntervals()).sort((x, y) => x.fromMs - y.fromMs);
  }

  statementLog(name: string): ReturnType<SqlInstance["statementLog"]> {
    return this.get(name).statementLog();
  }

  async close(): Promise<void> {
    await Promise.all([...this.instances.values()].map((i) => i.stop()));
  }
}

/** Pairs of writable intervals of the same AG on different instances that overlap in time (invariant 1). */
export function overlappingWriters(intervals: WritableInterval[], nowMs: number): [WritableInterval, WritableInterval][] {
  const overlaps: [WritableInterval, WritableInterval][] = [];
  for (let i = 0; i < intervals.length; i++) {
    for (let j = i + 1; j < intervals.length; j++) {
      const a = intervals[i] as WritableInterval;
      const b = intervals[j] as WritableInterval;
      if (a.ag.toLowerCase() !== b.ag.toLowerCase() || a.server.toLowerCase() === b.server.toLowerCase()) continue;
      if (a.fromMs < (b.toMs ?? nowMs) && b.fromMs < (a.toMs ?? nowMs)) overlaps.push([a, b]);
    }
  }
  return overlaps;
}
