import { expect } from "chai";
import { computeFailoverReadiness, type ReadinessReplica } from "./failover-ready.js";

const primary: ReadinessReplica = { name: "p", availabilityMode: "SynchronousCommit", failoverMode: "Automatic", isPrimary: true, healthy: true, synchronized: true };
const secondary = (name: string, over: Partial<ReadinessReplica> = {}): ReadinessReplica => ({
  name,
  availabilityMode: "SynchronousCommit",
  failoverMode: "Automatic",
  isPrimary: false,
  healthy: true,
  synchronized: true,
  ...over,
});
const witness: ReadinessReplica = { name: "w", availabilityMode: "ConfigurationOnly", failoverMode: "Manual", isPrimary: false, healthy: true, synchronized: false };

describe("FailoverReady", () => {
  const cases: { name: string; enabled?: boolean; replicas: ReadinessReplica[]; status: string; reason: string }[] = [
    { name: "three synchronous, all healthy", replicas: [primary, secondary("a"), secondary("b")], status: "True", reason: "Ready" },
    { name: "two synchronous and no witness", replicas: [primary, secondary("a")], status: "False", reason: "TwoSynchronousReplicasWithoutWitness" },
    { name: "two synchronous plus witness", replicas: [primary, secondary("a"), witness], status: "True", reason: "Ready" },
    { name: "automatic failover disabled", enabled: false, replicas: [primary, secondary("a"), secondary("b")], status: "False", reason: "AutomaticFailoverDisabled" },
    { name: "only manual secondaries", replicas: [primary, secondary("a", { failoverMode: "Manual" }), secondary("b", { failoverMode: "Manual" })], status: "False", reason: "NoAutomaticFailoverTarget" },
    { name: "async secondary is no target", replicas: [primary, secondary("a", { availabilityMode: "AsynchronousCommit" }), witness], status: "False", reason: "NoAutomaticFailoverTarget" },
    { name: "no synchronized secondary", replicas: [primary, secondary("a", { synchronized: false }), secondary("b", { synchronized: false })], status: "False", reason: "NoSynchronizedSecondary" },
    { name: "witness down with two synchronous: quorum unavailable", replicas: [primary, secondary("a"), { ...witness, healthy: false }], status: "False", reason: "QuorumNotAvailable" },
    {
      name: "one of three synchronous down: the survivor alone cannot reach ⌊3/2⌋+1 reports",
      replicas: [primary, secondary("a"), secondary("b", { healthy: false })],
      status: "False",
      reason: "QuorumNotAvailable",
    },
    { name: "four synchronous with one down: 2 survivors < ⌊4/2⌋+1", replicas: [primary, secondary("a"), secondary("b"), secondary("c", { healthy: false })], status: "False", reason: "QuorumNotAvailable" },
    {
      name: "five synchronous with one down still ready (3 survivors = ⌊5/2⌋+1)",
      replicas: [primary, secondary("a"), secondary("b"), secondary("c"), secondary("d", { healthy: false })],
      status: "True",
      reason: "Ready",
    },
  ];
  for (const testCase of cases) {
    it(testCase.name, () => {
      const readiness = computeFailoverReadiness({ automaticFailoverEnabled: testCase.enabled ?? true, replicas: testCase.replicas });
      expect(readiness).to.include({ status: testCase.status, reason: testCase.reason });
      expect(readiness.message).to.match(/\.$/);
    });
  }
});
