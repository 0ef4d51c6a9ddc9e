import { expect } from "chai";
import type { AgPodView, AgView } from "./lab.js";
import { diffViews, formatLag, renderStatusTable } from "./view.js";

const pod = (name: string, roleLabel: string, sqlRole: string, ready = true): AgPodView => ({
  pod: name,
  node: `node-${name.slice(-1)}`,
  ready,
  roleLabel,
  sqlRole,
  synchronization: "appdb:SYNCHRONIZED",
  lagKiB: 0,
  lastReason: "lease_renewed",
});

const view = (holder: string, pods: AgPodView[], listener: string[] = []): AgView => ({
  phase: "Running",
  primaryReplica: holder,
  leaseHolder: holder,
  leaseTransitions: 1,
  listenerEndpoints: listener,
  conditions: ["Available=True"],
  pods,
});

describe("playground view", () => {
  it("renders one aligned row per pod under the AG summary", () => {
    const text = renderStatusTable("ag", view("ag-0", [pod("ag-0", "primary", "PRIMARY"), pod("ag-1", "secondary", "SECONDARY")], ["ag-0@198.18.0.1:1433"]));
    const lines = text.split("\n");
    expect(lines[0]).to.equal("AG ag: phase Running, primary ag-0, lease holder ag-0 (epoch 1)");
    expect(lines[1]).to.contain("ag-0@198.18.0.1:1433");
    expect(lines[4]).to.match(/^POD\s+NODE\s+READY\s+ROLE LABEL/);
    expect(lines[5]?.indexOf("node-0")).to.equal(lines[4]?.indexOf("NODE"));
  });

  const diffCases: { name: string; before: AgView | undefined; after: AgView; expected: string[] }[] = [
    { name: "first view", before: undefined, after: view("ag-0", []), expected: ["phase Running, lease holder ag-0"] },
    { name: "nothing changed", before: view("ag-0", [pod("ag-0", "primary", "PRIMARY")]), after: view("ag-0", [pod("ag-0", "primary", "PRIMARY")]), expected: [] },
    {
      name: "failover",
      before: view("ag-0", [pod("ag-0", "primary", "PRIMARY"), pod("ag-1", "secondary", "SECONDARY")]),
      after: view("ag-1", [pod("ag-0", "-", "RESOLVING", false), pod("ag-1", "primary", "PRIMARY")]),
      expected: ["lease holder ag-0 → ag-1 (epoch 1)", "status.primaryReplica ag-0 → ag-1", "ag-0 role label primary → -", "ag-0 SQL role PRIMARY → RESOLVING", "ag-0 not Ready", "ag-1 role label secondary → primary", "ag-1 SQL role SECONDARY → PRIMARY"],
    },
  ];
  for (const c of diffCases) {
    it(`timeline: ${c.name}`, () => {
      expect(diffViews(c.before, c.after)).to.deep.equal(c.expected);
    });
  }

  it("lag is shown in KiB, then MiB", () => {
    expect([formatLag(undefined), formatLag(12), formatLag(2048)]).to.deep.equal(["-", "12 KiB", "2.0 MiB"]);
  });
});
