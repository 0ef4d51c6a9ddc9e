/**
 * The invariant checker for ARCHITECTURE §5, invariants 1–3, from evidence gathered during a scenario:
 *  1. never two instances writable at once — from the simulator's ground truth (writable intervals);
 *  2. every acknowledged key is present on the current primary and on the synchronous secondaries;
 *  3. the rw listener's EndpointSlices never listed two ready pods, and converged on the writable instance.
 * The checks are pure functions over plain data; `gatherEvidence` collects it through ports so the same
 * checker serves the e2e specs and the benchmark.
 */
import type { WritableInterval } from "../faults/mssql-admin.js";
import type { ListenerSample } from "./endpoints.js";
import type { WorkloadJournal } from "./journal.js";

export interface WritableOverlap {
  readonly instances: readonly [string, string];
  readonly fromMs: number;
  readonly toMs: number;
}

/** Pairs of different instances whose writable intervals intersect (an open interval lasts until `nowMs`). */
export function findConcurrentWritable(intervals: readonly WritableInterval[], nowMs: number): WritableOverlap[] {
  const overlaps: WritableOverlap[] = [];
  const sorted = [...intervals].sort((a, b) => a.fromMs - b.fromMs);
  for (let i = 0; i < sorted.length; i++) {
    const a = sorted[i];
    if (a == null) continue;
    const aEnd = a.toMs ?? nowMs;
    for (let j = i + 1; j < sorted.length; j++) {
      const b = sorted[j];
      if (b == null || b.fromMs >= aEnd) break;
      if (b.instance === a.instance) continue;
      const fromMs = Math.max(a.fromMs, b.fromMs);
      const toMs = Math.min(aEnd, b.toMs ?? nowMs);
      if (toMs > fromMs) overlaps.push({ instances: [a.instance, b.instance], fromMs, toMs });
    }
  }
  return overlaps;
}

export interface LostWrites {
  readonly instance: string;
  readonly missingKeys: readonly string[];
}

/** Acknowledged keys missing on each checked instance (ambiguous failed writes are never required). */
export function findLostWrites(journal: WorkloadJournal, keysByInstance: ReadonlyMap<string, ReadonlySet<string>>): LostWrites[] {
  const result: LostWrites[] = [];
  for (const [instance, keys] of keysByInstance) {
    const missingKeys = journal.acknowledged.filter((write) => !keys.has(write.key)).map((write) => write.key);
    if (missingKeys.length > 0) result.push({ instance, missingKeys });
  }
  return result;
}

export interface ListenerFinding {
  /** The most ready pods the rw Service listed at once. */
  readonly maxReadyPodsAtOnce: number;
  readonly samplesWithSeveralPods: readonly ListenerSample[];
  readonly finalReadyPods: readonly string[];
  readonly convergedOnWritable: boolean;
}

export function checkListener(samples: readonly ListenerSample[], writableInstance: string | undefined): ListenerFinding {
  const samplesWithSeveralPods = samples.filter((sample) => sample.readyPods.length > 1);
  const finalReadyPods = samples.at(-1)?.readyPods ?? [];
  return {
    maxReadyPodsAtOnce: samples.reduce((max, sample) => Math.max(max, sample.readyPods.length), 0),
    samplesWithSeveralPods,
    finalReadyPods,
    convergedOnWritable: writableInstance != null && finalReadyPods.length === 1 && finalReadyPods[0] === writableInstance,
  };
}

export interface InvariantEvidence {
  readonly journal: WorkloadJournal;
  /** Writable history of every instance (simulator ground truth). */
  readonly writableIntervals: readonly WritableInterval[];
  /** The instance that is writable at the end (the current primary), if any. */
  readonly writableNow: string | undefined;
  /** Committed keys on the current primary and every synchronous secondary. */
  readonly keysByInstance: ReadonlyMap<string, ReadonlySet<string>>;
  readonly listenerSamples: readonly ListenerSample[];
  /** Wall clock ms at which the evidence was taken (closes open intervals). */
  readonly atMs: number;
}

export interface InvariantReport {
  readonly ok: boolean;
  readonly violations: readonly string[];
  readonly concurrentWritable: readonly WritableOverlap[];
  readonly lostWrites: readonly LostWrites[];
  readonly listener: ListenerFinding;
  readonly acknowledgedCount: number;
}

export function checkInvariants(evidence: InvariantEvidence): InvariantReport {
  const violations: string[] = [];
  const concurrentWritable = findConcurrentWritable(evidence.writableIntervals, evidence.atMs);
  for (const overlap of concurrentWritable) {
    violations.push(
      `invariant 1: ${overlap.instances[0]} and ${overlap.instances[1]} were both writable for ${overlap.toMs - overlap.fromMs} ms from ${new Date(overlap.fromMs).toISOString()}`,
    );
  }
  if (evidence.writableNow == null) violations.push("invariant 2/3: no instance is writable at the end of the scenario");
  const lostWrites = findLostWrites(evidence.journal, evidence.keysByInstance);
  for (const lost of lostWrites) {
    const sample = lost.missingKeys.slice(0, 5).join(", ");
    violations.push(`invariant 2: ${lost.missingKeys.length} acknowledged key(s) missing on ${lost.instance} (e.g. ${sample})`);
  }
  const listener = checkListener(evidence.listenerSamples, evidence.writableNow);
  for (const sample of listener.samplesWithSeveralPods) {
    violations.push(`invariant 3: the rw listener listed ${sample.readyPods.join(" and ")} at once at ${new Date(sample.atMs).toISOString()}`);
  }
  if (evidence.writableNow != null && !listener.convergedOnWritable) {
    violations.push(`invariant 3: the rw listener ends on [${listener.finalReadyPods.join(", ")}], not on the writable instance ${evidence.writableNow}`);
  }
  return {
    ok: violations.length === 0,
    violations,
    concurrentWritable,
    lostWrites,
    listener,
    acknowledgedCount: evidence.journal.acknowledged.length,
  };
}

export class InvariantViolationError extends Error {
  constructor(readonly report: InvariantReport) {
    super(`ARCHITECTURE §5 invariants violated:\n - ${report.violations.join("\n - ")}`);
    this.name = "InvariantViolationError";
  }
}

/** Throws with every violation listed; use at the end of each scenario. */
export function assertInvariants(report: InvariantReport): void {
  if (!report.ok) throw new InvariantViolationError(report);
}

/** Where the evidence comes from: one admin client per instance, named as the instances are. */
export interface GroundTruthInstance {
  readonly instance: string;
  writableIntervals(): Promise<readonly WritableInterval[]>;
  committedKeys(database: string): Promise<readonly string[]>;
}

export interface GatherOptions {
  readonly journal: WorkloadJournal;
  readonly database: string;
  readonly instances: readonly GroundTruthInstance[];
  /** Which instances must hold every acknowledged key besides the writable one (the synchronous secondaries). */
  readonly synchronousSecondaries: readonly string[];
  readonly listenerSamples: readonly ListenerSample[];
  readonly wallNowMs?: () => number;
}

/** Collects ground truth from the simulators (instances that cannot be reached contribute no intervals). */
export async function gatherEvidence(options: GatherOptions): Promise<InvariantEvidence> {
  const atMs = (options.wallNowMs ?? Date.now)();
  const intervals: WritableInterval[] = [];
  for (const instance of options.instances) {
    try {
      intervals.push(...(await instance.writableIntervals()).map((interval) => ({ ...interval, instance: interval.instance || instance.instance })));
    } catch {
      // A crashed instance has no admin API; its history is what the others' truth and the journal show.
    }
  }
  const writable = intervals.filter((interval) => interval.toMs == null).map((interval) => interval.instance);
  const writableNow = writable.length === 1 ? writable[0] : undefined;
  const keysByInstance = new Map<string, ReadonlySet<string>>();
  const mustHold = new Set([...(writableNow != null ? [writableNow] : []), ...options.synchronousSecondaries]);
  for (const instance of options.instances) {
    if (!mustHold.has(instance.instance)) continue;
    try {
      keysByInstance.set(instance.instance, new Set(await instance.committedKeys(options.database)));
    } catch {
      keysByInstance.set(instance.instance, new Set());
    }
  }
  return { journal: options.journal, writableIntervals: intervals, writableNow, keysByInstance, listenerSamples: options.listenerSamples, atMs };
}
