import { expect } from "chai";
import {
  chooseSecondary,
  describeSchedule,
  generateChaosSchedule,
  instantFaults,
  noPrecondition,
  partitionPrecondition,
  primaryLossPrecondition,
  secondaryCrashPrecondition,
  openFaults,
  parseChaosSeed,
  primaryLossFaults,
  scheduleViolations,
  seededRandom,
  type ChaosStep,
} from "./schedule.js";

const seeds = Array.from({ length: 500 }, (_, index) => index * 7919 + 1);
const schedules = seeds.map((seed) => generateChaosSchedule({ seed, faultCount: 10 }));

const primaryLoss = primaryLossPrecondition;
const none = noPrecondition;
const bothSynchronized = partitionPrecondition;
const spare = secondaryCrashPrecondition;

/** Open faults in place when each step runs, replayed from the steps. */
function openDuring(steps: readonly ChaosStep[]): (string | undefined)[] {
  let open: string | undefined;
  return steps.map((step) => {
    const before = open;
    if (step.kind === "open") open = `${step.fault}@${step.target.role}`;
    if (step.kind === "heal") open = undefined;
    return before;
  });
}

describe("chaos schedule generator", () => {
  it("is deterministic for a seed and differs between seeds", () => {
    expect(generateChaosSchedule({ seed: 42, faultCount: 10 })).to.deep.equal(generateChaosSchedule({ seed: 42, faultCount: 10 }));
    expect(describeSchedule(generateChaosSchedule({ seed: 42, faultCount: 10 }))).to.not.deep.equal(describeSchedule(generateChaosSchedule({ seed: 43, faultCount: 10 })));
  });

  it("injects exactly the requested number of faults, numbered 1..n, over 500 seeds", () => {
    for (const schedule of schedules) {
      const numbers = schedule.steps.flatMap((step) => (step.kind === "heal" ? [] : [step.faultNumber]));
      expect(numbers, `seed ${schedule.seed}`).to.deep.equal(Array.from({ length: 10 }, (_, index) => index + 1));
      expect(schedule.faultCount).to.equal(10);
    }
  });

  it("produces only schedules the safety rules accept, over 500 seeds", () => {
    for (const schedule of schedules) expect(scheduleViolations(schedule.steps), `seed ${schedule.seed}`).to.deep.equal([]);
  });

  it("never takes the primary away while a partition or an API cut is open, over 500 seeds", () => {
    for (const schedule of schedules) {
      const open = openDuring(schedule.steps);
      schedule.steps.forEach((step, index) => {
        if (step.kind === "instant" && primaryLossFaults.has(step.fault)) expect(open[index], `seed ${schedule.seed} step ${index + 1}`).to.equal(undefined);
      });
    }
  });

  it("waits for a SYNCHRONIZED partner and both secondaries joined before every primary-loss fault", () => {
    for (const schedule of schedules) {
      for (const step of schedule.steps) {
        if (step.kind !== "instant" || !primaryLossFaults.has(step.fault)) continue;
        expect(step.precondition.synchronizedSecondaries).to.be.at.least(1);
        expect(step.precondition.everySecondaryJoined).to.equal(true);
        expect(step.target).to.deep.equal({ role: "primary" });
      }
    }
  });

  it("kills a secondary SQL Server only while another secondary is SYNCHRONIZED, over 500 seeds", () => {
    const crashes = schedules.flatMap((schedule) => schedule.steps.filter((step) => step.kind === "instant" && step.fault === "kill-secondary-sql"));
    expect(crashes.length).to.be.greaterThan(0);
    for (const step of crashes) expect(step.precondition.spareSynchronizedSecondary).to.equal(true);
  });

  it("opens a partition only once both secondaries are SYNCHRONIZED", () => {
    const partitions = schedules.flatMap((schedule) => schedule.steps.filter((step) => step.kind === "open" && step.fault === "partition"));
    expect(partitions.length).to.be.greaterThan(0);
    for (const step of partitions) expect(step.precondition).to.deep.equal(bothSynchronized);
  });

  it("keeps at most one replica impaired: inside an open fault only the impaired secondary is hit, nothing inside a primary API cut", () => {
    for (const schedule of schedules) {
      const open = openDuring(schedule.steps);
      schedule.steps.forEach((step, index) => {
        const during = open[index];
        if (during === undefined || step.kind === "heal") return;
        expect(step.kind, `seed ${schedule.seed} step ${index + 1}`).to.equal("instant");
        expect(during.endsWith("@primary"), `seed ${schedule.seed} step ${index + 1} inside ${during}`).to.equal(false);
        expect(step.target).to.deep.equal({ role: "impaired" });
      });
    }
  });

  it("heals every open fault before the end and heals the one that is open", () => {
    for (const schedule of schedules) {
      const last = schedule.steps.at(-1);
      const open = openDuring([...schedule.steps, { kind: "heal", heal: "restore-api", precondition: none, gapAfterMs: 0 }]);
      expect(open.at(-1), `seed ${schedule.seed}`).to.equal(last?.kind === "open" ? `${last.fault}@${last.target.role}` : undefined);
    }
  });

  it("draws every fault of the menu across seeds and deletes the primary pod at most once per schedule", () => {
    const drawn = new Set(schedules.flatMap((schedule) => schedule.steps.flatMap((step) => (step.kind === "heal" ? [] : [step.fault]))));
    expect([...drawn].sort()).to.deep.equal([...instantFaults, ...openFaults].sort());
    for (const schedule of schedules) expect(schedule.steps.filter((step) => step.kind === "instant" && step.fault === "delete-primary-pod").length).to.be.at.most(1);
  });

  it("keeps freezes short and gaps bounded", () => {
    for (const schedule of schedules) {
      for (const step of schedule.steps) {
        expect(step.gapAfterMs).to.be.within(1_000, 3_000);
        if (step.kind === "instant" && step.fault === "freeze-primary") expect(step.holdMs).to.be.within(1_500, 3_000);
        if (step.kind === "open") expect(step.holdMs).to.be.within(3_000, 6_000);
      }
    }
  });
});

describe("chaos schedule safety rules (scheduleViolations)", () => {
  const cases: { name: string; steps: ChaosStep[]; violation: RegExp | undefined }[] = [
    {
      name: "a primary crash on a settled AG is safe",
      steps: [{ kind: "instant", faultNumber: 1, fault: "kill-primary-sql", target: { role: "primary" }, precondition: primaryLoss, gapAfterMs: 1_000 }],
      violation: undefined,
    },
    {
      name: "a primary crash without waiting for a synchronized partner",
      steps: [{ kind: "instant", faultNumber: 1, fault: "kill-primary-sql", target: { role: "primary" }, precondition: none, gapAfterMs: 1_000 }],
      violation: /without a SYNCHRONIZED partner/,
    },
    {
      name: "a primary crash while the primary's partner is partitioned",
      steps: [
        { kind: "open", faultNumber: 1, fault: "partition", target: { role: "secondary", pick: 0.1 }, holdMs: 3_000, precondition: bothSynchronized, gapAfterMs: 1_000 },
        { kind: "instant", faultNumber: 2, fault: "kill-primary-sql", target: { role: "primary" }, precondition: primaryLoss, gapAfterMs: 1_000 },
        { kind: "heal", heal: "heal-partition", precondition: none, gapAfterMs: 1_000 },
      ],
      violation: /takes the primary away while partition impairs the secondary/,
    },
    {
      name: "a switchover while the primary is cut from the API server",
      steps: [
        { kind: "open", faultNumber: 1, fault: "api-cut", target: { role: "primary" }, holdMs: 3_000, precondition: none, gapAfterMs: 1_000 },
        { kind: "instant", faultNumber: 2, fault: "switchover-any", target: { role: "primary" }, precondition: primaryLoss, gapAfterMs: 1_000 },
        { kind: "heal", heal: "restore-api", precondition: none, gapAfterMs: 1_000 },
      ],
      violation: /takes the primary away while api-cut impairs the primary/,
    },
    {
      name: "the other secondary crashed while one is partitioned",
      steps: [
        { kind: "open", faultNumber: 1, fault: "partition", target: { role: "secondary", pick: 0.1 }, holdMs: 3_000, precondition: bothSynchronized, gapAfterMs: 1_000 },
        { kind: "instant", faultNumber: 2, fault: "kill-secondary-sql", target: { role: "secondary", pick: 0.9 }, precondition: spare, gapAfterMs: 1_000 },
        { kind: "heal", heal: "heal-partition", precondition: none, gapAfterMs: 1_000 },
      ],
      violation: /hits a second replica/,
    },
    {
      name: "the partitioned secondary crashed again is safe",
      steps: [
        { kind: "open", faultNumber: 1, fault: "partition", target: { role: "secondary", pick: 0.1 }, holdMs: 3_000, precondition: bothSynchronized, gapAfterMs: 1_000 },
        { kind: "instant", faultNumber: 2, fault: "kill-secondary-sql", target: { role: "impaired" }, precondition: spare, gapAfterMs: 1_000 },
        { kind: "heal", heal: "heal-partition", precondition: none, gapAfterMs: 1_000 },
      ],
      violation: undefined,
    },
    {
      name: "a secondary SQL Server killed without another SYNCHRONIZED secondary",
      steps: [{ kind: "instant", faultNumber: 1, fault: "kill-secondary-sql", target: { role: "secondary", pick: 0.2 }, precondition: none, gapAfterMs: 1_000 }],
      violation: /without another SYNCHRONIZED secondary/,
    },
    {
      name: "a secondary SQL Server killed with the other secondary SYNCHRONIZED is safe",
      steps: [{ kind: "instant", faultNumber: 1, fault: "kill-secondary-sql", target: { role: "secondary", pick: 0.2 }, precondition: spare, gapAfterMs: 1_000 }],
      violation: undefined,
    },
    {
      name: "a partition opened before both secondaries are SYNCHRONIZED",
      steps: [
        { kind: "open", faultNumber: 1, fault: "partition", target: { role: "secondary", pick: 0.1 }, holdMs: 3_000, precondition: primaryLoss, gapAfterMs: 1_000 },
        { kind: "heal", heal: "heal-partition", precondition: none, gapAfterMs: 1_000 },
      ],
      violation: /without both secondaries SYNCHRONIZED/,
    },
    {
      name: "two open faults at once",
      steps: [
        { kind: "open", faultNumber: 1, fault: "api-cut", target: { role: "secondary", pick: 0.1 }, holdMs: 3_000, precondition: none, gapAfterMs: 1_000 },
        { kind: "open", faultNumber: 2, fault: "partition", target: { role: "secondary", pick: 0.9 }, holdMs: 3_000, precondition: bothSynchronized, gapAfterMs: 1_000 },
        { kind: "heal", heal: "heal-partition", precondition: none, gapAfterMs: 1_000 },
      ],
      violation: /two impaired replicas/,
    },
    {
      name: "a secondary agent killed while the primary is cut from the API server",
      steps: [
        { kind: "open", faultNumber: 1, fault: "api-cut", target: { role: "primary" }, holdMs: 3_000, precondition: none, gapAfterMs: 1_000 },
        { kind: "instant", faultNumber: 2, fault: "kill-secondary-agent", target: { role: "impaired" }, precondition: none, gapAfterMs: 1_000 },
        { kind: "heal", heal: "restore-api", precondition: none, gapAfterMs: 1_000 },
      ],
      violation: /while the primary is cut from the API server/,
    },
    {
      name: "an open fault never healed",
      steps: [{ kind: "open", faultNumber: 1, fault: "api-cut", target: { role: "secondary", pick: 0.5 }, holdMs: 3_000, precondition: none, gapAfterMs: 1_000 }],
      violation: /never healed/,
    },
    {
      name: "the wrong heal",
      steps: [
        { kind: "open", faultNumber: 1, fault: "api-cut", target: { role: "secondary", pick: 0.5 }, holdMs: 3_000, precondition: none, gapAfterMs: 1_000 },
        { kind: "heal", heal: "heal-partition", precondition: none, gapAfterMs: 1_000 },
      ],
      violation: /heal-partition with api-cut open/,
    },
  ];
  for (const { name, steps, violation } of cases) {
    it(name, () => {
      const violations = scheduleViolations(steps);
      if (violation === undefined) expect(violations).to.deep.equal([]);
      else expect(violations.join("; ")).to.match(violation);
    });
  }
});

describe("chaos seeds and targets", () => {
  const seedCases: { name: string; raw: string | undefined; expected: number | undefined | "throws" }[] = [
    { name: "unset", raw: undefined, expected: undefined },
    { name: "blank", raw: " ", expected: undefined },
    { name: "a decimal seed", raw: "20261121", expected: 20261121 },
    { name: "not a number", raw: "abc", expected: "throws" },
    { name: "negative", raw: "-1", expected: "throws" },
    { name: "over 32 bits", raw: "4294967296", expected: "throws" },
  ];
  for (const { name, raw, expected } of seedCases) {
    it(`parses SQLAG_CHAOS_SEED: ${name}`, () => {
      if (expected === "throws") expect(() => parseChaosSeed(raw)).to.throw(RangeError);
      else expect(parseChaosSeed(raw)).to.equal(expected);
    });
  }

  it("the PRNG is deterministic and in [0, 1)", () => {
    const a = seededRandom(7);
    const b = seededRandom(7);
    for (let i = 0; i < 1000; i++) {
      const value = a();
      expect(value).to.equal(b());
      expect(value).to.be.at.least(0).and.below(1);
    }
  });

  it("chooses a secondary by pick among the names sorted", () => {
    expect(chooseSecondary(["mssql-ag-2", "mssql-ag-0"], 0.1)).to.equal("mssql-ag-0");
    expect(chooseSecondary(["mssql-ag-2", "mssql-ag-0"], 0.9)).to.equal("mssql-ag-2");
    expect(chooseSecondary(["mssql-ag-1"], 0.9)).to.equal("mssql-ag-1");
    expect(() => chooseSecondary([], 0.5)).to.throw(RangeError);
  });
});
