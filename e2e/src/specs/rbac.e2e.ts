/**
 * The agent's RBAC as the controller renders it for a real AG (ARCHITECTURE §3), checked by the apiserver's own
 * authorizer with SubjectAccessReviews for `system:serviceaccount:<ns>:<ag>-agent`: allowed exactly what §3 lists
 * and what the agent's watches need, denied everything else. A list or watch with the field selector
 * `metadata.name=<name>` is authorised as a request for that one name, so those rows carry the name; the same
 * watches are then also made for real with a token of the agent's ServiceAccount. The `<ag>-hadr` Secret is read
 * with GET only (the agent polls it), so that the controller never needs to list Secrets: listing it, even by name,
 * is denied.
 */
import { expect } from "chai";
import {
  AuthorizationV1Api,
  CoordinationV1Api,
  CoreV1Api,
  CustomObjectsApi,
  RbacAuthorizationV1Api,
  type V1ResourceAttributes,
  type V1Role,
} from "@kubernetes/client-node";
import { API_GROUP, API_VERSION, agNames, PLURAL_AVAILABILITY_GROUPS } from "@sqlag/api";
import { compatibilityManifest } from "@sqlag/api/schema/fixtures";
import { apiStatus, eventually } from "../cluster/namespaces.js";
import { useScopedController } from "../support/controller-process.js";
import { ensureSqlagInstalled } from "../support/install.js";
import { applyObject, inNamespace, readManifestFile } from "../support/manifests.js";
import { useSpecFixture } from "../support/spec-fixture.js";
import { note, reportSpecWallTime, step } from "../support/step.js";

const crName = "mssql-ag";
const saPasswordSecret = "mssql-ag-secret";

interface AccessRow {
  readonly name: string;
  readonly allowed: boolean;
  /** Namespace defaults to the spec namespace; null means cluster-scoped. */
  readonly attributes: Omit<V1ResourceAttributes, "namespace"> & { namespace?: string | null };
}

const group = { core: "", coordination: "coordination.k8s.io", sqlag: API_GROUP, events: "events.k8s.io" };
const lease = agNames.lease(crName);
const hadr = agNames.hadrSecret(crName);
const pods = [0, 1, 2].map((ordinal) => agNames.pod(crName, ordinal));

const accessTable: readonly AccessRow[] = [
  // --- allowed: ARCHITECTURE §3 -------------------------------------------------------------------------------
  { name: "get its Lease", allowed: true, attributes: { verb: "get", group: group.coordination, resource: "leases", name: lease } },
  { name: "list its Lease by metadata.name field selector (informer list)", allowed: true, attributes: { verb: "list", group: group.coordination, resource: "leases", name: lease } },
  { name: "watch its Lease by metadata.name field selector", allowed: true, attributes: { verb: "watch", group: group.coordination, resource: "leases", name: lease } },
  { name: "update its Lease", allowed: true, attributes: { verb: "update", group: group.coordination, resource: "leases", name: lease } },
  ...pods.map((pod) => ({ name: `patch AG pod ${pod} (role labels)`, allowed: true, attributes: { verb: "patch", group: group.core, resource: "pods", name: pod } })),
  ...pods.map((pod) => ({ name: `get AG pod ${pod}`, allowed: true, attributes: { verb: "get", group: group.core, resource: "pods", name: pod } })),
  { name: "list pods in the namespace (peer discovery)", allowed: true, attributes: { verb: "list", group: group.core, resource: "pods" } },
  { name: "watch pods in the namespace (peer discovery)", allowed: true, attributes: { verb: "watch", group: group.core, resource: "pods" } },
  { name: "get the hadr Secret", allowed: true, attributes: { verb: "get", group: group.core, resource: "secrets", name: hadr } },
  { name: "update the hadr Secret (bootstrap fills the certificate)", allowed: true, attributes: { verb: "update", group: group.core, resource: "secrets", name: hadr } },
  { name: "get the SA password Secret", allowed: true, attributes: { verb: "get", group: group.core, resource: "secrets", name: saPasswordSecret } },
  { name: "get its CR", allowed: true, attributes: { verb: "get", group: group.sqlag, resource: PLURAL_AVAILABILITY_GROUPS, name: crName } },
  { name: "list its CR by metadata.name field selector (informer list)", allowed: true, attributes: { verb: "list", group: group.sqlag, resource: PLURAL_AVAILABILITY_GROUPS, name: crName } },
  { name: "watch its CR by metadata.name field selector", allowed: true, attributes: { verb: "watch", group: group.sqlag, resource: PLURAL_AVAILABILITY_GROUPS, name: crName } },
  { name: "patch its CR (the switchover agent removes the sqlag.io/switchover-to annotation)", allowed: true, attributes: { verb: "patch", group: group.sqlag, resource: PLURAL_AVAILABILITY_GROUPS, name: crName } },
  { name: "patch its CR status", allowed: true, attributes: { verb: "patch", group: group.sqlag, resource: PLURAL_AVAILABILITY_GROUPS, subresource: "status", name: crName } },
  { name: "create core events", allowed: true, attributes: { verb: "create", group: group.core, resource: "events" } },
  { name: "create events.k8s.io events", allowed: true, attributes: { verb: "create", group: group.events, resource: "events" } },
  // --- denied --------------------------------------------------------------------------------------------------
  ...pods.map((pod) => ({ name: `delete AG pod ${pod}`, allowed: false, attributes: { verb: "delete", group: group.core, resource: "pods", name: pod } })),
  { name: "delete pods (collection)", allowed: false, attributes: { verb: "deletecollection", group: group.core, resource: "pods" } },
  { name: "patch a pod outside the AG", allowed: false, attributes: { verb: "patch", group: group.core, resource: "pods", name: "some-app-0" } },
  { name: "create pods", allowed: false, attributes: { verb: "create", group: group.core, resource: "pods" } },
  { name: "pods/exec", allowed: false, attributes: { verb: "create", group: group.core, resource: "pods", subresource: "exec", name: pods[0] ?? "" } },
  { name: "get another Secret", allowed: false, attributes: { verb: "get", group: group.core, resource: "secrets", name: "some-other-secret" } },
  { name: "list the hadr Secret, even by metadata.name field selector (it is read with GET)", allowed: false, attributes: { verb: "list", group: group.core, resource: "secrets", name: hadr } },
  { name: "watch the hadr Secret (it is read with GET)", allowed: false, attributes: { verb: "watch", group: group.core, resource: "secrets", name: hadr } },
  { name: "list all Secrets of the namespace", allowed: false, attributes: { verb: "list", group: group.core, resource: "secrets" } },
  { name: "update the SA password Secret", allowed: false, attributes: { verb: "update", group: group.core, resource: "secrets", name: saPasswordSecret } },
  { name: "delete the hadr Secret", allowed: false, attributes: { verb: "delete", group: group.core, resource: "secrets", name: hadr } },
  { name: "get another Lease", allowed: false, attributes: { verb: "get", group: group.coordination, resource: "leases", name: "other-ag-primary" } },
  { name: "update another Lease", allowed: false, attributes: { verb: "update", group: group.coordination, resource: "leases", name: "other-ag-primary" } },
  { name: "create Leases", allowed: false, attributes: { verb: "create", group: group.coordination, resource: "leases" } },
  { name: "delete its Lease", allowed: false, attributes: { verb: "delete", group: group.coordination, resource: "leases", name: lease } },
  { name: "list all Leases of the namespace", allowed: false, attributes: { verb: "list", group: group.coordination, resource: "leases" } },
  { name: "update (replace) its CR", allowed: false, attributes: { verb: "update", group: group.sqlag, resource: PLURAL_AVAILABILITY_GROUPS, name: crName } },
  { name: "patch another AG's CR", allowed: false, attributes: { verb: "patch", group: group.sqlag, resource: PLURAL_AVAILABILITY_GROUPS, name: "other-ag" } },
  { name: "delete its CR", allowed: false, attributes: { verb: "delete", group: group.sqlag, resource: PLURAL_AVAILABILITY_GROUPS, name: crName } },
  { name: "get another AG's CR", allowed: false, attributes: { verb: "get", group: group.sqlag, resource: PLURAL_AVAILABILITY_GROUPS, name: "other-ag" } },
  { name: "patch another AG's status", allowed: false, attributes: { verb: "patch", group: group.sqlag, resource: PLURAL_AVAILABILITY_GROUPS, subresource: "status", name: "other-ag" } },
  { name: "patch StatefulSets", allowed: false, attributes: { verb: "patch", group: "apps", resource: "statefulsets", name: crName } },
  { name: "patch Services (listener selectors)", allowed: false, attributes: { verb: "patch", group: group.core, resource: "services", name: "mssql-ag-listener" } },
  { name: "escalate: patch its own Role", allowed: false, attributes: { verb: "patch", group: "rbac.authorization.k8s.io", resource: "roles", name: agNames.role(crName) } },
  { name: "cluster-scoped: list nodes", allowed: false, attributes: { verb: "list", group: group.core, resource: "nodes", namespace: null } },
  { name: "cluster-scoped: get namespaces", allowed: false, attributes: { verb: "get", group: group.core, resource: "namespaces", namespace: null } },
  { name: "cluster-scoped: list CRDs", allowed: false, attributes: { verb: "list", group: "apiextensions.k8s.io", resource: "customresourcedefinitions", namespace: null } },
  { name: "cluster-scoped: list pods in all namespaces", allowed: false, attributes: { verb: "list", group: group.core, resource: "pods", namespace: null } },
  { name: "cluster-scoped: list Leases in all namespaces", allowed: false, attributes: { verb: "list", group: group.coordination, resource: "leases", namespace: null } },
  { name: "other namespace: get its Lease name in default", allowed: false, attributes: { verb: "get", group: group.coordination, resource: "leases", name: lease, namespace: "default" } },
  { name: "other namespace: list pods in kube-system", allowed: false, attributes: { verb: "list", group: group.core, resource: "pods", namespace: "kube-system" } },
  { name: "other namespace: get the hadr Secret name in default", allowed: false, attributes: { verb: "get", group: group.core, resource: "secrets", name: hadr, namespace: "default" } },
  { name: "other namespace: create events in default", allowed: false, attributes: { verb: "create", group: group.core, resource: "events", namespace: "default" } },
];

function formatRules(role: V1Role): string {
  return (role.rules ?? [])
    .map((rule) => `  ${(rule.apiGroups ?? []).join(",") || "core"} ${(rule.resources ?? []).join(",")}${rule.resourceNames ? ` [${rule.resourceNames.join(",")}]` : ""}: ${(rule.verbs ?? []).join(",")}`)
    .join("\n");
}

describe("agent RBAC rendered by the controller (SubjectAccessReview)", function () {
  reportSpecWallTime("rbac");
  const fixture = useSpecFixture("rbac");
  before(async function () {
    await step("install sqlag (CRDs, controller RBAC)", () => ensureSqlagInstalled(fixture.kc));
  });
  useScopedController(fixture);
  let user: string;

  before(async function () {
    user = `system:serviceaccount:${fixture.namespace}:${agNames.serviceAccount(crName)}`;
    await step("apply the SA password Secret and the compatibility AG", async () => {
      for (const object of readManifestFile("manifests/samples/sa-password-secret.yaml")) await applyObject(fixture.kc, inNamespace(object, fixture.namespace));
      await applyObject(fixture.kc, inNamespace(compatibilityManifest() as unknown as Parameters<typeof inNamespace>[0], fixture.namespace));
    });
    const role = await step("the controller renders Role/RoleBinding/ServiceAccount <ag>-agent", () =>
      eventually("agent Role, RoleBinding and ServiceAccount", async () => {
        const rbac = fixture.kc.makeApiClient(RbacAuthorizationV1Api);
        try {
          const [rendered] = await Promise.all([
            rbac.readNamespacedRole({ name: agNames.role(crName), namespace: fixture.namespace }),
            rbac.readNamespacedRoleBinding({ name: agNames.roleBinding(crName), namespace: fixture.namespace }),
            fixture.core.readNamespacedServiceAccount({ name: agNames.serviceAccount(crName), namespace: fixture.namespace }),
          ]);
          return rendered;
        } catch (error) {
          if (apiStatus(error) === 404) return undefined;
          throw error;
        }
      }),
    );
    note(`rendered Role ${agNames.role(crName)}:\n${formatRules(role)}`);
  });

  for (const row of accessTable) {
    it(`${row.allowed ? "allows" : "denies"}: ${row.name}`, async function () {
      const { namespace: rowNamespace, ...attributes } = row.attributes;
      const namespace = rowNamespace === null ? undefined : (rowNamespace ?? fixture.namespace);
      const review = await fixture.kc.makeApiClient(AuthorizationV1Api).createSubjectAccessReview({
        body: {
          spec: {
            user,
            groups: ["system:serviceaccounts", `system:serviceaccounts:${fixture.namespace}`, "system:authenticated"],
            resourceAttributes: { ...attributes, ...(namespace !== undefined ? { namespace } : {}) },
          },
        },
      });
      const described = `${attributes.verb} ${attributes.group || "core"}/${attributes.resource}${attributes.subresource ? `/${attributes.subresource}` : ""}${attributes.name ? ` name=${attributes.name}` : ""} in ${namespace ?? "(cluster)"}`;
      expect(review.status?.allowed === true, `${described}: ${review.status?.reason ?? "no rule"}`).to.equal(row.allowed);
    });
  }

  describe("the agent's watches, made for real with its ServiceAccount token", function () {
    let asAgent: ReturnType<typeof fixture.controlPlane.kubeConfigForToken>;
    before(async function () {
      await step(`the controller created Secret ${hadr}`, () =>
        eventually(`Secret ${hadr}`, async () => {
          try {
            return await fixture.core.readNamespacedSecret({ name: hadr, namespace: fixture.namespace });
          } catch (error) {
            if (apiStatus(error) === 404) return undefined;
            throw error;
          }
        }),
      );
      const token = await fixture.core.createNamespacedServiceAccountToken({
        name: agNames.serviceAccount(crName),
        namespace: fixture.namespace,
        body: { spec: { audiences: [], expirationSeconds: 600 } },
      });
      asAgent = fixture.controlPlane.kubeConfigForToken(token.status?.token ?? "", user);
    });
    const byName = (name: string) => `metadata.name=${name}`;
    const cases: { name: string; call: () => Promise<unknown> }[] = [
      { name: `list Lease ${lease} by field selector`, call: () => asAgent.makeApiClient(CoordinationV1Api).listNamespacedLease({ namespace: fixture.namespace, fieldSelector: byName(lease) }) },
      { name: `get Secret ${hadr}`, call: () => asAgent.makeApiClient(CoreV1Api).readNamespacedSecret({ namespace: fixture.namespace, name: hadr }) },
      {
        name: `list CR ${crName} by field selector`,
        call: () =>
          asAgent.makeApiClient(CustomObjectsApi).listNamespacedCustomObject({ group: API_GROUP, version: API_VERSION, namespace: fixture.namespace, plural: PLURAL_AVAILABILITY_GROUPS, fieldSelector: byName(crName) }),
      },
      { name: "list pods (peer discovery)", call: () => asAgent.makeApiClient(CoreV1Api).listNamespacedPod({ namespace: fixture.namespace }) },
    ];
    for (const c of cases) {
      it(`allowed: ${c.name}`, async function () {
        try {
          await c.call();
        } catch (error) {
          expect.fail(`HTTP ${apiStatus(error) ?? "?"}: ${error instanceof Error ? error.message.slice(0, 300) : String(error)}`);
        }
      });
    }
    const deniedCases: { name: string; call: () => Promise<unknown> }[] = [
      { name: "list all Secrets of the namespace", call: () => asAgent.makeApiClient(CoreV1Api).listNamespacedSecret({ namespace: fixture.namespace }) },
      { name: `list Secret ${hadr} by field selector`, call: () => asAgent.makeApiClient(CoreV1Api).listNamespacedSecret({ namespace: fixture.namespace, fieldSelector: byName(hadr) }) },
    ];
    for (const c of deniedCases) {
      it(`denied for real: ${c.name}`, async function () {
        let status: number | undefined;
        try {
          await c.call();
        } catch (error) {
          status = apiStatus(error);
        }
        expect(status).to.equal(403);
      });
    }
  });
});
