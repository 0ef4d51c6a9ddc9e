/**
 * Issue 6, scenario 14 on the simulator tier: a randomized fault schedule (seeded PRNG, at least ten faults
 * drawn from the other scenarios, each followed by its recovery and a gap) against three synchronous replicas
 * with the workload writing through the listener. It must end in a healthy AG (one primary, every synchronous
 * secondary SYNCHRONIZED) with the four invariants held over the whole run. The seed is printed; set
 * SQLAG_CHAOS_SEED to replay a schedule.
 */
import { annotations } from "@sqlag/api";
import { HARNESS_TIMING_SECONDS, type SimHarness, eventually } from "../testing/sim-harness.js";
import { seededRandom as prng } from "@sqlag/testkit";
import { type ListenerWriter, healthyAg, sleep, useScenario } from "../testing/scenario-kit.js";

interface FaultContext {
  h: SimHarness;
  w: ListenerWriter;
  primary: string;
  /** A random non-primary pod. */
  secondary: string;
}

/** Waits until a replica other than `primary` acknowledges a write after `sinceMs`. */
async function writesMoveAway(c: FaultContext, sinceMs: number): Promise<void> {
  await eventually("writes on a new primary", () => c.w.acks.some((a) => a.atMs > sinceMs && a.pod !== c.primary), 90_000, 50);
}

const FAULTS: Record<string, (c: FaultContext) => Promise<void>> = {
  "sql-crash": async (c) => {
    const at = performance.now();
    await c.h.sim.crash(c.primary);
    await writesMoveAway(c, at);
    await c.h.sim.start(c.primary);
  },
  "node-loss": async (c) => {
    const at = performance.now();
    await Promise.all([c.h.stopAgent(c.primary), c.h.sim.crash(c.primary)]);
    await writesMoveAway(c, at);
    await c.h.sim.start(c.primary);
    await c.h.restartAgent(c.primary);
  },
  "agent-crash": async (c) => {
    const at = performance.now();
    await c.h.stopAgent(c.primary);
    await writesMoveAway(c, at);
    await c.h.restartAgent(c.primary);
  },
  "frozen-primary": async (c) => {
    const at = performance.now();
    c.h.sim.freeze(c.primary);
    await writesMoveAway(c, at);
    c.h.sim.thaw(c.primary);
  },
  "switchover-any": async (c) => {
    c.h.cluster.annotateCr(annotations.switchoverTo, "any");
    await eventually("the switchover carried out", () => c.h.cluster.cr.metadata.annotations?.[annotations.switchoverTo] === undefined, 60_000);
  },
  "graceful-delete": async (c) => {
    c.h.cluster.markTerminating(c.primary);
    await c.h.preStop(c.primary);
    await c.h.stopAgent(c.primary);
    await c.h.sim.stop(c.primary);
    c.h.cluster.replacePod(c.primary);
    await c.h.sim.start(c.primary);
    await c.h.restartAgent(c.primary);
  },
  "api-outage-all": async (c) => {
    for (const pod of c.h.cluster.podNames()) c.h.cluster.cutFromApi(pod);
    await sleep(HARNESS_TIMING_SECONDS.leaseDurationSeconds * 1000);
    for (const pod of c.h.cluster.podNames()) c.h.cluster.restoreApi(pod);
  },
  "primary-isolated": async (c) => {
    const at = performance.now();
    c.h.cluster.cutFromApi(c.primary);
    c.h.cutPeerTraffic(c.primary);
    try {
      await writesMoveAway(c, at);
    } finally {
      c.h.cluster.restoreApi(c.primary);
      c.h.restorePeerTraffic(c.primary);
    }
  },
  "endpoint-partition": async (c) => {
    c.h.sim.partition(c.primary, c.secondary);
    await sleep(4000);
    c.h.sim.heal(c.primary, c.secondary);
  },
  "secondary-crash": async (c) => {
    await c.h.sim.crash(c.secondary);
    await sleep(2000);
    await c.h.sim.start(c.secondary);
  },
};

describe("issue 6 scenarios: randomized fault schedule (3 synchronous replicas on mssql-sim)", function () {
  this.timeout(900_000);
  const scenario = useScenario(this);

  it("14. at least ten seeded random faults with recovery gaps end in a healthy AG with every invariant held", async () => {
    const seed = Number(process.env["SQLAG_CHAOS_SEED"] ?? 20261121);
    const random = prng(seed);
    const faultCount = 10;
    const names = Object.keys(FAULTS);
    const schedule = Array.from({ length: faultCount }, () => names[Math.floor(random() * names.length)]!);
    console.log(`      chaos seed ${seed} (SQLAG_CHAOS_SEED=${seed} replays it): ${schedule.join(", ")}`);

    const { harness, writer, sampler } = await scenario.setUp("chaos");

    for (const [i, name] of schedule.entries()) {
      const primary = await eventually("a healthy AG before the next fault", () => healthyAg(harness), 120_000);
      const others = harness.cluster.podNames().filter((p) => p !== primary);
      const secondary = others[Math.floor(random() * others.length)]!;
      const startedAtMs = performance.now();
      await FAULTS[name]!({ h: harness, w: writer, primary, secondary });
      const healthy = await eventually(`a healthy AG after fault ${i + 1} (${name})`, () => healthyAg(harness), 120_000);
      console.log(
        `      fault ${i + 1}/${faultCount} ${name} on ${primary}${name.includes("partition") || name.startsWith("secondary") ? `/${secondary}` : ""}: healthy again after ${((performance.now() - startedAtMs) / 1000).toFixed(1)} s, longest write pause ${(writer.maxGapMs(startedAtMs, performance.now()) / 1000).toFixed(2)} s, primary ${healthy}`,
      );
      await writer.waitForAcks(3, 30_000);
      await sleep(500 + Math.floor(random() * 1500));
    }

    await eventually("a healthy AG at the end", () => healthyAg(harness), 120_000);
    await scenario.stopWorkload();
    console.log(`      chaos seed ${seed}: ${writer.acks.length} writes acknowledged over ${sampler.samples} label samples; Lease holders ${sampler.holders.map((x) => `${x.holder || "-"}@${x.epoch}`).join(" → ")}`);
    await scenario.expectInvariants();
  });
});
