/**
 * Controller failover @disruptive: two controller replicas (two processes of packages/controller/dist/main.js,
 * each authenticated as the installed sqlag-controller ServiceAccount) compete for the Lease
 * sqlag-system/sqlag-controller. Exactly one leads and reconciles; after the leader is killed (SIGKILL: no Lease
 * release) the other takes over once the Lease expires and keeps reconciling — a CR applied after the crash gets
 * its StatefulSet. A graceful stop (SIGTERM) releases the Lease at once.
 *
 * Processes rather than the Deployment's pods: the controller listens on 0.0.0.0:<SQLAG_HTTP_PORT>, so two
 * replicas on the fake kubelet's shared host network collide on port 8080 (see the install spec); as processes
 * each gets its own port.
 */
import { expect } from "chai";
import { CoordinationV1Api, type V1Lease } from "@kubernetes/client-node";
import { apiStatus, eventually } from "../cluster/namespaces.js";
import { startControllerProcess, type ControllerProcess } from "../support/controller-process.js";
import { controllerLeaseName, ensureSqlagInstalled, sqlagSystemNamespace } from "../support/install.js";
import { applyObject } from "../support/manifests.js";
import { applySamplePasswordSecret, compatibilityAg, waitForStatefulSet } from "../support/sqlag-fixtures.js";
import { useSpecFixture } from "../support/spec-fixture.js";
import { note, reportSpecWallTime, step } from "../support/step.js";

const timing = { leaseDurationSeconds: 6, renewDeadlineSeconds: 4, retryPeriodSeconds: 1 };
/** Take-over bound: the Lease must expire (leaseDuration) and the standby retry; the margin absorbs a loaded machine. */
const takeoverBoundMs = (timing.leaseDurationSeconds + 30) * 1000;

describe("controller failover between two replicas @disruptive", function () {
  reportSpecWallTime("controller-failover");
  const fixture = useSpecFixture("controller-failover");
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
});
