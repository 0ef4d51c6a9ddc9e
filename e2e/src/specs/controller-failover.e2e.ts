/**
 * Controller failover @disruptive: two controller replicas compete for the Lease sqlag-system/sqlag-controller.
 * Exactly one leads and reconciles; after the leader is killed (SIGKILL: no Lease release) the other takes over
 * once the Lease expires and keeps reconciling — a CR applied after the crash gets its StatefulSet.
 *
 * Twice: as two processes of packages/controller/dist/main.js (authenticated as the installed ServiceAccount,
 * with a short Lease, scoped to the spec namespace; also checks the is_leader gauge, that the standby reconciles
 * nothing, and that a graceful stop releases the Lease), and as the installed Deployment's two pods on the fake
 * kubelet with the manifest's own timing, the leader's node killed (its processes die without a Lease release;
 * crashing only the container would not do: the restarted process has the same identity, the pod name, and
 * simply resumes the Lease).
 */
import { expect } from "chai";
import { CoordinationV1Api, type V1Lease } from "@kubernetes/client-node";
import { apiStatus, eventually } from "../cluster/namespaces.js";
import { startControllerProcess, type ControllerProcess } from "../support/controller-process.js";
import {
  controllerLeaseName,
  ensureSqlagInstalled,
  scaleControllerDeployment,
  sqlagSystemNamespace,
  stopControllerDeployment,
  waitForControllerPodsReady,
} from "../support/install.js";
import { applyObject } from "../support/manifests.js";
import { applySamplePasswordSecret, compatibilityAg, waitForStatefulSet } from "../support/sqlag-fixtures.js";
import { useSpecFixture } from "../support/spec-fixture.js";
import { note, reportSpecWallTime, step } from "../support/step.js";

const timing = { leaseDurationSeconds: 6, renewDeadlineSeconds: 4, retryPeriodSeconds: 1 };
/** Take-over bound: the Lease must expire (leaseDuration) and the standby retry; the margin absorbs a loaded machine. */
const takeoverBoundMs = (timing.leaseDurationSeconds + 30) * 1000;

describe("controller failover between two replicas @disruptive", function () {
  reportSpecWallTime("controller-failover");
  const fixture = useSpecFixture("controller-failover", {
    kubelet: true,
    extraKubeletNamespaces: [sqlagSystemNamespace],
    beforeTeardown: () => stopControllerDeployment(fixture.kc),
  });
  const replicas: ControllerProcess[] = [];

  const readLease = async (): Promise<V1Lease | undefined> => {
    try {
      return await fixture.kc.makeApiClient(CoordinationV1Api).readNamespacedLease({ name: controllerLeaseName, namespace: sqlagSystemNamespace });
    } catch (error) {
      if (apiStatus(error) === 404) return undefined;
      throw error;
    }
  };
  const holder = async (): Promise<string | undefined> => {
    const identity = (await readLease())?.spec?.holderIdentity;
    return identity === undefined || identity === "" ? undefined : identity;
  };
  const byIdentity = (identity: string): ControllerProcess => {
    const replica = replicas.find((candidate) => candidate.identity === identity);
    if (replica === undefined) throw new Error(`Lease held by "${identity}", which is not one of this spec's replicas`);
    return replica;
  };

  before(async function () {
    await step("install sqlag", () => ensureSqlagInstalled(fixture.kc));
    await step("SA password Secret", () => applySamplePasswordSecret(fixture.kc, fixture.namespace));
    // The installed Deployment's pods would compete for the same Lease: the process test runs without them.
    await step("the installed controller Deployment scaled to 0", () => stopControllerDeployment(fixture.kc));
    for (const identity of ["controller-a", "controller-b"]) {
      replicas.push(
        await startControllerProcess({ controlPlane: fixture.controlPlane, identity, workDir: `${fixture.workDir}/controllers`, watchNamespaces: [fixture.namespace], ...timing }),
      );
    }
  });

  after(async function () {
    await Promise.all(replicas.map((replica) => replica.stop()));
    for (const replica of replicas) note(`${replica.identity} log: ${replica.logPath}`);
  });

  it("exactly one replica leads, it reconciles a CR, the other takes over after the leader is killed, and keeps reconciling", async function () {
    // A previous holder (e.g. the install spec's pods) may still hold the Lease until it expires.
    const first = await step("one of the two replicas acquires the Lease", () =>
      eventually("Lease held by controller-a or controller-b", async () => {
        const identity = await holder();
        return identity === "controller-a" || identity === "controller-b" ? identity : undefined;
      }, { timeoutMs: 120_000 }),
    );
    note(`first leader: ${first}`);
    await step("leadership stays with one replica over several retry periods (Lease and sqlag_controller_is_leader agree)", async () => {
      for (let i = 0; i < 4; i++) {
        await new Promise((resolve) => setTimeout(resolve, timing.retryPeriodSeconds * 1000));
        expect(await holder()).to.equal(first);
        for (const replica of replicas) replica.child.assertRunning();
      }
      const leaderGauges = await Promise.all(replicas.map(async (replica) => [replica.identity, await replica.metric("sqlag_controller_is_leader")] as const));
      expect(Object.fromEntries(leaderGauges)).to.deep.equal({ "controller-a": first === "controller-a" ? 1 : 0, "controller-b": first === "controller-b" ? 1 : 0 });
    });

    await step("the leader reconciles CR mssql-ag into its StatefulSet", async () => {
      await applyObject(fixture.kc, compatibilityAg(fixture.namespace));
      await waitForStatefulSet(fixture.kc, fixture.namespace, "mssql-ag");
    });

    const leader = byIdentity(first);
    const standby = replicas.find((replica) => replica !== leader);
    if (standby === undefined) throw new Error("no standby");
    expect(await standby.metric("sqlag_controller_reconcile_total") ?? 0, "the standby reconciles nothing while it does not lead").to.equal(0);
    const transitionsBefore = (await readLease())?.spec?.leaseTransitions ?? 0;
    const killedAtMs = performance.now();
    await step(`kill the leader ${leader.identity} (SIGKILL, no Lease release)`, () => leader.kill());
    const takeoverMs = await step(`${standby.identity} takes over`, async () => {
      await eventually(`Lease held by ${standby.identity}`, async () => ((await holder()) === standby.identity ? true : undefined), { timeoutMs: takeoverBoundMs + 30_000 });
      return performance.now() - killedAtMs;
    });
    note(`take-over after ${Math.round(takeoverMs)} ms (leaseDuration ${timing.leaseDurationSeconds} s)`);
    expect(takeoverMs, "take-over within leaseDuration + margin").to.be.at.most(takeoverBoundMs);
    expect((await readLease())?.spec?.leaseTransitions ?? 0).to.be.greaterThan(transitionsBefore);

    await step(`${standby.identity} reports sqlag_controller_is_leader 1`, () =>
      eventually("is_leader gauge of the new leader", async () => ((await standby.metric("sqlag_controller_is_leader")) === 1 ? true : undefined), { timeoutMs: 30_000 }),
    );
    await step("the new leader reconciles a CR applied after the crash", async () => {
      await applyObject(fixture.kc, compatibilityAg(fixture.namespace, "second-ag"));
      await waitForStatefulSet(fixture.kc, fixture.namespace, "second-ag");
    });

    await step(`a graceful stop of ${standby.identity} releases the Lease`, async () => {
      await standby.stop();
      expect(standby.child.exitedWith).to.equal("exit code 0");
      const lease = await readLease();
      expect(lease?.spec?.holderIdentity ?? "", "holder after release").to.equal("");
    });
  });
  it("the Deployment's two pods: the leader's node dies, the other pod takes over and reconciles", async function () {
    await scaleControllerDeployment(fixture.kc, 2);
    const pods = await step("2 controller pods Ready", () => waitForControllerPodsReady(fixture.kc, 2));
    const podNames = pods.map((pod) => pod.metadata?.name ?? "");
    const first = await step("one pod holds the Lease", () =>
      eventually("Lease held by a controller pod", async () => {
        const identity = await holder();
        return identity !== undefined && podNames.includes(identity) ? identity : undefined;
      }, { timeoutMs: 120_000 }),
    );
    const leaseDurationMs = ((await readLease())?.spec?.leaseDurationSeconds ?? 15) * 1000;
    const other = podNames.find((name) => name !== first) ?? "";
    const nodeName = fixture.faults.nodeOf({ namespace: sqlagSystemNamespace, name: first });
    note(`leader pod: ${first} on ${nodeName}; standby pod: ${other}; leaseDuration ${leaseDurationMs / 1000} s`);
    const killedAtMs = performance.now();
    await step(`kill node ${nodeName} (the leader's processes die, no Lease release)`, () => fixture.faults.killNode(nodeName));
    await step(`${other} takes over after the Lease expires`, () =>
      eventually(`Lease held by ${other}`, async () => ((await holder()) === other ? true : undefined), { timeoutMs: leaseDurationMs + 60_000 }),
    );
    const takeoverMs = performance.now() - killedAtMs;
    note(`take-over after ${Math.round(takeoverMs)} ms`);
    expect(takeoverMs, "take-over within leaseDuration + margin").to.be.at.most(leaseDurationMs + 30_000);
    await step("the new leader reconciles a CR applied after the crash", async () => {
      await applyObject(fixture.kc, compatibilityAg(fixture.namespace, "third-ag"));
      await waitForStatefulSet(fixture.kc, fixture.namespace, "third-ag");
    });
    await step(`revive ${nodeName}: the old leader's pod runs again, as a follower`, async () => {
      await fixture.faults.reviveNode(nodeName);
      // The API still shows the dead pod Ready (no node-lifecycle controller here): ask the kubelet instead.
      await eventually(`${first}'s controller process running again`, async () =>
        fixture.kubelet.pod(sqlagSystemNamespace, first)?.container("controller")?.running === true ? true : undefined,
      );
      await waitForControllerPodsReady(fixture.kc, 2);
    });
    expect(await holder()).to.equal(other);
  });
});
