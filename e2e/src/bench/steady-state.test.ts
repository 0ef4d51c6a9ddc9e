import { expect } from "chai";
import { countAuditRequests } from "./steady-state.js";

describe("bench audit-log request counting", () => {
  const agent = "system:serviceaccount:default:ag-agent";
  const line = (username: string, verb: string, resource: string, subresource?: string) =>
    JSON.stringify({ kind: "Event", stage: "ResponseComplete", user: { username }, verb, objectRef: { resource, ...(subresource !== undefined ? { subresource } : {}) } });

  it("counts only the agents' user and groups by verb and resource", () => {
    const lines = [line(agent, "update", "leases"), line(agent, "update", "leases"), line("admin", "get", "pods"), line(agent, "patch", "sqlserveravailabilitygroups", "status"), "", "not json"];
    expect(countAuditRequests(lines, agent)).to.deep.equal({ total: 3, byVerbResource: { "update leases": 2, "patch sqlserveravailabilitygroups/status": 1 } });
  });

  it("no lines, no requests", () => {
    expect(countAuditRequests([], agent)).to.deep.equal({ total: 0, byVerbResource: {} });
  });
});
