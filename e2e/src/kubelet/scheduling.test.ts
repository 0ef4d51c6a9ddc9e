import { expect } from "chai";
import type { V1Pod } from "@kubernetes/client-node";
import { choosePlacement, toleratesTaint, type PlacedPod, type SchedulableNode } from "./scheduling.js";

function node(name: string, extra: Partial<SchedulableNode> = {}): SchedulableNode {
  return { name, labels: { "kubernetes.io/hostname": name, ...extra.labels }, taints: extra.taints ?? [], ready: extra.ready ?? true };
}

const threeNodes = [node("node-a"), node("node-b"), node("node-c")];

function agPod(spec: V1Pod["spec"] = { containers: [] }): V1Pod {
  return { metadata: { name: "ag-1", namespace: "ns", labels: { app: "ag" } }, spec };
}

const spreadAg: V1Pod["spec"] = {
  containers: [],
  affinity: {
    podAntiAffinity: {
      preferredDuringSchedulingIgnoredDuringExecution: [
        { weight: 100, podAffinityTerm: { topologyKey: "kubernetes.io/hostname", labelSelector: { matchLabels: { app: "ag" } } } },
      ],
    },
  },
};

describe("choosePlacement", () => {
  const cases: Array<{ name: string; pod: V1Pod; nodes: SchedulableNode[]; placed: PlacedPod[]; expected: string | RegExp }> = [
    { name: "empty cluster picks the first node by name", pod: agPod(), nodes: threeNodes, placed: [], expected: "node-a" },
    {
      name: "preferred anti-affinity avoids nodes that already run a matching pod",
      pod: agPod(spreadAg),
      nodes: threeNodes,
      placed: [
        { namespace: "ns", nodeName: "node-a", labels: { app: "ag" } },
        { namespace: "ns", nodeName: "node-b", labels: { app: "ag" } },
      ],
      expected: "node-c",
    },
    {
      name: "anti-affinity ignores matching pods of other namespaces; load breaks the tie",
      pod: agPod(spreadAg),
      nodes: threeNodes,
      placed: [
        { namespace: "other", nodeName: "node-a", labels: { app: "ag" } },
        { namespace: "ns", nodeName: "node-b", labels: { app: "ag" } },
      ],
      expected: "node-c",
    },
    {
      name: "preferred anti-affinity still places when every node has a match",
      pod: agPod(spreadAg),
      nodes: threeNodes,
      placed: [
        { namespace: "ns", nodeName: "node-a", labels: { app: "ag" } },
        { namespace: "ns", nodeName: "node-b", labels: { app: "ag" } },
        { namespace: "ns", nodeName: "node-c", labels: { app: "ag" } },
        { namespace: "ns", nodeName: "node-a", labels: { app: "web" } },
      ],
      expected: "node-b",
    },
    {
      name: "nodeSelector filters",
      pod: agPod({ containers: [], nodeSelector: { zone: "z2" } }),
      nodes: [node("node-a", { labels: { zone: "z1" } }), node("node-b", { labels: { zone: "z2" } })],
      placed: [],
      expected: "node-b",
    },
    {
      name: "untolerated NoSchedule taint filters",
      pod: agPod(),
      nodes: [node("node-a", { taints: [{ key: "dedicated", value: "db", effect: "NoSchedule" }] }), node("node-b")],
      placed: [],
      expected: "node-b",
    },
    {
      name: "tolerated taint allows the node",
      pod: agPod({ containers: [], tolerations: [{ key: "dedicated", operator: "Equal", value: "db", effect: "NoSchedule" }], nodeSelector: { role: "db" } }),
      nodes: [node("node-a", { labels: { role: "db" }, taints: [{ key: "dedicated", value: "db", effect: "NoSchedule" }] }), node("node-b")],
      placed: [],
      expected: "node-a",
    },
    {
      name: "PreferNoSchedule taint does not filter",
      pod: agPod(),
      nodes: [node("node-a", { taints: [{ key: "x", effect: "PreferNoSchedule" }] })],
      placed: [],
      expected: "node-a",
    },
    { name: "not-ready nodes are skipped", pod: agPod(), nodes: [node("node-a", { ready: false }), node("node-b")], placed: [], expected: "node-b" },
    {
      name: "no feasible node explains every node",
      pod: agPod({ containers: [], nodeSelector: { zone: "nowhere" } }),
      nodes: threeNodes,
      placed: [],
      expected: /0\/3 nodes are available: node-a: node does not match nodeSelector zone=nowhere/,
    },
    {
      name: "required pod anti-affinity filters",
      pod: agPod({
        containers: [],
        affinity: { podAntiAffinity: { requiredDuringSchedulingIgnoredDuringExecution: [{ topologyKey: "kubernetes.io/hostname", labelSelector: { matchLabels: { app: "ag" } } }] } },
      }),
      nodes: [node("node-a"), node("node-b")],
      placed: [{ namespace: "ns", nodeName: "node-a", labels: { app: "ag" } }],
      expected: "node-b",
    },
    {
      name: "required node affinity with matchExpressions",
      pod: agPod({
        containers: [],
        affinity: { nodeAffinity: { requiredDuringSchedulingIgnoredDuringExecution: { nodeSelectorTerms: [{ matchExpressions: [{ key: "kubernetes.io/hostname", operator: "In", values: ["node-c"] }] }] } } },
      }),
      nodes: threeNodes,
      placed: [],
      expected: "node-c",
    },
  ];
  for (const testCase of cases) {
    it(testCase.name, () => {
      const decision = choosePlacement(testCase.pod, testCase.nodes, testCase.placed);
      if (typeof testCase.expected === "string") {
        expect(decision).to.include({ kind: "bind", nodeName: testCase.expected });
      } else {
        expect(decision.kind).to.equal("unschedulable");
        expect(decision.kind === "unschedulable" ? decision.message : "").to.match(testCase.expected);
      }
    });
  }
});

describe("toleratesTaint", () => {
  const taint = { key: "k", value: "v", effect: "NoSchedule" };
  const cases = [
    { name: "Exists without key tolerates everything", tolerations: [{ operator: "Exists" }], expected: true },
    { name: "Equal with matching value", tolerations: [{ key: "k", value: "v" }], expected: true },
    { name: "Equal with other value", tolerations: [{ key: "k", value: "w" }], expected: false },
    { name: "other effect", tolerations: [{ key: "k", operator: "Exists", effect: "NoExecute" }], expected: false },
    { name: "none", tolerations: [], expected: false },
  ];
  for (const testCase of cases) {
    it(testCase.name, () => expect(toleratesTaint(testCase.tolerations, taint)).to.equal(testCase.expected));
  }
});
