/**
 * Metadata shared by every rendered object: names, labels and the owner reference that lets the garbage
 * collector remove children with their CR. Pure: no clock, no randomness.
 */
import type { V1ObjectMeta, V1OwnerReference } from "@kubernetes/client-node";
import { API_GROUP_VERSION, labels, MANAGED_BY, selectorLabels } from "@sqlag/api";

/** The CR fields the renderers need to own an object. */
export interface OwnerIdentity {
  kind: string;
  metadata: { name: string; namespace: string; uid?: string };
}

/** The CR has no uid yet (it was never stored by the API server); the caller rendered too early. */
export class MissingOwnerUidError extends Error {
  constructor(kind: string, name: string) {
    super(`${kind} ${name} has no metadata.uid, so its children cannot carry an owner reference; render only stored objects`);
    this.name = "MissingOwnerUidError";
  }
}

export function ownerReference(owner: OwnerIdentity): V1OwnerReference {
  const uid = owner.metadata.uid;
  if (uid === undefined || uid === "") throw new MissingOwnerUidError(owner.kind, owner.metadata.name);
  return {
    apiVersion: API_GROUP_VERSION,
    kind: owner.kind,
    name: owner.metadata.name,
    uid,
    controller: true,
    blockOwnerDeletion: true,
  };
}

/** Value of `app.kubernetes.io/part-of` and `app.kubernetes.io/name` on everything sqlag renders. */
export const PART_OF = "sqlag";
export const APP_NAME = "mssql";

/** What a rendered object is for, as `app.kubernetes.io/component`. */
export type Component = "database" | "headless" | "listener" | "read-only-listener" | "client" | "config" | "credentials" | "lease" | "agent-rbac" | "disruption-budget";

/**
 * Labels of one rendered object. The selector labels come first so a label selector on any object of the
 * CR finds them all; `component` tells them apart. Pod templates carry `database`, never role labels: the agent
 * owns `sqlag.io/role` and `sqlag.io/readable` on its own pod.
 */
export function objectLabels(kindLabel: string, cr: string, component: Component): Record<string, string> {
  return {
    ...selectorLabels(kindLabel, cr),
    [labels.name]: APP_NAME,
    [labels.instance]: cr,
    [labels.component]: component,
    [labels.partOf]: PART_OF,
    [labels.managedBy]: MANAGED_BY,
  };
}

export function objectMeta(
  owner: OwnerIdentity,
  name: string,
  kindLabel: string,
  component: Component,
  annotations?: Record<string, string>,
): V1ObjectMeta {
  return {
    name,
    namespace: owner.metadata.namespace,
    labels: objectLabels(kindLabel, owner.metadata.name, component),
    ...(annotations !== undefined ? { annotations } : {}),
    ownerReferences: [ownerReference(owner)],
  };
}
