/**
 * The randomized fault schedule of the chaos spec (issue 6: "a randomized fault schedule, seeded, ≥ 10 faults,
 * ending in a healthy AG"), as pure data from a seed so a failing run can be replayed with SQLAG_CHAOS_SEED.
 *
 * Targets are roles, not pods: which pod is primary is only known when a step runs. The schedule is generated
 * against a small model of the faults that stay open across steps (an endpoint partition, an API cut), because
 * those are what the runner's "settled enough" wait cannot wait out. The rules that keep every schedule
 * survivable by design (three synchronous replicas, ARCHITECTURE §4.5 quorum gate ⌊3/2⌋+1 = 2 positive reports):
 *  - at most one replica is impaired by an open fault at any time;
 *  - the primary is never taken away (crash, freeze, agent kill, switchover, pod deletion) while an open fault
 *    impairs any replica, and only once a secondary is SYNCHRONIZED and both secondaries are joined (so one
 *    synchronized candidate plus a second positive sequence-number report exist);
 *  - a partition is only opened once both secondaries are SYNCHRONIZED, so the one left out of it stays the
 *    primary's synchronized partner;
 *  - a secondary's SQL Server is only killed while the other secondary is SYNCHRONIZED: with three synchronous
 *    replicas the primary requires one synchronized secondary to commit (RSSTC = ⌊3/2⌋ = 1, §4.5 step 4), so
 *    without that partner the writes would stall until a secondary caught up (safe, but not a fault the
 *    workload should have to sit out);
 *  - while an open fault impairs a secondary, only that same secondary may be hit again; while it impairs the
 *    primary (API cut), nothing else is injected;
 *  - every open fault is healed before the end.
 * `scheduleViolations` checks exactly these rules, so the generator's output is verified by construction and
 * the unit tests can show that a hand-written unsafe schedule is rejected.
 */
import { seededRandom } from "@sqlag/testkit";

/** The schedule's PRNG (mulberry32, shared with the simulator tier's chaos scenario). */
export { seededRandom };

/** Faults whose effect is over once injected (the kubelet restarts, the agent hands over, …). */
export type InstantFault =
  | "kill-primary-sql"
  | "kill-secondary-sql"
  | "kill-primary-agent"
  | "kill-secondary-agent"
  | "freeze-primary"
  | "switchover-any"
  | "delete-primary-pod";

/** Faults that stay in place until a later heal step. */
export type OpenFault = "partition" | "api-cut";

export type HealAction = "heal-partition" | "restore-api";

export const instantFaults: readonly InstantFault[] = [
  "kill-primary-sql",
  "kill-secondary-sql",
  "kill-primary-agent",
  "kill-secondary-agent",
  "freeze-primary",
  "switchover-any",
  "delete-primary-pod",
];
export const openFaults: readonly OpenFault[] = ["partition", "api-cut"];

/** Faults that take the primary role away (or may: a primary agent killed for longer than W loses its lease). */
export const primaryLossFaults: ReadonlySet<InstantFault> = new Set<InstantFault>(["kill-primary-sql", "kill-primary-agent", "freeze-primary", "switchover-any", "delete-primary-pod"]);

/**
 * Who a step hits. `secondary.pick` in [0, 1) chooses among the current secondaries sorted by name at run time;
 * `impaired` is the secondary the open fault already impairs.
 */
export type ChaosTarget = { readonly role: "primary" } | { readonly role: "secondary"; readonly pick: number } | { readonly role: "impaired" };

/** What the runner waits for before a step ("settled enough"), on top of one labelled, writable primary. */
export interface SettlePrecondition {
  /** Secondaries whose own agent reports the database SYNCHRONIZED. */
  readonly synchronizedSecondaries: number;
  /** Both secondaries' agents report role SECONDARY (SQL up and joined: they can answer the quorum gate). */
  readonly everySecondaryJoined: boolean;
  /** A secondary other than the step's target reports SYNCHRONIZED (the primary keeps a commit partner). */
  readonly spareSynchronizedSecondary: boolean;
}

interface StepCommon {
  readonly precondition: SettlePrecondition;
  /** Pause after the step (and after its settle) before the next one. */
  readonly gapAfterMs: number;
}

export interface InstantFaultStep extends StepCommon {
  readonly kind: "instant";
  /** 1-based count of injected faults (instant and open). */
  readonly faultNumber: number;
  readonly fault: InstantFault;
  readonly target: ChaosTarget;
  /** freeze-primary only: how long SQL Server stays stopped (short: well under the failover threshold). */
  readonly holdMs?: number;
}

export interface OpenFaultStep extends StepCommon {
  readonly kind: "open";
  readonly faultNumber: number;
  readonly fault: OpenFault;
  /** partition: the secondary cut from the primary; api-cut: the pod cut from the API server. */
  readonly target: ChaosTarget;
  /** Minimum time the fault stays in place before its heal step runs. */
  readonly holdMs: number;
}

export interface HealStep extends StepCommon {
  readonly kind: "heal";
  readonly heal: HealAction;
}

export type ChaosStep = InstantFaultStep | OpenFaultStep | HealStep;

export interface ChaosSchedule {
  readonly seed: number;
  readonly faultCount: number;
  readonly steps: readonly ChaosStep[];
}

export interface ChaosScheduleOptions {
  readonly seed: number;
  /** Injected faults (instant + open); heals are not counted. Issue 6 asks for at least ten. */
  readonly faultCount: number;
  /** Pod deletions are the slowest fault (a new pod rejoins); capped to keep the spec in budget. */
  readonly maxPodDeletions?: number;
}

export class UnsafeChaosScheduleError extends Error {
  constructor(readonly violations: readonly string[]) {
    super(`unsafe chaos schedule: ${violations.join("; ")}`);
    this.name = "UnsafeChaosScheduleError";
  }
}

/** SQLAG_CHAOS_SEED as a 32-bit unsigned seed; undefined when unset or blank; throws when it is not an integer. */
export function parseChaosSeed(raw: string | undefined): number | undefined {
  if (raw === undefined || raw.trim() === "") return undefined;
  const value = Number(raw.trim());
  if (!Number.isSafeInteger(value) || value < 0 || value > 0xffffffff) throw new RangeError(`SQLAG_CHAOS_SEED must be an integer in [0, 2^32): ${raw}`);
  return value;
}

export const noPrecondition: SettlePrecondition = { synchronizedSecondaries: 0, everySecondaryJoined: false, spareSynchronizedSecondary: false };
export const primaryLossPrecondition: SettlePrecondition = { synchronizedSecondaries: 1, everySecondaryJoined: true, spareSynchronizedSecondary: false };
export const partitionPrecondition: SettlePrecondition = { synchronizedSecondaries: 2, everySecondaryJoined: true, spareSynchronizedSecondary: true };
export const secondaryCrashPrecondition: SettlePrecondition = { synchronizedSecondaries: 1, everySecondaryJoined: false, spareSynchronizedSecondary: true };

/** Where an open fault leaves the AG: nothing open, or one fault impairing the primary or one secondary. */
type OpenState = { readonly fault: OpenFault; readonly impairs: "primary" | "secondary" } | undefined;

function pickOf<T>(random: () => number, items: readonly T[]): T {
  const item = items[Math.floor(random() * items.length)];
  if (item === undefined) throw new RangeError("pick from an empty list");
  return item;
}

function between(random: () => number, fromMs: number, toMs: number): number {
  return fromMs + Math.floor(random() * (toMs - fromMs + 1));
}

/** The next instant fault allowed in `open`, or undefined when nothing may be injected. */
function allowedInstantFaults(open: OpenState, podDeletionsLeft: number): InstantFault[] {
  if (open === undefined) return instantFaults.filter((fault) => fault !== "delete-primary-pod" || podDeletionsLeft > 0);
  if (open.impairs === "secondary") return ["kill-secondary-sql", "kill-secondary-agent"];
  return [];
}

/** Generates a schedule that satisfies every rule in the file comment (checked before it is returned). */
export function generateChaosSchedule(options: ChaosScheduleOptions): ChaosSchedule {
  const random = seededRandom(options.seed);
  const steps: ChaosStep[] = [];
  let open: OpenState;
  let faultNumber = 0;
  let podDeletionsLeft = options.maxPodDeletions ?? 1;
  const gap = (): number => between(random, 1_000, 3_000);

  const heal = (): void => {
    if (open === undefined) return;
    steps.push({ kind: "heal", heal: open.fault === "partition" ? "heal-partition" : "restore-api", precondition: noPrecondition, gapAfterMs: gap() });
    open = undefined;
  };

  while (faultNumber < options.faultCount) {
    // An open fault is healed with probability ½ at each step, and always when nothing may be added to it.
    if (open !== undefined && (allowedInstantFaults(open, podDeletionsLeft).length === 0 || random() < 0.5)) {
      heal();
      continue;
    }
    faultNumber += 1;
    const opensFault = open === undefined && random() < 0.25;
    if (opensFault) {
      const fault = pickOf(random, openFaults);
      const onPrimary = fault === "api-cut" && random() < 0.5;
      const target: ChaosTarget = onPrimary ? { role: "primary" } : { role: "secondary", pick: random() };
      steps.push({ kind: "open", faultNumber, fault, target, holdMs: between(random, 3_000, 6_000), precondition: fault === "partition" ? partitionPrecondition : noPrecondition, gapAfterMs: gap() });
      open = { fault, impairs: onPrimary ? "primary" : "secondary" };
      continue;
    }
    const fault = pickOf(random, allowedInstantFaults(open, podDeletionsLeft));
    if (fault === "delete-primary-pod") podDeletionsLeft -= 1;
    const target: ChaosTarget = primaryLossFaults.has(fault) ? { role: "primary" } : open !== undefined ? { role: "impaired" } : { role: "secondary", pick: random() };
    steps.push({
      kind: "instant",
      faultNumber,
      fault,
      target,
      ...(fault === "freeze-primary" ? { holdMs: between(random, 1_500, 3_000) } : {}),
      precondition: primaryLossFaults.has(fault) ? primaryLossPrecondition : fault === "kill-secondary-sql" ? secondaryCrashPrecondition : noPrecondition,
      gapAfterMs: gap(),
    });
  }
  heal();

  const schedule: ChaosSchedule = { seed: options.seed, faultCount: faultNumber, steps };
  const violations = scheduleViolations(schedule.steps);
  if (violations.length > 0) throw new UnsafeChaosScheduleError(violations);
  return schedule;
}

/** Every way `steps` breaks the survivability rules in the file comment; empty when the schedule is safe. */
export function scheduleViolations(steps: readonly ChaosStep[]): string[] {
  const violations: string[] = [];
  let open: OpenState;
  for (const [index, step] of steps.entries()) {
    const at = `step ${index + 1}`;
    if (step.kind === "heal") {
      const expected = open === undefined ? undefined : open.fault === "partition" ? "heal-partition" : "restore-api";
      if (step.heal !== expected) violations.push(`${at}: ${step.heal} with ${open === undefined ? "nothing open" : `${open.fault} open`}`);
      open = undefined;
      continue;
    }
    if (step.kind === "open") {
      if (open !== undefined) violations.push(`${at}: ${step.fault} opened while ${open.fault} is open (two impaired replicas)`);
      if (step.target.role === "impaired") violations.push(`${at}: ${step.fault} must name its target`);
      if (step.fault === "partition" && step.target.role !== "secondary") violations.push(`${at}: a partition is between the primary and a secondary`);
      if (step.fault === "partition" && (step.precondition.synchronizedSecondaries < 2 || !step.precondition.everySecondaryJoined)) {
        violations.push(`${at}: partition opened without both secondaries SYNCHRONIZED (the other one must stay the primary's synchronized partner)`);
      }
      open = { fault: step.fault, impairs: step.target.role === "primary" ? "primary" : "secondary" };
      continue;
    }
    if (primaryLossFaults.has(step.fault)) {
      if (step.target.role !== "primary") violations.push(`${at}: ${step.fault} must target the primary`);
      if (open !== undefined) violations.push(`${at}: ${step.fault} takes the primary away while ${open.fault} impairs the ${open.impairs}`);
      if (step.precondition.synchronizedSecondaries < 1 || !step.precondition.everySecondaryJoined) {
        violations.push(`${at}: ${step.fault} without a SYNCHRONIZED partner and both secondaries joined (quorum gate)`);
      }
      continue;
    }
    if (step.target.role === "primary") violations.push(`${at}: ${step.fault} targets a secondary`);
    if (step.fault === "kill-secondary-sql" && !step.precondition.spareSynchronizedSecondary) {
      violations.push(`${at}: kill-secondary-sql without another SYNCHRONIZED secondary (the primary would have no commit partner)`);
    }
    if (open?.impairs === "primary") violations.push(`${at}: ${step.fault} injected while the primary is cut from the API server`);
    if (open?.impairs === "secondary" && step.target.role !== "impaired") violations.push(`${at}: ${step.fault} hits a second replica while ${open.fault} impairs one`);
    if (open === undefined && step.target.role === "impaired") violations.push(`${at}: ${step.fault} targets the impaired replica with nothing open`);
  }
  if (open !== undefined) violations.push(`end: ${open.fault} is never healed`);
  return violations;
}

/** One line per step, for the log before the run starts (so a failure can be matched to its step). */
export function describeSchedule(schedule: ChaosSchedule): string[] {
  return schedule.steps.map((step, index) => {
    const { synchronizedSecondaries, everySecondaryJoined, spareSynchronizedSecondary } = step.precondition;
    const conditions = [
      ...(synchronizedSecondaries > 0 ? [`≥${synchronizedSecondaries} SYNCHRONIZED secondaries`] : []),
      ...(everySecondaryJoined ? ["both joined"] : []),
      ...(spareSynchronizedSecondary ? ["another secondary SYNCHRONIZED"] : []),
    ];
    const gate = conditions.length > 0 ? ` [after ${conditions.join(", ")}]` : "";
    if (step.kind === "heal") return `${index + 1}. ${step.heal}${gate}`;
    const hold = step.holdMs !== undefined ? ` for ${(step.holdMs / 1000).toFixed(1)} s` : "";
    return `${index + 1}. fault ${step.faultNumber}: ${step.fault} → ${describeTarget(step.target)}${hold}${gate}`;
  });
}

export function describeTarget(target: ChaosTarget): string {
  return target.role === "secondary" ? `secondary #${target.pick < 0.5 ? 1 : 2}` : target.role === "impaired" ? "the impaired secondary" : "primary";
}

/** The secondary a `pick` chooses among the current secondaries (sorted by name, so the choice replays). */
export function chooseSecondary(secondaries: readonly string[], pick: number): string {
  const sorted = [...secondaries].sort();
  const chosen = sorted[Math.min(sorted.length - 1, Math.floor(pick * sorted.length))];
  if (chosen === undefined) throw new RangeError("no secondary to choose from");
  return chosen;
}
