/**
 * Reading manifests from the repository and applying them the way `kubectl apply --server-side` does: one
 * server-side apply patch per object through client-node's KubernetesObjectApi, so the specs exercise the same
 * API path as users and the controller.
 */
import { readFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { KubernetesObjectApi, PatchStrategy, loadYaml, type KubeConfig, type KubernetesObject } from "@kubernetes/client-node";
import { parseAllDocuments } from "yaml";

/** e2e/dist/support → repository root. */
export const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../..");

export function repoPath(...segments: string[]): string {
  return path.join(repoRoot, ...segments);
}

export const e2eFieldManager = "sqlag-e2e";

export class ManifestParseError extends Error {
  constructor(source: string, detail: string) {
    super(`cannot parse manifests from ${source}: ${detail}`);
    this.name = "ManifestParseError";
  }
}

/** Every non-empty document of a multi-document YAML text, in order. */
export function parseManifests(text: string, source = "<text>"): KubernetesObject[] {
  const objects: KubernetesObject[] = [];
  for (const document of parseAllDocuments(text)) {
    if (document.errors.length > 0) throw new ManifestParseError(source, document.errors.map((e) => e.message).join("; "));
    const value: unknown = document.toJS();
    if (value == null) continue;
    if (typeof value !== "object" || Array.isArray(value)) throw new ManifestParseError(source, "a document is not an object");
    objects.push(value as KubernetesObject);
  }
  return objects;
}

export function readManifestFile(relativePath: string): KubernetesObject[] {
  return parseManifests(readFileSync(repoPath(relativePath), "utf8"), relativePath);
}

export function describeObject(object: KubernetesObject): string {
  const namespace = object.metadata?.namespace;
  return `${object.kind ?? "?"} ${namespace !== undefined ? `${namespace}/` : ""}${object.metadata?.name ?? "?"}`;
}

/** A deep copy with metadata.namespace replaced (cluster-scoped kinds must not be passed here). */
export function inNamespace<T extends KubernetesObject>(object: T, namespace: string): T {
  const copy = structuredClone(object);
  copy.metadata = { ...copy.metadata, namespace };
  return copy;
}

export interface ApplyOptions {
  readonly fieldManager?: string;
  /** Server-side dry-run: validated and admitted, not stored. */
  readonly dryRun?: boolean;
  /** Take over fields another manager owns (what `kubectl apply --server-side --force-conflicts` does). */
  readonly forceConflicts?: boolean;
}

export class ApplyError extends Error {
  constructor(
    readonly object: KubernetesObject,
    readonly status: number | undefined,
    readonly serverMessage: string,
    options: { cause: unknown },
  ) {
    super(`apply ${describeObject(object)} failed${status !== undefined ? ` (HTTP ${status})` : ""}: ${serverMessage}`, options);
    this.name = "ApplyError";
  }
}

/** The apiserver's Status message of a client-node ApiException, or the error's own message. */
export function serverMessage(error: unknown): string {
  const body = (error as { body?: unknown } | null)?.body;
  if (typeof body === "string") {
    try {
      const parsed = JSON.parse(body) as { message?: unknown };
      if (typeof parsed.message === "string") return parsed.message;
    } catch {
      return body;
    }
    return body;
  }
  if (body != null && typeof body === "object" && typeof (body as { message?: unknown }).message === "string") {
    return (body as { message: string }).message;
  }
  return error instanceof Error ? error.message : String(error);
}

/**
 * The object in client-node's typed model. KubernetesObjectApi serializes by the kind's model, which reads typed
 * property names (`_enum`, `xKubernetesValidations`) and silently DROPS wire names such as `enum` or
 * `x-kubernetes-validations` from a plain parsed-YAML object: a CRD applied that way loses its validation. A JSON
 * round trip through client-node's own loadYaml (JSON is YAML; quoted strings stay strings) maps wire names to the
 * model first, so serialization puts them back.
 */
export function toClientModel<T extends KubernetesObject>(wireObject: T): T {
  return loadYaml<T>(JSON.stringify(wireObject));
}

/** Server-side apply of a wire-format object (as parsed from YAML, not a client-node typed instance). */
export async function applyObject<T extends KubernetesObject>(kc: KubeConfig, object: T, options: ApplyOptions = {}): Promise<T> {
  const client = KubernetesObjectApi.makeApiClient(kc);
  try {
    return await client.patch<T>(
      toClientModel(object),
      undefined,
      options.dryRun === true ? "All" : undefined,
      options.fieldManager ?? e2eFieldManager,
      options.forceConflicts ?? true,
      PatchStrategy.ServerSideApply,
    );
  } catch (error) {
    const code = (error as { code?: unknown } | null)?.code;
    throw new ApplyError(object, typeof code === "number" ? code : undefined, serverMessage(error), { cause: error });
  }
}

/** Applies the objects one by one, in order (namespaces and CRDs first is the caller's job). */
export async function applyObjects(kc: KubeConfig, objects: readonly KubernetesObject[], options: ApplyOptions = {}): Promise<KubernetesObject[]> {
  const applied: KubernetesObject[] = [];
  for (const object of objects) applied.push(await applyObject(kc, object, options));
  return applied;
}
