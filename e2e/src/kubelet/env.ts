/**
 * Container environment as the kubelet builds it: `envFrom` first (later sources win), then `env` entries in
 * order, each able to reference earlier variables with `$(NAME)` (`$$(NAME)` escapes). Values come from
 * literals, the downward API (`fieldRef`), Secrets and ConfigMaps. Pure: the caller fetches the referenced
 * Secrets and ConfigMaps first (`referencedObjects`) and passes them in; a missing non-optional reference
 * throws `ContainerConfigError`, which the kubelet reports as `CreateContainerConfigError` and retries.
 */
import type { V1ConfigMap, V1Container, V1EnvVar, V1Pod, V1Secret } from "@kubernetes/client-node";

export class ContainerConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "ContainerConfigError";
  }
}

export interface EnvSources {
  /** Secrets by name in the pod's namespace; `undefined` means it does not exist. */
  readonly secrets: ReadonlyMap<string, V1Secret | undefined>;
  readonly configMaps: ReadonlyMap<string, V1ConfigMap | undefined>;
  /** The pod IP, which the pod object may not carry yet when the container starts. */
  readonly podIp: string;
  readonly hostIp: string;
}

export interface ReferencedObjects {
  readonly secretNames: ReadonlySet<string>;
  readonly configMapNames: ReadonlySet<string>;
}

export function referencedObjects(containers: readonly V1Container[]): ReferencedObjects {
  const secretNames = new Set<string>();
  const configMapNames = new Set<string>();
  for (const container of containers) {
    for (const source of container.envFrom ?? []) {
      if (source.secretRef?.name != null) secretNames.add(source.secretRef.name);
      if (source.configMapRef?.name != null) configMapNames.add(source.configMapRef.name);
    }
    for (const variable of container.env ?? []) {
      const from = variable.valueFrom;
      if (from?.secretKeyRef?.name != null) secretNames.add(from.secretKeyRef.name);
      if (from?.configMapKeyRef?.name != null) configMapNames.add(from.configMapKeyRef.name);
    }
  }
  return { secretNames, configMapNames };
}

const labelPath = /^metadata\.(labels|annotations)\['([^']+)'\]$/;

/** Downward API field paths the kubelet supports for env. */
export function resolveFieldPath(pod: V1Pod, fieldPath: string, sources: Pick<EnvSources, "podIp" | "hostIp">): string {
  switch (fieldPath) {
    case "metadata.name":
      return pod.metadata?.name ?? "";
    case "metadata.namespace":
      return pod.metadata?.namespace ?? "";
    case "metadata.uid":
      return pod.metadata?.uid ?? "";
    case "spec.nodeName":
      return pod.spec?.nodeName ?? "";
    case "spec.serviceAccountName":
      return pod.spec?.serviceAccountName ?? "default";
    case "status.podIP":
    case "status.podIPs":
      return sources.podIp;
    case "status.hostIP":
    case "status.hostIPs":
      return sources.hostIp;
  }
  const match = labelPath.exec(fieldPath);
  if (match != null) {
    const map = match[1] === "labels" ? pod.metadata?.labels : pod.metadata?.annotations;
    return map?.[match[2] ?? ""] ?? "";
  }
  throw new ContainerConfigError(`unsupported fieldRef fieldPath "${fieldPath}"`);
}

function decodeSecretValue(secret: V1Secret, key: string): string | undefined {
  const encoded = secret.data?.[key];
  if (encoded != null) return Buffer.from(encoded, "base64").toString("utf8");
  return secret.stringData?.[key];
}

function configMapValue(configMap: V1ConfigMap, key: string): string | undefined {
  const text = configMap.data?.[key];
  if (text != null) return text;
  const binary = configMap.binaryData?.[key];
  return binary == null ? undefined : Buffer.from(binary, "base64").toString("utf8");
}

/** Expands `$(NAME)` with already defined variables; unknown references stay literal, `$$` escapes. */
export function expandVariableReferences(text: string, defined: ReadonlyMap<string, string>): string {
  return text.replace(/\$\$|\$\(([A-Za-z_][A-Za-z0-9_.-]*)\)/g, (whole, name: string | undefined) => {
    if (whole === "$$") return "$";
    if (name == null) return whole;
    return defined.get(name) ?? whole;
  });
}

function resolveValue(pod: V1Pod, variable: V1EnvVar, sources: EnvSources, defined: ReadonlyMap<string, string>): string | undefined {
  const from = variable.valueFrom;
  if (from == null) return expandVariableReferences(variable.value ?? "", defined);
  if (from.fieldRef != null) return resolveFieldPath(pod, from.fieldRef.fieldPath, sources);
  if (from.secretKeyRef != null) {
    const { name, key, optional } = from.secretKeyRef;
    const secret = name == null ? undefined : sources.secrets.get(name);
    const value = secret == null ? undefined : decodeSecretValue(secret, key);
    if (value != null) return value;
    if (optional === true) return undefined;
    throw new ContainerConfigError(
      secret == null
        ? `env ${variable.name}: secret "${name ?? ""}" not found`
        : `env ${variable.name}: couldn't find key ${key} in Secret ${pod.metadata?.namespace ?? ""}/${name ?? ""}`,
    );
  }
  if (from.configMapKeyRef != null) {
    const { name, key, optional } = from.configMapKeyRef;
    const configMap = name == null ? undefined : sources.configMaps.get(name);
    const value = configMap == null ? undefined : configMapValue(configMap, key);
    if (value != null) return value;
    if (optional === true) return undefined;
    throw new ContainerConfigError(
      configMap == null
        ? `env ${variable.name}: configmap "${name ?? ""}" not found`
        : `env ${variable.name}: couldn't find key ${key} in ConfigMap ${pod.metadata?.namespace ?? ""}/${name ?? ""}`,
    );
  }
  if (from.resourceFieldRef != null) {
    // No cgroups here; report "unlimited" the way the kubelet falls back to node allocatable.
    return "0";
  }
  throw new ContainerConfigError(`env ${variable.name}: unsupported valueFrom`);
}

/** The container's environment, in definition order. */
export function resolveContainerEnv(pod: V1Pod, container: V1Container, sources: EnvSources): Map<string, string> {
  const resolved = new Map<string, string>();
  for (const source of container.envFrom ?? []) {
    const prefix = source.prefix ?? "";
    if (source.secretRef != null) {
      const secret = sources.secrets.get(source.secretRef.name ?? "");
      if (secret == null) {
        if (source.secretRef.optional === true) continue;
        throw new ContainerConfigError(`envFrom: secret "${source.secretRef.name ?? ""}" not found`);
      }
      const keys = new Set([...Object.keys(secret.data ?? {}), ...Object.keys(secret.stringData ?? {})]);
      for (const key of keys) resolved.set(prefix + key, decodeSecretValue(secret, key) ?? "");
    }
    if (source.configMapRef != null) {
      const configMap = sources.configMaps.get(source.configMapRef.name ?? "");
      if (configMap == null) {
        if (source.configMapRef.optional === true) continue;
        throw new ContainerConfigError(`envFrom: configmap "${source.configMapRef.name ?? ""}" not found`);
      }
      for (const key of Object.keys(configMap.data ?? {})) resolved.set(prefix + key, configMapValue(configMap, key) ?? "");
    }
  }
  for (const variable of container.env ?? []) {
    const value = resolveValue(pod, variable, sources, resolved);
    if (value != null) resolved.set(variable.name, value);
  }
  return resolved;
}
