/** The data volume claim template and its retention policy, shared by AG and instance StatefulSets. */
import type { V1PersistentVolumeClaim, V1StatefulSetPersistentVolumeClaimRetentionPolicy } from "@kubernetes/client-node";
import { VOLUME_DATA } from "@sqlag/api";
import type { ResolvedStorage } from "@sqlag/api";

/**
 * `storage.reclaimPolicy` applies to deleting the CR (and with it the StatefulSet): Retain keeps the PVCs so a
 * re-created CR adopts the existing databases, Delete removes them. Scale-down always retains: a replica removed
 * by mistake or for a while comes back with its data instead of a full re-seed, and no cluster-wide
 * PersistentVolume patching is needed (the existing operator's approach).
 */
export function claimRetentionPolicy(storage: ResolvedStorage): V1StatefulSetPersistentVolumeClaimRetentionPolicy {
  return { whenDeleted: storage.reclaimPolicy, whenScaled: "Retain" };
}

export function dataClaimTemplate(storage: ResolvedStorage, claimLabels: Record<string, string>): V1PersistentVolumeClaim {
  // No apiVersion/kind: they are implied, and volumeClaimTemplates are immutable, so the applied template must
  // never carry a field the API server could store differently.
  return {
    metadata: { name: VOLUME_DATA, labels: claimLabels },
    spec: {
      accessModes: [...storage.accessModes],
      resources: { requests: { storage: storage.dataVolumeSize } },
      ...(storage.storageClassName !== undefined ? { storageClassName: storage.storageClassName } : {}),
    },
  };
}
