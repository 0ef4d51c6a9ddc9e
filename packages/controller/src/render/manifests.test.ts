/**
 * Checks the shipped YAML under manifests/ against the renderers: the controller's ClusterRole must hold every
 * permission the rendered agent Roles grant (RBAC escalation prevention) and every verb server-side apply needs
 * for the rendered kinds; every sample renders and passes validate*; kustomizations list every file.
 */
import { readdirSync, readFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { expect } from "chai";
import { parseAllDocuments } from "yaml";
import type { KubernetesObject, V1ClusterRole, V1Deployment, V1PolicyRule, V1Role } from "@kubernetes/client-node";
import { AGENT_HTTP_PORT, DEFAULT_CONTROLLER_IMAGE, withDefaults } from "@sqlag/api";
import type { SQLServerAvailabilityGroup, SQLServerInstance } from "@sqlag/api";
import { compatibilityManifest } from "@sqlag/api/schema/fixtures";
import { renderAvailabilityGroup } from "./availability-group.js";
import { renderInstance } from "./instance.js";
import { validateAvailabilityGroup, validateInstance } from "./validate.js";

const manifestsDir = resolve(dirname(fileURLToPath(import.meta.url)), "../../../../manifests");

function loadDir(subdir: string): { file: string; object: KubernetesObject & Record<string, unknown> }[] {
  const dir = join(manifestsDir, subdir);
  return readdirSync(dir)
    .filter((file) => /\.ya?ml$/.test(file) && file !== "kustomization.yaml")
    .sort()
    .flatMap((file) =>
      parseAllDocuments(readFileSync(join(dir, file), "utf8"))
        .map((document) => document.toJS() as (KubernetesObject & Record<string, unknown>) | null)
        .filter((object): object is KubernetesObject & Record<string, unknown> => object !== null)
        .map((object) => ({ file, object })),
    );
}

function one<T>(objects: { object: KubernetesObject }[], kind: string, name: string): T {
  const found = objects.find(({ object }) => object.kind === kind && object.metadata?.name === name);
  if (found === undefined) throw new Error(`manifests: no ${kind} ${name}`);
  return found.object as T;
}

const install = loadDir("install");
const samples = loadDir("samples");
const clusterRole = one<V1ClusterRole>(install, "ClusterRole", "sqlag-controller");

function withUid<T extends { metadata: { uid?: string } }>(object: T): T {
  const copy = structuredClone(object);
  copy.metadata.uid = "00000000-0000-4000-8000-000000000000";
  return copy;
}

const sampleAgs = samples.filter(({ object }) => object.kind === "SQLServerAvailabilityGroup").map(({ object }) => withUid(object as unknown as SQLServerAvailabilityGroup));
const sampleInstances = samples.filter(({ object }) => object.kind === "SQLServerInstance").map(({ object }) => withUid(object as unknown as SQLServerInstance));
const context = { randomSecret: (): string => "Generated-Secret-1" };

/** True when some ClusterRole rule without resourceNames grants this verb on this resource. */
function clusterRoleAllows(apiGroup: string, resource: string, verb: string): boolean {
  return (clusterRole.rules ?? []).some(
    (rule: V1PolicyRule) =>
      (rule.resourceNames ?? []).length === 0 && (rule.apiGroups ?? []).includes(apiGroup) && (rule.resources ?? []).includes(resource) && rule.verbs.includes(verb),
  );
}

const RESOURCE_OF_KIND: Record<string, [string, string]> = {
  ServiceAccount: ["", "serviceaccounts"],
  Role: ["rbac.authorization.k8s.io", "roles"],
  RoleBinding: ["rbac.authorization.k8s.io", "rolebindings"],
  ConfigMap: ["", "configmaps"],
  Service: ["", "services"],
  StatefulSet: ["apps", "statefulsets"],
  PodDisruptionBudget: ["policy", "poddisruptionbudgets"],
  Secret: ["", "secrets"],
  Lease: ["coordination.k8s.io", "leases"],
};

describe("manifests", () => {
  describe("install", () => {
    it("runs two controller replicas of the default image, non-root, read-only, with /healthz and /readyz on 8080", () => {
      const deployment = one<V1Deployment>(install, "Deployment", "sqlag-controller");
      expect(deployment.metadata?.namespace).to.equal("sqlag-system");
      expect(deployment.spec?.replicas).to.equal(2);
      const container = deployment.spec?.template.spec?.containers[0];
      expect(container?.image).to.equal(DEFAULT_CONTROLLER_IMAGE);
      expect(container?.ports).to.deep.equal([{ name: "http", containerPort: AGENT_HTTP_PORT, protocol: "TCP" }]);
      expect(container?.livenessProbe?.httpGet).to.deep.equal({ path: "/healthz", port: "http" });
      expect(container?.readinessProbe?.httpGet).to.deep.equal({ path: "/readyz", port: "http" });
      expect(container?.securityContext).to.include({ runAsNonRoot: true, readOnlyRootFilesystem: true, allowPrivilegeEscalation: false });
      expect(deployment.spec?.template.spec?.serviceAccountName).to.equal("sqlag-controller");
    });

    it("can apply every rendered kind (server-side apply: create and patch) and create the created-once kinds", () => {
      const rendered = [...sampleAgs.map((ag) => renderAvailabilityGroup(ag, context)), ...sampleInstances.map((instance) => renderInstance(instance, context))];
      const missing: string[] = [];
      for (const objects of rendered) {
        for (const [objectsOfKind, verbs] of [
          [objects.applied, ["get", "create", "patch"]],
          [objects.createIfMissing, ["get", "create"]],
        ] as const) {
          for (const object of objectsOfKind) {
            const target = RESOURCE_OF_KIND[object.kind ?? ""];
            if (target === undefined) {
              missing.push(`unmapped kind ${object.kind}`);
              continue;
            }
            for (const verb of verbs) if (!clusterRoleAllows(target[0], target[1], verb)) missing.push(`${verb} ${target[1]}`);
          }
        }
      }
      expect([...new Set(missing)]).to.deep.equal([]);
    });

    it("holds every permission the rendered agent Roles grant (otherwise the API server refuses to create them)", () => {
      const roles = [
        ...sampleAgs.map((ag) => renderAvailabilityGroup(ag, context).applied),
        ...sampleInstances.map((instance) => renderInstance(instance, context).applied),
      ]
        .flat()
        .filter((object): object is V1Role => object.kind === "Role");
      expect(roles).to.have.length(sampleAgs.length + sampleInstances.length);
      const missing = roles.flatMap((role) =>
        (role.rules ?? []).flatMap((rule) =>
          (rule.apiGroups ?? []).flatMap((group) =>
            (rule.resources ?? []).flatMap((resource) => rule.verbs.filter((verb) => !clusterRoleAllows(group, resource, verb)).map((verb) => `${group}/${resource} ${verb}`)),
          ),
        ),
      );
      expect([...new Set(missing)]).to.deep.equal([]);
    });

    it("grants nothing dangerous: no wildcards, no exec, no Secret listing, deletes only Services", () => {
      const rules = clusterRole.rules ?? [];
      for (const rule of rules) {
        expect(rule.verbs).to.not.include("*");
        expect(rule.resources ?? []).to.not.include("*");
        expect(rule.resources ?? []).to.not.include("pods/exec");
        expect(rule.resources ?? []).to.not.include("persistentvolumes");
        if (rule.verbs.includes("delete")) expect(rule.resources).to.deep.equal(["services"]);
      }
      expect(clusterRoleAllows("", "secrets", "list")).to.equal(false);
      expect(clusterRoleAllows("", "secrets", "watch")).to.equal(false);
    });

    it("restricts the leader-election Role to the sqlag-controller Lease", () => {
      const role = one<V1Role>(install, "Role", "sqlag-controller-leader-election");
      expect(role.metadata?.namespace).to.equal("sqlag-system");
      const named = (role.rules ?? []).filter((rule) => (rule.resourceNames ?? []).length > 0);
      expect(named).to.deep.equal([{ apiGroups: ["coordination.k8s.io"], resources: ["leases"], resourceNames: ["sqlag-controller"], verbs: ["get", "watch", "update"] }]);
    });
  });

  describe("samples", () => {
    it("include three AGs and one instance", () => {
      expect(sampleAgs.map((ag) => ag.metadata.name).sort()).to.deep.equal(["mssql-ag", "mssql-ag-3sync", "mssql-ag-witness"]);
      expect(sampleInstances.map((instance) => instance.metadata.name)).to.deep.equal(["mssql-dev"]);
    });

    it("the compatibility sample is issue 2's manifest, and renders three replicas: two synchronous, one asynchronous", () => {
      const sample = sampleAgs.find((ag) => ag.metadata.name === "mssql-ag");
      expect(sample?.spec).to.deep.equal(compatibilityManifest().spec);
      if (sample === undefined) return;
      const statefulSet = renderAvailabilityGroup(sample, context).applied.find((object) => object.kind === "StatefulSet") as { spec?: { replicas?: number } };
      expect(statefulSet.spec?.replicas).to.equal(3);
      expect(withDefaults(sample.spec).replicas.map((replica) => replica.availabilityMode)).to.deep.equal(["SynchronousCommit", "SynchronousCommit", "AsynchronousCommit"]);
    });

    it("the witness sample has two synchronous replicas and one configuration-only replica", () => {
      const sample = sampleAgs.find((ag) => ag.metadata.name === "mssql-ag-witness");
      expect(sample && withDefaults(sample.spec).replicas.map((replica) => replica.availabilityMode)).to.deep.equal(["SynchronousCommit", "SynchronousCommit", "ConfigurationOnly"]);
    });

    it("every sample passes the controller's semantic validation", () => {
      const problems = [...sampleAgs.flatMap(validateAvailabilityGroup), ...sampleInstances.flatMap(validateInstance)];
      expect(problems).to.deep.equal([]);
    });

    it("every sample refers to the example SA password Secret", () => {
      const secretNames = samples.filter(({ object }) => object.kind === "Secret").map(({ object }) => object.metadata?.name);
      for (const cr of [...sampleAgs, ...sampleInstances]) expect(secretNames).to.include(cr.spec.saPasswordSecretRef.name);
    });
  });

  describe("kustomizations", () => {
    for (const subdir of ["install", "samples", "monitoring"]) {
      it(`${subdir}/kustomization.yaml lists every YAML file in the directory`, () => {
        const dir = join(manifestsDir, subdir);
        const kustomization = parseAllDocuments(readFileSync(join(dir, "kustomization.yaml"), "utf8"))[0]?.toJS() as { resources?: string[] };
        const files = readdirSync(dir).filter((file) => /\.ya?ml$/.test(file) && file !== "kustomization.yaml");
        expect(kustomization.resources ?? []).to.include.members(files);
      });
    }

    it("install references the generated CRDs", () => {
      const kustomization = parseAllDocuments(readFileSync(join(manifestsDir, "install/kustomization.yaml"), "utf8"))[0]?.toJS() as { resources?: string[] };
      expect(kustomization.resources).to.include("../../crds");
    });
  });
});
