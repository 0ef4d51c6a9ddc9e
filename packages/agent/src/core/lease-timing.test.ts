/**
 * The two-lease argument of ARCHITECTURE §4.4 / §4.9, checked over time rather than per cycle: a FakeClock drives
 * decide() once per loop interval against a tiny scripted executor (Lease writes succeed or fail, the SQL lease
 * is granted for W from the moment the statement ends, OFFLINE takes effect or not), and the tests assert the
 * safety property itself — the old primary's SQL lease has always ended (plus margin) before any contender
 * could claim the Lease or is released from its failsafe promise.
 */
import { expect } from "chai";
import { FakeClock } from "@sqlag/testkit";
import { decide } from "./decide.js";
import { sqlLeaseRenewalAllowed } from "./lease-view.js";
import { ME, obs, testConfig } from "./testing/observation-builder.js";
import { initialMemory, type AgentMemory, type CompletedAction, type Decision, type ReasonCode } from "./types.js";

const config = testConfig();
const { leaseDurationMs: L, renewDeadlineMs, sqlWriteLeaseMs: W, leaseSafetyMarginMs: margin, loopIntervalMs } = config.timing;
const PEERS = ["ag1-1", "ag1-2"];

interface World {
  clock: FakeClock;
  memory: AgentMemory;
  /** Send time of the last Lease write the API server accepted. */
  lastLeaseRenewSentAtMs: number;
  /** End of the last SQL lease statement the executor sent, and the expiry it may have set. */
  lastSqlRenewalEndedAtMs: number;
  sqlLeaseExpiresAtMs: number;
  role: "PRIMARY" | "RESOLVING";
  sqlReachable: boolean;
  /** The diagnostics monitor has had no result set since then (frozen instance). */
  diagnosticsSilentSinceMs?: number;
  componentError: boolean;
  apiUp: boolean;
  peersAck: boolean;
  /** Each peer's latest ack time: it promised not to claim before ack + L. */
  lastAckAtMs: Map<string, number>;
  completed: CompletedAction[];
  held: boolean;
  releasedAtMs?: number;
  offlineIssuedAtMs?: number;
  reasons: ReasonCode[];
  /** Every SQL renewal the executor actually sent, with the bound a contender would respect at that moment. */
  sqlRenewals: { atMs: number; expiresAtMs: number; earliestContenderClaimMs: number }[];
  refusedSqlRenewals: number;
}

function newWorld(): World {
  const clock = new FakeClock();
  const now = clock.nowMs();
  return {
    clock,
    memory: initialMemory(),
    lastLeaseRenewSentAtMs: now,
    lastSqlRenewalEndedAtMs: now,
    sqlLeaseExpiresAtMs: now + W,
    role: "PRIMARY",
    sqlReachable: true,
    componentError: false,
    apiUp: true,
    peersAck: false,
    lastAckAtMs: new Map(),
    completed: [],
    held: true,
    reasons: [],
    sqlRenewals: [],
    refusedSqlRenewals: 0,
  };
}

/** The earliest moment any contender may claim: the Lease must look unchanged for L AND every failsafe promise must have ended. */
function earliestContenderClaimMs(world: World): number {
  const promises = PEERS.map((p) => (world.lastAckAtMs.get(p) ?? -Infinity) + L);
  return Math.max(world.lastLeaseRenewSentAtMs + L, ...promises);
}

function observe(world: World) {
  const now = world.clock.nowMs();
  let builder = obs(ME, now).primary().renewedAgoMs(now - world.lastLeaseRenewSentAtMs).sqlLeaseRenewedAgoMs(now - world.lastSqlRenewalEndedAtMs);
  if (!world.held) builder = builder.leaseFree();
  if (world.role === "RESOLVING") builder = builder.role("RESOLVING");
  if (!world.sqlReachable) builder = builder.sqlTimeout();
  if (world.diagnosticsSilentSinceMs !== undefined) builder = builder.diagnosticsSilentForMs(now - world.diagnosticsSilentSinceMs);
  if (world.componentError) builder = builder.componentError("system");
  for (const c of world.completed) builder = builder.completed(c);
  world.completed = [];
  return builder.build();
}

function execute(world: World, decision: Decision): void {
  const now = world.clock.nowMs();
  for (const action of decision.actions) {
    switch (action.kind) {
      case "renewLease":
        if (!world.apiUp) return; // a failed Lease renewal skips the rest
        world.lastLeaseRenewSentAtMs = now;
        break;
      case "renewSqlWriteLease":
        if (!sqlLeaseRenewalAllowed(action.authority, world.lastLeaseRenewSentAtMs, now) || !world.sqlReachable) {
          world.refusedSqlRenewals += 1;
          return;
        }
        world.lastSqlRenewalEndedAtMs = now;
        world.sqlLeaseExpiresAtMs = now + action.sqlWriteLeaseSeconds * 1000;
        world.sqlRenewals.push({ atMs: now, expiresAtMs: world.sqlLeaseExpiresAtMs, earliestContenderClaimMs: earliestContenderClaimMs(world) });
        break;
      case "sendFailsafeHeartbeats": {
        const acked = world.peersAck ? [...action.peers] : [];
        for (const pod of acked) world.lastAckAtMs.set(pod, now);
        world.completed.push({ kind: "sendFailsafeHeartbeats", ok: acked.length === action.peers.length, startedAtMs: now, finishedAtMs: now, epoch: action.epoch, failsafeAckedBy: acked });
        break;
      }
      case "offline":
        world.offlineIssuedAtMs ??= now;
        if (world.sqlReachable) world.role = "RESOLVING";
        break;
      case "releaseLease":
        if (!world.apiUp) return;
        world.held = false;
        world.releasedAtMs = now;
        break;
      default:
        break;
    }
  }
}

async function runCycles(world: World, cycles: number): Promise<void> {
  for (let i = 0; i < cycles; i++) {
    const result = decide(observe(world), world.memory, config, world.clock.nowMs());
    world.memory = result.memory;
    world.reasons.push(result.decision.reason);
    execute(world, result.decision);
    await world.clock.advance(loopIntervalMs);
  }
}

function expectNoSqlLeaseOutlivesAContender(world: World): void {
  for (const renewal of world.sqlRenewals) {
    expect(renewal.expiresAtMs + margin, `SQL lease renewed at ${renewal.atMs}`).to.be.at.most(renewal.earliestContenderClaimMs);
  }
}

describe("lease timing (FakeClock, §4.4 and §4.9)", () => {
  describe("sqlLeaseRenewalAllowed", () => {
    const table: { name: string; sentAgoMs: number | undefined; allowed: boolean }[] = [
      { name: "renewal sent just now", sentAgoMs: 0, allowed: true },
      { name: "renewal sent exactly renewDeadline ago", sentAgoMs: renewDeadlineMs, allowed: true },
      { name: "renewal sent 1 ms past renewDeadline", sentAgoMs: renewDeadlineMs + 1, allowed: false },
      { name: "no successful renewal by this process", sentAgoMs: undefined, allowed: false },
    ];
    const now = 50_000;
    for (const row of table) {
      it(row.name, () => {
        const sent = row.sentAgoMs === undefined ? undefined : now - row.sentAgoMs;
        expect(sqlLeaseRenewalAllowed({ kind: "lease", renewDeadlineMs }, sent, now)).to.equal(row.allowed);
      });
    }
    it("failsafe authority ends at its validUntil", () => {
      const authority = { kind: "failsafe" as const, heartbeatSentAtMs: now - 1000, validUntilMs: now - 1000 + renewDeadlineMs };
      expect(sqlLeaseRenewalAllowed(authority, undefined, now)).to.equal(true);
      expect(sqlLeaseRenewalAllowed(authority, undefined, now + renewDeadlineMs)).to.equal(false);
    });
  });

  it("steady primary: renews the SQL lease only right after Lease renewals, and never past what contenders respect", async () => {
    const world = newWorld();
    await runCycles(world, 30);
    expect(world.sqlRenewals.length).to.be.at.least(10);
    expect(world.refusedSqlRenewals).to.equal(0);
    expectNoSqlLeaseOutlivesAContender(world);
    expect(world.reasons).to.include("lease_renewed");
  });

  it("API server lost and no peer acks: stops renewing the SQL lease within renewDeadline and goes OFFLINE before anyone may claim", async () => {
    const world = newWorld();
    await runCycles(world, 5);
    world.apiUp = false;
    const outageAtMs = world.clock.nowMs();
    await runCycles(world, 20);
    expectNoSqlLeaseOutlivesAContender(world);
    const lastSqlRenewal = world.sqlRenewals.at(-1)?.atMs ?? 0;
    expect(lastSqlRenewal - world.lastLeaseRenewSentAtMs).to.be.at.most(renewDeadlineMs);
    expect(world.offlineIssuedAtMs, "self-fence").to.not.equal(undefined);
    expect(world.offlineIssuedAtMs ?? Infinity).to.be.below(earliestContenderClaimMs(world));
    expect(world.reasons).to.include("lease_renewal_overdue").and.to.include("failsafe_not_acked");
    expect(world.role).to.equal("RESOLVING");
    expect(outageAtMs).to.be.below(world.offlineIssuedAtMs ?? 0);
  });

  it("API server lost but every peer acks: keeps the SQL lease (no write downtime) and every renewal ends before the peers' promises", async () => {
    const world = newWorld();
    await runCycles(world, 5);
    world.apiUp = false;
    world.peersAck = true;
    await runCycles(world, 60);
    expect(world.offlineIssuedAtMs).to.equal(undefined);
    expect(world.reasons.slice(-40)).to.satisfy((reasons: ReasonCode[]) => reasons.every((r) => r === "failsafe_acked"));
    // The SQL lease never lapsed: no gap between a lease's expiry and the next renewal.
    for (let i = 1; i < world.sqlRenewals.length; i++) {
      const previous = world.sqlRenewals[i - 1];
      const current = world.sqlRenewals[i];
      if (previous === undefined || current === undefined) continue;
      expect(current.atMs, `renewal ${i}`).to.be.at.most(previous.expiresAtMs);
    }
    expectNoSqlLeaseOutlivesAContender(world);
  });

  it("peers stop acking mid-outage: the primary fences before the last promise ends", async () => {
    const world = newWorld();
    world.apiUp = false;
    world.peersAck = true;
    await runCycles(world, 20);
    world.peersAck = false;
    await runCycles(world, 15);
    expect(world.offlineIssuedAtMs).to.not.equal(undefined);
    expectNoSqlLeaseOutlivesAContender(world);
    expect(world.sqlLeaseExpiresAtMs + margin).to.be.at.most(earliestContenderClaimMs(world));
  });

  it("frozen primary (SQL unreachable, OFFLINE impossible): releases fenced only after lastSqlRenewal + W + margin", async () => {
    const world = newWorld();
    await runCycles(world, 4);
    // Frozen: the monitor has been silent past the failover threshold and the loop's own connection times out.
    world.sqlReachable = false;
    world.diagnosticsSilentSinceMs = world.clock.nowMs() - 20_000;
    await runCycles(world, 30);
    expect(world.reasons).to.include("fencing_unresponsive_primary").and.to.include("waiting_for_sql_lease_expiry");
    expect(world.releasedAtMs, "released").to.not.equal(undefined);
    expect(world.releasedAtMs ?? 0).to.be.at.least(world.lastSqlRenewalEndedAtMs + W + margin);
    expect(world.releasedAtMs ?? Infinity).to.be.at.most(world.lastSqlRenewalEndedAtMs + W + margin + loopIntervalMs);
    expect(world.reasons).to.include("released_lease_fenced");
  });

  it("unhealthy primary whose OFFLINE takes effect: releases fenced as soon as RESOLVING is read back", async () => {
    const world = newWorld();
    await runCycles(world, 3);
    world.componentError = true;
    const errorSeenAtMs = world.clock.nowMs();
    await runCycles(world, 16);
    expect(world.reasons).to.include("unhealthy_below_threshold").and.to.include("fencing_unhealthy_primary");
    expect(world.offlineIssuedAtMs).to.not.equal(undefined);
    // The streak is dated from the result set that first showed the error (up to one interval before this cycle saw it).
    expect(world.offlineIssuedAtMs ?? 0).to.be.at.least(errorSeenAtMs + config.timing.failoverThresholdMs - 1000);
    expect(world.releasedAtMs).to.not.equal(undefined);
    expect((world.releasedAtMs ?? 0) - (world.offlineIssuedAtMs ?? 0)).to.be.at.most(loopIntervalMs);
    expect(world.sqlRenewals.every((r) => r.atMs < (world.offlineIssuedAtMs ?? Infinity))).to.equal(true);
  });
});
