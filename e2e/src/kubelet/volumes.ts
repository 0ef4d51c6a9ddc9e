/**
 * Volumes as files. Processes cannot mount, so each volume becomes a directory under the pod's directory
 * (PVCs under `<root>/pvc/<ns>/<claim>`, so data outlives the pod), and each container gets a map
 * mountPath → host path (`SQLAG_FAKE_MOUNTS`). Supported: secret, configMap (items, defaultMode ignored),
 * projected (serviceAccountToken, secret, configMap, downwardAPI), downwardAPI, emptyDir,
 * persistentVolumeClaim. Anything else is a clear error.
 */
import { mkdirSync, writeFileSync } from "node:fs";
import path from "node:path";
import type { V1ConfigMap, V1Container, V1KeyToPath, V1Pod, V1Secret, V1Volume } from "@kubernetes/client-node";
import { resolveFieldPath } from "./env.js";

export class VolumeSetupError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "VolumeSetupError";
  }
}

export interface VolumeSources {
  getSecret(name: string): Promise<V1Secret | undefined>;
  getConfigMap(name: string): Promise<V1ConfigMap | undefined>;
  /** A token for the pod's ServiceAccount, bound to the pod (TokenRequest API). */
  requestServiceAccountToken(audience: string | undefined, expirationSeconds: number): Promise<string>;
  /** The cluster CA, served as `kube-root-ca.crt` when the publisher controller is not running. */
  readonly caPem: string;
  readonly podIp: string;
  readonly hostIp: string;
}

export interface VolumeLayout {
  /** `<workDir>/pods/<ns>_<pod>` */
  readonly podDir: string;
  /** Root for PVC data: `<root>/pvc/<ns>/<claim>`. */
  readonly pvcRoot: string;
}

export function pvcHostPath(pvcRoot: string, namespace: string, claimName: string): string {
  return path.join(pvcRoot, "pvc", namespace, claimName);
}

function writeEntry(dir: string, relativePath: string, content: string | Buffer): void {
  const target = path.join(dir, relativePath);
  if (!target.startsWith(dir)) throw new VolumeSetupError(`volume item path "${relativePath}" escapes its volume`);
  mkdirSync(path.dirname(target), { recursive: true });
  writeFileSync(target, content, { mode: 0o600 });
}

function keyedEntries(
  data: Record<string, Buffer>,
  items: readonly V1KeyToPath[] | undefined,
  what: string,
  optional: boolean,
): Array<[string, Buffer]> {
  if (items == null || items.length === 0) return Object.entries(data);
  const entries: Array<[string, Buffer]> = [];
  for (const item of items) {
    const value = data[item.key];
    if (value == null) {
      if (optional) continue;
      throw new VolumeSetupError(`${what} has no key "${item.key}"`);
    }
    entries.push([item.path, value]);
  }
  return entries;
}

function secretData(secret: V1Secret): Record<string, Buffer> {
  const result: Record<string, Buffer> = {};
  for (const [key, value] of Object.entries(secret.stringData ?? {})) result[key] = Buffer.from(value, "utf8");
  for (const [key, value] of Object.entries(secret.data ?? {})) result[key] = Buffer.from(value, "base64");
  return result;
}

function configMapData(configMap: V1ConfigMap): Record<string, Buffer> {
  const result: Record<string, Buffer> = {};
  for (const [key, value] of Object.entries(configMap.binaryData ?? {})) result[key] = Buffer.from(value, "base64");
  for (const [key, value] of Object.entries(configMap.data ?? {})) result[key] = Buffer.from(value, "utf8");
  return result;
}

async function writeConfigMapSource(
  dir: string,
  name: string,
  items: readonly V1KeyToPath[] | undefined,
  optional: boolean,
  sources: VolumeSources,
  namespace: string,
): Promise<void> {
  let configMap = await sources.getConfigMap(name);
  if (configMap == null && name === "kube-root-ca.crt") configMap = { data: { "ca.crt": sources.caPem } };
  if (configMap == null) {
    if (optional) return;
    throw new VolumeSetupError(`configmap "${namespace}/${name}" not found`);
  }
  for (const [relative, content] of keyedEntries(configMapData(configMap), items, `configmap ${namespace}/${name}`, optional)) {
    writeEntry(dir, relative, content);
  }
}

async function writeSecretSource(
  dir: string,
  name: string,
  items: readonly V1KeyToPath[] | undefined,
  optional: boolean,
  sources: VolumeSources,
  namespace: string,
): Promise<void> {
  const secret = await sources.getSecret(name);
  if (secret == null) {
    if (optional) return;
    throw new VolumeSetupError(`secret "${namespace}/${name}" not found`);
  }
  for (const [relative, content] of keyedEntries(secretData(secret), items, `secret ${namespace}/${name}`, optional)) {
    writeEntry(dir, relative, content);
  }
}

/** Writes the volume's files; returns its host directory. Re-run to refresh Secret/ConfigMap content. */
export async function materializeVolume(pod: V1Pod, volume: V1Volume, layout: VolumeLayout, sources: VolumeSources): Promise<string> {
  const namespace = pod.metadata?.namespace ?? "default";
  if (volume.persistentVolumeClaim != null) {
    const dir = pvcHostPath(layout.pvcRoot, namespace, volume.persistentVolumeClaim.claimName);
    mkdirSync(dir, { recursive: true });
    return dir;
  }
  const dir = path.join(layout.podDir, "volumes", volume.name);
  mkdirSync(dir, { recursive: true });
  if (volume.emptyDir != null) return dir;
  if (volume.secret != null) {
    await writeSecretSource(dir, volume.secret.secretName ?? "", volume.secret.items, volume.secret.optional === true, sources, namespace);
    return dir;
  }
  if (volume.configMap != null) {
    await writeConfigMapSource(dir, volume.configMap.name ?? "", volume.configMap.items, volume.configMap.optional === true, sources, namespace);
    return dir;
  }
  if (volume.downwardAPI != null) {
    for (const item of volume.downwardAPI.items ?? []) {
      if (item.fieldRef != null) writeEntry(dir, item.path, resolveFieldPath(pod, item.fieldRef.fieldPath, sources));
    }
    return dir;
  }
  if (volume.projected != null) {
    for (const source of volume.projected.sources ?? []) {
      if (source.serviceAccountToken != null) {
        const token = await sources.requestServiceAccountToken(source.serviceAccountToken.audience, source.serviceAccountToken.expirationSeconds ?? 3607);
        writeEntry(dir, source.serviceAccountToken.path, token);
      } else if (source.secret != null) {
        await writeSecretSource(dir, source.secret.name ?? "", source.secret.items, source.secret.optional === true, sources, namespace);
      } else if (source.configMap != null) {
        await writeConfigMapSource(dir, source.configMap.name ?? "", source.configMap.items, source.configMap.optional === true, sources, namespace);
      } else if (source.downwardAPI != null) {
        for (const item of source.downwardAPI.items ?? []) {
          if (item.fieldRef != null) writeEntry(dir, item.path, resolveFieldPath(pod, item.fieldRef.fieldPath, sources));
        }
      }
    }
    return dir;
  }
  throw new VolumeSetupError(`volume "${volume.name}" has a type the fake kubelet does not support`);
}

/** mountPath → host path for one container, honouring subPath. */
export function containerMounts(container: V1Container, volumeDirs: ReadonlyMap<string, string>): Record<string, string> {
  const mounts: Record<string, string> = {};
  for (const mount of container.volumeMounts ?? []) {
    const base = volumeDirs.get(mount.name);
    if (base == null) throw new VolumeSetupError(`container ${container.name} mounts unknown volume "${mount.name}"`);
    mounts[mount.mountPath] = mount.subPath != null && mount.subPath !== "" ? path.join(base, mount.subPath) : base;
  }
  return mounts;
}
