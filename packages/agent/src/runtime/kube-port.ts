/**
 * The agent's Kubernetes side as the loop sees it (CONVENTIONS 16: a port, so the loop can be tested against an
 * in-memory cluster instead of a stack of stubs). `AgentKube` implements it on the real API server with watch
 * caches; `runtime/testing/fake-cluster.ts` implements it in memory over the real LeaseClient.
 *
 * Reads come from caches and never throw: when the API server is unreachable they keep answering with the last
 * state seen, exactly like an informer whose watch broke. Writes throw classified `KubeError`s; a lost Lease
 * race is a result (`ok: false`), not an error.
 */
import type { V1Pod, V1Secret } from "@kubernetes/client-node";
import type { SQLServerAvailabilityGroup } from "@sqlag/api";
import type { LeaseClient, LeaseRecord } from "@sqlag/kube";
import type { HadrSecretStore } from "./sql-actions.js";

/** The compare-and-swap Lease writes the loop performs (all of them bump or keep the epoch as client-go does). */
export type LeaseWriter = Pick<LeaseClient, "tryClaim" | "tryRenew" | "release" | "handOver">;

export interface AgentKubePort {
  /** Compare-and-swap writes of the `<ag>-primary` Lease. */
  readonly leaseClient: LeaseWriter;
  /** Newest Lease record known (watch or own writes); `seen` once the Lease was read at least once. */
  lease(): { seen: boolean; record: LeaseRecord | undefined };
  /** Folds the record returned by one of our own writes, ignoring one older than what is already known. */
  foldLease(record: LeaseRecord): void;
  cr(): SQLServerAvailabilityGroup | undefined;
  pods(): readonly V1Pod[];
  pod(name: string): V1Pod | undefined;
  hadrSecret(): V1Secret | undefined;
  /** Sets (string) or removes (null) labels on one pod of the AG. */
  patchPodLabels(pod: string, labelChanges: Readonly<Record<string, string | null>>, signal: AbortSignal): Promise<void>;
  /** Writes the status fields the lease-holding agent owns (ARCHITECTURE §3). */
  patchStatus(status: Record<string, unknown>, signal: AbortSignal): Promise<void>;
  /** Removes `sqlag.io/switchover-to` from the CR once the request was carried out. */
  clearSwitchoverAnnotation(signal: AbortSignal): Promise<void>;
  /** The `<ag>-hadr` Secret as the SQL actions need it (passwords, shared certificate). */
  secretStore(): HadrSecretStore;
  /**
   * Optional: calls `listener` after the cache took in a change of the Lease, the CR or one of the AG's pods
   * (watch event). The loop uses it to run its next cycle at once instead of at the next tick; it filters what
   * is relevant itself. Never called while the agent is cut from the API server.
   */
  onChange?(listener: (kind: KubeChangeKind) => void): void;
}

export type KubeChangeKind = "lease" | "cr" | "pods";
