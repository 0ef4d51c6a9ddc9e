/**
 * Reference manifests for schema tests and for other packages' tests: the compatibility manifest of issue 2
 * (written for the existing operator; only apiVersion changed) and a minimal standalone instance.
 */
import { parse } from "yaml";
import type { SQLServerAvailabilityGroup, SQLServerInstance } from "../types.js";

/** Issue 2's compatibility manifest, verbatim except for apiVersion. */
export const COMPATIBILITY_MANIFEST_YAML = `apiVersion: sqlag.io/v1alpha1
kind: SQLServerAvailabilityGroup
metadata: {name: mssql-ag, namespace: default}
spec:
  acceptEula: "Y"
  agName: AG1
  automaticFailover: {enabled: true, failoverThresholdSeconds: 30, healthThreshold: system}
  clusterType: EXTERNAL
  edition: Developer
  endpointPort: 5022
  image: mcr.microsoft.com/mssql/server:2025-latest
  listener: {name: mssql-ag-listener, port: 1433, serviceType: LoadBalancer}
  mssqlConf: {sqlagent.enabled: "true"}
  readOnlyListener: {name: mssql-ag-listener-ro, port: 1433, serviceType: LoadBalancer}
  replicas:
  - {availabilityMode: SynchronousCommit, failoverMode: Automatic, name: primary}
  - {availabilityMode: SynchronousCommit, failoverMode: Automatic, name: secondary-1, readableSecondary: true}
  - {availabilityMode: AsynchronousCommit, failoverMode: Manual, name: secondary-2, readableSecondary: true}
  resources: {limits: {cpu: "2", memory: 4Gi}, requests: {cpu: 500m, memory: 2Gi}}
  saPasswordSecretRef: {key: SA_PASSWORD, name: mssql-ag-secret}
  storage: {dataVolumeSize: 20Gi, reclaimPolicy: Retain}
`;

/** A fresh copy of the compatibility manifest, typed. */
export function compatibilityManifest(): SQLServerAvailabilityGroup {
  return parse(COMPATIBILITY_MANIFEST_YAML) as SQLServerAvailabilityGroup;
}

/** The smallest valid AG: everything else comes from defaults. */
export function minimalAvailabilityGroup(): SQLServerAvailabilityGroup {
  return {
    apiVersion: "sqlag.io/v1alpha1",
    kind: "SQLServerAvailabilityGroup",
    metadata: { name: "ag", namespace: "default" },
    spec: {
      agName: "AG1",
      saPasswordSecretRef: { name: "mssql-secret", key: "SA_PASSWORD" },
      replicas: [{ name: "a" }, { name: "b" }, { name: "c" }],
    },
  };
}

export function minimalInstance(): SQLServerInstance {
  return {
    apiVersion: "sqlag.io/v1alpha1",
    kind: "SQLServerInstance",
    metadata: { name: "mssql", namespace: "default" },
    spec: { saPasswordSecretRef: { name: "mssql-secret", key: "SA_PASSWORD" } },
  };
}
