import { expect } from "chai";
import { noPrecondition, primaryLossPrecondition, secondaryCrashPrecondition } from "./schedule.js";
import { judgeSettled, labelledPrimary, type AgObservation, type PodObservation } from "./settle.js";

const primary: PodObservation = { name: "ag-0", roleLabel: "primary", agent: { role: "PRIMARY", databaseSynchronized: true }, writable: true };
const synced = (name: string): PodObservation => ({ name, roleLabel: "secondary", agent: { role: "SECONDARY", databaseSynchronized: true }, writable: undefined });
const lagging = (name: string): PodObservation => ({ name, roleLabel: "secondary", agent: { role: "SECONDARY", databaseSynchronized: false }, writable: undefined });
const down = (name: string): PodObservation => ({ name, roleLabel: "secondary", agent: { role: "UNKNOWN", databaseSynchronized: false }, writable: undefined });
const view = (pods: PodObservation[], listenerPods = ["ag-0"]): AgObservation => ({ expectedPods: 3, pods, listenerPods });

const baseline = noPrecondition;
const primaryLoss = primaryLossPrecondition;

describe("chaos settle judgement", () => {
  const cases: { name: string; observation: AgObservation; precondition: typeof baseline; waitingFor: RegExp | undefined }[] = [
    { name: "healthy AG", observation: view([primary, synced("ag-1"), synced("ag-2")]), precondition: { synchronizedSecondaries: 2, everySecondaryJoined: true, spareSynchronizedSecondary: true }, waitingFor: undefined },
    { name: "a pod missing (being re-created)", observation: view([primary, synced("ag-1")]), precondition: baseline, waitingFor: /3 pods/ },
    { name: "an agent not answering", observation: view([primary, synced("ag-1"), { ...synced("ag-2"), agent: undefined }]), precondition: baseline, waitingFor: /agents of ag-2/ },
    { name: "no primary label", observation: view([{ ...primary, roleLabel: "resolving" }, synced("ag-1"), synced("ag-2")]), precondition: baseline, waitingFor: /exactly one pod labelled primary \(have none\)/ },
    { name: "two primary labels", observation: view([primary, { ...synced("ag-1"), roleLabel: "primary" }, synced("ag-2")]), precondition: baseline, waitingFor: /have ag-0, ag-1/ },
    { name: "label ahead of the agent", observation: view([{ ...primary, agent: { role: "RESOLVING", databaseSynchronized: false } }, synced("ag-1"), synced("ag-2")]), precondition: baseline, waitingFor: /report PRIMARY/ },
    { name: "primary not writable (lease lapsed)", observation: view([{ ...primary, writable: false }, synced("ag-1"), synced("ag-2")]), precondition: baseline, waitingFor: /accept writes/ },
    { name: "listener still on the old primary", observation: view([primary, synced("ag-1"), synced("ag-2")], ["ag-1"]), precondition: baseline, waitingFor: /listener to point at ag-0/ },
    { name: "listener on two pods", observation: view([primary, synced("ag-1"), synced("ag-2")], ["ag-0", "ag-1"]), precondition: baseline, waitingFor: /listener/ },
    { name: "baseline met with a secondary still down", observation: view([primary, lagging("ag-1"), down("ag-2")]), precondition: baseline, waitingFor: undefined },
    { name: "primary loss needs a SYNCHRONIZED partner", observation: view([primary, lagging("ag-1"), lagging("ag-2")]), precondition: primaryLoss, waitingFor: /1 SYNCHRONIZED secondaries/ },
    { name: "primary loss needs both secondaries joined", observation: view([primary, synced("ag-1"), down("ag-2")]), precondition: primaryLoss, waitingFor: /ag-2 to rejoin/ },
    { name: "primary loss with one synchronized and one lagging is settled enough", observation: view([primary, synced("ag-1"), lagging("ag-2")]), precondition: primaryLoss, waitingFor: undefined },
  ];
  for (const { name, observation, precondition, waitingFor } of cases) {
    it(name, () => {
      const verdict = judgeSettled(observation, precondition);
      if (waitingFor === undefined) {
        expect(verdict.settled, JSON.stringify(verdict)).to.equal(true);
        if (verdict.settled) expect(verdict.primary).to.equal("ag-0");
      } else {
        expect(verdict.settled).to.equal(false);
        if (!verdict.settled) expect(verdict.waitingFor).to.match(waitingFor);
      }
    });
  }

  const spareCases: { name: string; pods: PodObservation[]; target: string | undefined; settled: boolean }[] = [
    { name: "crash ag-1 with ag-2 SYNCHRONIZED", pods: [primary, lagging("ag-1"), synced("ag-2")], target: "ag-1", settled: true },
    { name: "crash ag-2 with only ag-2 SYNCHRONIZED", pods: [primary, lagging("ag-1"), synced("ag-2")], target: "ag-2", settled: false },
    { name: "crash ag-2 with ag-2 down and ag-1 lagging", pods: [primary, lagging("ag-1"), down("ag-2")], target: "ag-2", settled: false },
  ];
  for (const { name, pods, target, settled } of spareCases) {
    it(`spare synchronized partner: ${name}`, () => {
      const verdict = judgeSettled(view(pods), secondaryCrashPrecondition, (secondaries) => (target !== undefined && secondaries.includes(target) ? target : undefined));
      expect(verdict.settled, JSON.stringify(verdict)).to.equal(settled);
    });
  }

  it("names the single labelled primary only", () => {
    expect(labelledPrimary([primary, synced("ag-1")])).to.equal("ag-0");
    expect(labelledPrimary([synced("ag-1")])).to.equal(undefined);
    expect(labelledPrimary([primary, { ...primary, name: "ag-1" }])).to.equal(undefined);
  });
});
