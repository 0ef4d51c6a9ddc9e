/**
 * Typed access to the two sqlag custom resources through CustomObjectsApi, and small readers for conditions, so
 * specs do not repeat group/version/plural strings.
 */
import { CustomObjectsApi, type KubeConfig, type KubernetesObject } from "@kubernetes/client-node";
import { API_GROUP, API_VERSION, KIND_AVAILABILITY_GROUP, KIND_INSTANCE, PLURAL_AVAILABILITY_GROUPS, PLURAL_INSTANCES } from "@sqlag/api";

export interface ConditionLike {
  readonly type?: string;
  readonly status?: string;
  readonly reason?: string;
  readonly message?: string;
}

export type SqlagObject = KubernetesObject & { spec?: unknown; status?: { conditions?: ConditionLike[]; [key: string]: unknown } };

export function pluralOfKind(kind: string | undefined): string {
  if (kind === KIND_AVAILABILITY_GROUP) return PLURAL_AVAILABILITY_GROUPS;
  if (kind === KIND_INSTANCE) return PLURAL_INSTANCES;
  throw new Error(`not a sqlag kind: ${kind ?? "(none)"}`);
}

export function conditionOf(object: { status?: { conditions?: readonly ConditionLike[] } } | undefined, type: string): ConditionLike | undefined {
  return object?.status?.conditions?.find((condition) => condition.type === type);
}

export interface CustomObjectCallOptions {
  readonly dryRun?: boolean;
  /** "Strict" makes unknown fields an error instead of silently pruning them. */
  readonly fieldValidation?: "Strict" | "Warn" | "Ignore";
}

export class SqlagObjects {
  private readonly api: CustomObjectsApi;

  constructor(kc: KubeConfig) {
    this.api = kc.makeApiClient(CustomObjectsApi);
  }

  async create(namespace: string, object: KubernetesObject, options: CustomObjectCallOptions = {}): Promise<SqlagObject> {
    return (await this.api.createNamespacedCustomObject({
      group: API_GROUP,
      version: API_VERSION,
      namespace,
      plural: pluralOfKind(object.kind),
      body: object,
      ...(options.dryRun === true ? { dryRun: "All" } : {}),
      ...(options.fieldValidation !== undefined ? { fieldValidation: options.fieldValidation } : {}),
    })) as SqlagObject;
  }

  async replace(namespace: string, object: KubernetesObject, options: CustomObjectCallOptions = {}): Promise<SqlagObject> {
    return (await this.api.replaceNamespacedCustomObject({
      group: API_GROUP,
      version: API_VERSION,
      namespace,
      plural: pluralOfKind(object.kind),
      name: object.metadata?.name ?? "",
      body: object,
      ...(options.dryRun === true ? { dryRun: "All" } : {}),
      ...(options.fieldValidation !== undefined ? { fieldValidation: options.fieldValidation } : {}),
    })) as SqlagObject;
  }

  async read(namespace: string, kind: string, name: string): Promise<SqlagObject> {
    return (await this.api.getNamespacedCustomObject({ group: API_GROUP, version: API_VERSION, namespace, plural: pluralOfKind(kind), name })) as SqlagObject;
  }

  async delete(namespace: string, kind: string, name: string): Promise<void> {
    await this.api.deleteNamespacedCustomObject({ group: API_GROUP, version: API_VERSION, namespace, plural: pluralOfKind(kind), name });
  }
}
