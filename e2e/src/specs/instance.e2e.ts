/**
 * A standalone SQLServerInstance end to end: the sample CR and its SA password Secret are applied, the controller
 * renders the StatefulSet, Services and agent RBAC, the fake kubelet runs mssql-sim and the agent sidecar in
 * standalone mode, the pod turns Ready through the agent's probe, the controller reports Available, and a client
 * resolves the client Service's EndpointSlice to the pod IP and gets an answer to `SELECT 1` over TDS (tedious).
 * One test of named steps: each step needs the previous one, so the first failure ends it with its reason.
 */
import { expect } from "chai";
import { DiscoveryV1Api, type V1Pod } from "@kubernetes/client-node";
import { KIND_INSTANCE, instanceNames } from "@sqlag/api";
import { eventually } from "../cluster/namespaces.js";
import { reachableAddressOf } from "../kubelet/ip-allocator.js";
import { readyEndpoints, listServiceSlices } from "../workload/endpoints.js";
import { useScopedController } from "../support/controller-process.js";
import { conditionOf, SqlagObjects } from "../support/custom-objects.js";
import { ensureSqlagInstalled } from "../support/install.js";
import { applyObject, inNamespace, readManifestFile } from "../support/manifests.js";
import { describePods, diagnosePod, isPodReady } from "../support/pods.js";
import { queryRows } from "../support/sql.js";
import { waitForStatefulSet, applySamplePasswordSecret, samplePassword } from "../support/sqlag-fixtures.js";
import { useSpecFixture } from "../support/spec-fixture.js";
import { note, reportSpecWallTime, step } from "../support/step.js";

describe("SQLServerInstance: from the sample CR to a client query through its Service", function () {
  reportSpecWallTime("instance");
  const fixture = useSpecFixture("instance", {
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

  it("renders, runs, turns Ready and Available, and answers SELECT 1 through the client Service", async function () {
    const [sample] = readManifestFile("manifests/samples/instance.yaml");
    if (sample === undefined) throw new Error("manifests/samples/instance.yaml is empty");
    const crName = sample.metadata?.name ?? "";
    const podName = instanceNames.pod(crName);

    await step("apply the SA password Secret and manifests/samples/instance.yaml", async () => {
      await applySamplePasswordSecret(fixture.kc, fixture.namespace);
      await applyObject(fixture.kc, inNamespace(sample, fixture.namespace));
    });
    await step(`the controller renders StatefulSet ${instanceNames.statefulSet(crName)}`, () => waitForStatefulSet(fixture.kc, fixture.namespace, instanceNames.statefulSet(crName)));

    const pod = await step(`pod ${podName} runs mssql-sim and the standalone agent and turns Ready`, () =>
      eventually(`pod ${podName} Ready`, async () => {
        const candidate: V1Pod = await fixture.core.readNamespacedPod({ name: podName, namespace: fixture.namespace });
        return isPodReady(candidate) ? candidate : undefined;
      }, { timeoutMs: 120_000 }).catch(async (error: unknown) => {
        throw new Error(`${error instanceof Error ? error.message : String(error)}\n${await diagnosePod(fixture.core, fixture.kubelet, fixture.namespace, podName)}`, { cause: error });
      }),
    );
    // Published as the 198.18.X.Y twin of the 127.0.X.Y address the processes bind (EndpointSlices refuse loopback).
    expect(reachableAddressOf(pod.status?.podIP ?? "")).to.match(/^127\.0\.\d+\.\d+$/);
    const containers = [...(pod.status?.initContainerStatuses ?? []), ...(pod.status?.containerStatuses ?? [])];
    expect(containers.map((status) => status.name)).to.include.members(["mssql", "sqlag-agent"]);

    const objects = new SqlagObjects(fixture.kc);
    const available = await step("the controller reports condition Available=True", () =>
      eventually("Available=True on the SQLServerInstance", async () => {
        const condition = conditionOf(await objects.read(fixture.namespace, KIND_INSTANCE, crName), "Available");
        return condition?.status === "True" ? condition : undefined;
      }, { timeoutMs: 90_000 }),
    );
    note(`Available: ${available.reason ?? ""} ${available.message ?? ""}`);

    const serviceName = instanceNames.clientService(crName);
    const discovery = fixture.kc.makeApiClient(DiscoveryV1Api);
    const [endpoint] = await step(`a ready endpoint behind the client Service ${serviceName}`, () =>
      eventually(`a ready endpoint behind ${serviceName}`, async () => {
        const ready = readyEndpoints(await listServiceSlices(discovery, fixture.namespace, serviceName));
        return ready.length > 0 ? ready : undefined;
      }),
    );
    if (endpoint === undefined) throw new Error("no endpoint");
    expect(endpoint.address, "the endpoint is the pod IP").to.equal(pod.status?.podIP);
    const address = reachableAddressOf(endpoint.address);
    const rows = await step(`SELECT 1 on ${address}:${endpoint.port} (endpoint ${endpoint.address}; tedious, encrypted)`, () =>
      queryRows({ address, port: endpoint.port, userName: "sa", password: samplePassword() }, "SELECT 1 AS one"),
    );
    expect(rows).to.deep.equal([[1]]);
  });
});
