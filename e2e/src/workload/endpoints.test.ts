import { expect } from "chai";
import type { V1EndpointSlice } from "@kubernetes/client-node";
import { endpointsFromSlices, readyEndpoints, sampleOf } from "./endpoints.js";

function slice(name: string, endpoints: Array<{ ip: string; pod?: string; ready?: boolean }>, ports = [{ name: "tds", port: 1433 }]): V1EndpointSlice {
  return {
    addressType: "IPv4",
    metadata: { name },
    ports,
    endpoints: endpoints.map((endpoint) => ({
      addresses: [endpoint.ip],
      conditions: endpoint.ready == null ? {} : { ready: endpoint.ready },
      targetRef: endpoint.pod != null ? { kind: "Pod", name: endpoint.pod } : undefined,
    })),
  };
}

describe("endpointsFromSlices", () => {
  it("unions slices, treats unknown readiness as ready, and sorts by pod", () => {
    const endpoints = endpointsFromSlices([slice("s1", [{ ip: "127.0.16.2", pod: "ag-1", ready: false }]), slice("s2", [{ ip: "127.0.16.1", pod: "ag-0" }])]);
    expect(endpoints).to.deep.equal([
      { address: "127.0.16.1", port: 1433, podName: "ag-0", ready: true },
      { address: "127.0.16.2", port: 1433, podName: "ag-1", ready: false },
    ]);
  });
  it("picks the named port and skips slices without it", () => {
    const slices = [slice("s1", [{ ip: "127.0.16.1", pod: "ag-0" }], [{ name: "other", port: 80 }, { name: "tds", port: 1433 }]), slice("s2", [{ ip: "127.0.16.9" }], [{ name: "x", port: 1 }])];
    expect(readyEndpoints(slices, "tds").map((endpoint) => `${endpoint.address}:${endpoint.port}`)).to.deep.equal(["127.0.16.1:1433"]);
  });
  it("deduplicates an address listed twice, preferring the ready copy", () => {
    const slices = [slice("s1", [{ ip: "127.0.16.1", pod: "ag-0", ready: false }]), slice("s2", [{ ip: "127.0.16.1", pod: "ag-0", ready: true }])];
    expect(endpointsFromSlices(slices)).to.have.length(1);
    expect(endpointsFromSlices(slices)[0]?.ready).to.equal(true);
  });
  it("samples ready and listed pods separately", () => {
    const sample = sampleOf([slice("s1", [{ ip: "127.0.16.1", pod: "ag-0" }, { ip: "127.0.16.2", pod: "ag-1", ready: false }])], 42);
    expect(sample).to.deep.equal({ atMs: 42, readyPods: ["ag-0"], listedPods: ["ag-0", "ag-1"] });
  });
});
