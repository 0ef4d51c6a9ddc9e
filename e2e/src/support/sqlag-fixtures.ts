/**
 * Applying the project's own sample objects into a spec namespace: the SA password Secret of manifests/samples
 * and AG / instance CRs derived from the samples or the compatibility manifest, renamed when a spec needs several.
 */
import { AppsV1Api, type KubeConfig, type KubernetesObject, type V1StatefulSet } from "@kubernetes/client-node";
import { compatibilityManifest } from "@sqlag/api/schema/fixtures";
import { apiStatus, eventually } from "../cluster/namespaces.js";
import { applyObject, inNamespace, readManifestFile } from "./manifests.js";

export const samplePasswordSecretName = "mssql-ag-secret";
export const samplePasswordKey = "SA_PASSWORD";

/** The SA password from manifests/samples/sa-password-secret.yaml (a sample value, not a secret). */
export function samplePassword(): string {
  const [secret] = readManifestFile("manifests/samples/sa-password-secret.yaml") as (KubernetesObject & { stringData?: Record<string, string> })[];
  const password = secret?.stringData?.[samplePasswordKey];
  if (password === undefined) throw new Error("manifests/samples/sa-password-secret.yaml has no stringData.SA_PASSWORD");
  return password;
}

export async function applySamplePasswordSecret(kc: KubeConfig, namespace: string): Promise<void> {
  for (const object of readManifestFile("manifests/samples/sa-password-secret.yaml")) await applyObject(kc, inNamespace(object, namespace));
}

/** The compatibility manifest (issue 2) in `namespace`, optionally renamed. */
export function compatibilityAg(namespace: string, name?: string): KubernetesObject {
  const object = inNamespace(compatibilityManifest() as unknown as KubernetesObject, namespace);
  if (name !== undefined) object.metadata = { ...object.metadata, name };
  return object;
}

export async function waitForStatefulSet(kc: KubeConfig, namespace: string, name: string, timeoutMs = 90_000): Promise<V1StatefulSet> {
  const apps = kc.makeApiClient(AppsV1Api);
  return eventually(
    `StatefulSet ${namespace}/${name}`,
    async () => {
      try {
        return await apps.readNamespacedStatefulSet({ name, namespace });
      } catch (error) {
        if (apiStatus(error) === 404) return undefined;
        throw error;
      }
    },
    { timeoutMs },
  );
}
