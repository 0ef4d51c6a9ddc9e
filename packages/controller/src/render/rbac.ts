/**
 * The agent's ServiceAccount, Role and RoleBinding: least privilege, by `resourceNames` wherever the API allows.
 * Nothing cluster-wide, no exec, no delete. The controller must itself hold every verb it grants here (RBAC
 * escalation prevention), which is why manifests/install mirrors these rules.
 *
 * Named list/watch: the API server authorises a list or watch against `resourceNames` when the request carries
 * `fieldSelector=metadata.name=<name>`, so the agent's single-object informers on the Lease and its CR need
 * `list` and `watch` with the name, never namespace-wide. Secrets are the exception: granting list/watch on the
 * `<ag>-hadr` Secret would force the controller to hold list/watch on every Secret in the cluster (it must hold
 * what it grants), so the agent reads that Secret with GET only.
 */
import type { V1PolicyRule, V1Role, V1RoleBinding, V1ServiceAccount } from "@kubernetes/client-node";
import { API_GROUP } from "@sqlag/api";
import { objectMeta } from "./metadata.js";
import type { OwnerIdentity } from "./metadata.js";

export interface AgentRbacNames {
  serviceAccount: string;
  role: string;
  roleBinding: string;
}

const EVENT_RULES: V1PolicyRule[] = [
  { apiGroups: [""], resources: ["events"], verbs: ["create", "patch"] },
  { apiGroups: ["events.k8s.io"], resources: ["events"], verbs: ["create", "patch"] },
];

export interface AgAgentRuleInputs {
  crName: string;
  leaseName: string;
  podNames: string[];
  hadrSecretName: string;
  saPasswordSecretName: string;
}

export function agAgentRules(inputs: AgAgentRuleInputs): V1PolicyRule[] {
  return [
    { apiGroups: ["coordination.k8s.io"], resources: ["leases"], resourceNames: [inputs.leaseName], verbs: ["get", "list", "watch", "update"] },
    // Role labels on the AG's own pods (the holder also clears a stale primary label on a peer).
    { apiGroups: [""], resources: ["pods"], resourceNames: inputs.podNames, verbs: ["get", "patch"] },
    // Peer discovery: pod IPs, readiness and terminating state of the other replicas.
    { apiGroups: [""], resources: ["pods"], verbs: ["get", "list", "watch"] },
    { apiGroups: [""], resources: ["secrets"], resourceNames: uniqueSorted([inputs.hadrSecretName, inputs.saPasswordSecretName]), verbs: ["get"] },
    { apiGroups: [""], resources: ["secrets"], resourceNames: [inputs.hadrSecretName], verbs: ["update"] },
    // patch: the agent that carried out a switchover removes the sqlag.io/switchover-to annotation.
    { apiGroups: [API_GROUP], resources: ["sqlserveravailabilitygroups"], resourceNames: [inputs.crName], verbs: ["get", "list", "watch", "patch"] },
    { apiGroups: [API_GROUP], resources: ["sqlserveravailabilitygroups/status"], resourceNames: [inputs.crName], verbs: ["get", "patch"] },
    ...EVENT_RULES,
  ];
}

export interface InstanceAgentRuleInputs {
  crName: string;
  podName: string;
  saPasswordSecretName: string;
}

export function instanceAgentRules(inputs: InstanceAgentRuleInputs): V1PolicyRule[] {
  return [
    { apiGroups: [""], resources: ["pods"], resourceNames: [inputs.podName], verbs: ["get", "patch"] },
    { apiGroups: [""], resources: ["secrets"], resourceNames: [inputs.saPasswordSecretName], verbs: ["get"] },
    { apiGroups: [API_GROUP], resources: ["sqlserverinstances"], resourceNames: [inputs.crName], verbs: ["get", "list", "watch"] },
    { apiGroups: [API_GROUP], resources: ["sqlserverinstances/status"], resourceNames: [inputs.crName], verbs: ["get", "patch"] },
    ...EVENT_RULES,
  ];
}

function uniqueSorted(values: string[]): string[] {
  return [...new Set(values)].sort();
}

export function renderAgentRbac(
  owner: OwnerIdentity,
  kindLabel: string,
  names: AgentRbacNames,
  rules: V1PolicyRule[],
): [V1ServiceAccount, V1Role, V1RoleBinding] {
  const serviceAccount: V1ServiceAccount = {
    apiVersion: "v1",
    kind: "ServiceAccount",
    metadata: objectMeta(owner, names.serviceAccount, kindLabel, "agent-rbac"),
    automountServiceAccountToken: true,
  };
  const role: V1Role = {
    apiVersion: "rbac.authorization.k8s.io/v1",
    kind: "Role",
    metadata: objectMeta(owner, names.role, kindLabel, "agent-rbac"),
    rules,
  };
  const roleBinding: V1RoleBinding = {
    apiVersion: "rbac.authorization.k8s.io/v1",
    kind: "RoleBinding",
    metadata: objectMeta(owner, names.roleBinding, kindLabel, "agent-rbac"),
    roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "Role", name: names.role },
    subjects: [{ kind: "ServiceAccount", name: names.serviceAccount, namespace: owner.metadata.namespace }],
  };
  return [serviceAccount, role, roleBinding];
}
