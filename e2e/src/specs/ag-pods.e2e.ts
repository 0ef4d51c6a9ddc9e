/**
 * The compatibility AG (issue 2's manifest) on the fake kubelet: the controller renders a StatefulSet whose three
 * pods are scheduled onto different fake nodes (preferred anti-affinity), get pod IPs (published as 198.18.X.Y,
 * bound at 127.0.X.Y), and run their containers — the agent as a native sidecar started before mssql-sim.
 * AG bootstrap is the agent issue's to assert; this spec only prints what each agent reports on /v1/status.
 */
import { readFileSync } from "node:fs";
import { expect } from "chai";
import { AppsV1Api, type V1Pod } from "@kubernetes/client-node";
import { agNames, CONTAINER_AGENT, CONTAINER_MSSQL } from "@sqlag/api";
import { eventually } from "../cluster/namespaces.js";
import { reachableAddressOf } from "../kubelet/ip-allocator.js";
import { useScopedController } from "../support/controller-process.js";
import { ensureSqlagInstalled } from "../support/install.js";
import { applyObject } from "../support/manifests.js";
import { diagnosePod, describePods } from "../support/pods.js";
import { applySamplePasswordSecret, compatibilityAg, waitForStatefulSet } from "../support/sqlag-fixtures.js";
import { useSpecFixture } from "../support/spec-fixture.js";
import { note, reportSpecWallTime, step } from "../support/step.js";

const crName = "mssql-ag";
const replicaCount = 3;

/** Start times from the kubelet's per-start header lines (`--- fake-kubelet: starting … <ISO time>`), oldest first. */
function startTimesMs(logPath: string): number[] {
  let text: string;
  try {
    text = readFileSync(logPath, "utf8");
  } catch {
    return [];
  }
  return [...text.matchAll(/^--- fake-kubelet: starting .*?(\d{4}-\d\d-\d\dT[\d:.]+Z)\s*$/gm)].map((match) => Date.parse(match[1] ?? ""));
}

describe("AG pods: the compatibility AG's StatefulSet runs on the fake kubelet", function () {
  reportSpecWallTime("ag-pods");
  const fixture = useSpecFixture("ag-pods", {
    kubelet: true,
    beforeTeardown: async () => note(`pods at the end:\n${await describePods(fixture.core, fixture.namespace)}`),
  });
  before(async function () {
    await step("install sqlag", () => ensureSqlagInstalled(fixture.kc));
  });
  const controller = useScopedController(fixture);

  after(function () {
    note(`controller log: ${controller.current().logPath}; pod logs: ${fixture.workDir}/kubelet/pods/`);
  });

  it("3 pods on 3 nodes with pod IPs, each running the agent sidecar first and then mssql-sim", async function () {
    const podNames = Array.from({ length: replicaCount }, (_, ordinal) => agNames.pod(crName, ordinal));
    await step("apply the SA password Secret and the compatibility AG", async () => {
      await applySamplePasswordSecret(fixture.kc, fixture.namespace);
      await applyObject(fixture.kc, compatibilityAg(fixture.namespace));
    });

    const statefulSet = await step(`the controller renders StatefulSet ${agNames.statefulSet(crName)}`, () => waitForStatefulSet(fixture.kc, fixture.namespace, agNames.statefulSet(crName)));
    expect(statefulSet.spec?.replicas).to.equal(replicaCount);
    expect(statefulSet.spec?.podManagementPolicy).to.equal("Parallel");
    const template = statefulSet.spec?.template.spec;
    const sidecar = template?.initContainers?.find((container) => container.name === CONTAINER_AGENT);
    expect(sidecar?.restartPolicy, "the agent is a native sidecar").to.equal("Always");
    expect(template?.containers.map((container) => container.name)).to.include(CONTAINER_MSSQL);

    const pods = await step(`${replicaCount} pods bound to ${replicaCount} different nodes`, () =>
      eventually("all pods bound", async () => {
        const items = (await fixture.core.listNamespacedPod({ namespace: fixture.namespace, labelSelector: Object.entries(statefulSet.spec?.selector.matchLabels ?? {}).map(([key, value]) => `${key}=${value}`).join(",") })).items;
        const bound = items.filter((pod) => pod.spec?.nodeName !== undefined && pod.spec.nodeName !== "");
        return bound.length === replicaCount ? bound : undefined;
      }),
    );
    expect(pods.map((pod) => pod.metadata?.name).sort()).to.deep.equal(podNames);
    expect(new Set(pods.map((pod) => pod.spec?.nodeName)).size, "one pod per node").to.equal(replicaCount);
    note(`placement: ${pods.map((pod) => `${pod.metadata?.name ?? ""}→${pod.spec?.nodeName ?? ""}`).join(", ")}`);

    const withIps: V1Pod[] = [];
    for (const name of podNames) {
      withIps.push(
        await step(`${name} gets a pod IP and runs both containers`, () =>
          eventually(`${name}: podIP and both containers running`, async () => {
            const pod = await fixture.core.readNamespacedPod({ name, namespace: fixture.namespace });
            const handle = fixture.kubelet.pod(fixture.namespace, name);
            const running = new Set(handle?.containers.filter((container) => container.running).map((container) => container.name));
            return pod.status?.podIP !== undefined && running.has(CONTAINER_AGENT) && running.has(CONTAINER_MSSQL) ? pod : undefined;
          }, { timeoutMs: 120_000 }).catch(async (error: unknown) => {
            throw new Error(`${error instanceof Error ? error.message : String(error)}\n${await diagnosePod(fixture.core, fixture.kubelet, fixture.namespace, name)}`, { cause: error });
          }),
        ),
      );
    }
    const reachable = withIps.map((pod) => reachableAddressOf(pod.status?.podIP ?? ""));
    for (const address of reachable) expect(address).to.match(/^127\.0\.\d+\.\d+$/);
    expect(new Set(reachable).size, "distinct pod IPs").to.equal(replicaCount);

    for (const name of podNames) {
      const handle = fixture.kubelet.pod(fixture.namespace, name);
      const agentStarts = startTimesMs(handle?.container(CONTAINER_AGENT)?.logPath ?? "");
      const mssqlStarts = startTimesMs(handle?.container(CONTAINER_MSSQL)?.logPath ?? "");
      expect(agentStarts.length, `${name}: agent start recorded`).to.be.greaterThan(0);
      expect(mssqlStarts.length, `${name}: mssql start recorded`).to.be.greaterThan(0);
      expect(agentStarts[0] ?? Infinity, `${name}: the sidecar starts before SQL Server`).to.be.at.most(mssqlStarts[0] ?? -Infinity);
    }

    // For the lead: what the agents say about themselves (bootstrap is asserted in the agent issue's specs). Give
    // them a moment to reach their local SQL Server and the Lease first; nothing here is asserted.
    const statusUrls = withIps.map((pod) => {
      const agentPort = pod.spec?.initContainers?.find((container) => container.name === CONTAINER_AGENT)?.ports?.[0]?.containerPort ?? 8080;
      return { pod: pod.metadata?.name ?? "", url: `http://${reachableAddressOf(pod.status?.podIP ?? "")}:${agentPort}/v1/status` };
    });
    const readStatus = async (url: string): Promise<string> => {
      try {
        const response = await fetch(url, { signal: AbortSignal.timeout(3_000) });
        return `HTTP ${response.status}: ${(await response.text()).slice(0, 1500)}`;
      } catch (error) {
        return error instanceof Error ? error.message : String(error);
      }
    };
    await eventually("agents report a role", async () => {
      const bodies = await Promise.all(statusUrls.map(({ url }) => readStatus(url)));
      return bodies.every((body) => body.includes('"role":') && !body.includes('"role":"UNKNOWN"')) ? true : undefined;
    }, { timeoutMs: 20_000 }).catch(() => note("not every agent reported a role within 20 s"));
    for (const { pod, url } of statusUrls) note(`${pod} ${url} → ${await readStatus(url)}`);
    const apps = fixture.kc.makeApiClient(AppsV1Api);
    const current = await apps.readNamespacedStatefulSet({ name: agNames.statefulSet(crName), namespace: fixture.namespace });
    note(`StatefulSet status: replicas=${current.status?.replicas ?? 0} ready=${current.status?.readyReplicas ?? 0}`);
  });
});
