/** Label and annotation keys (CONVENTIONS 6). Values that the listener Services select on live here too. */

export const LABEL_PREFIX = "sqlag.io";

export const labels = {
  /** Written by the agent on its own pod; the rw/ro listener Services select on it. */
  role: "sqlag.io/role",
  /** "true" on pods whose replica allows read-only connections as a secondary. */
  readable: "sqlag.io/readable",
  /** Name of the owning SQLServerAvailabilityGroup or SQLServerInstance. */
  cluster: "sqlag.io/cluster",
  kind: "sqlag.io/kind",
  name: "app.kubernetes.io/name",
  instance: "app.kubernetes.io/instance",
  component: "app.kubernetes.io/component",
  managedBy: "app.kubernetes.io/managed-by",
  partOf: "app.kubernetes.io/part-of",
} as const;

export const roleLabelValues = {
  primary: "primary",
  secondary: "secondary",
  resolving: "resolving",
} as const;
export type RoleLabelValue = (typeof roleLabelValues)[keyof typeof roleLabelValues];

export const MANAGED_BY = "sqlag";
export const KIND_LABEL_AG = "availability-group";
export const KIND_LABEL_INSTANCE = "instance";

export const annotations = {
  /** On the AG CR: request a planned failover to `<pod>` or `any`. */
  switchoverTo: "sqlag.io/switchover-to",
  /** On the Lease: the previous holder released it only after its replica was fenced. */
  fenced: "sqlag.io/fenced",
  /** On the Lease: a contender that failed the promotion gate names the better candidate here. */
  betterCandidate: "sqlag.io/better-candidate",
  /** On the Lease: why the last holder released it. */
  releaseReason: "sqlag.io/release-reason",
  /** On the pod template: hash of the rendered mssql.conf so a change rolls the pods. */
  mssqlConfHash: "sqlag.io/mssql-conf-hash",
} as const;

/** Selector labels common to every pod of one AG or instance. */
export function selectorLabels(kindLabel: string, cr: string): Record<string, string> {
  return { [labels.cluster]: cr, [labels.kind]: kindLabel, [labels.managedBy]: MANAGED_BY };
}
