/**
 * Reconcile = validate → check the SA password Secret → render → create-once → server-side apply → status
 * (ARCHITECTURE §3, CONVENTIONS 5). It never talks to SQL Server and never reads-modifies-writes: every pass
 * sends the complete desired objects. A bad spec or a missing Secret is reported as a condition and an Event with
 * the fix, and retried with backoff; it never crashes the process.
 *
 * Status: the controller owns `observedGeneration` and the `Reconciled` condition of both kinds (and, for a
 * SQLServerInstance, phase/readyReplicas/currentImage/serviceName and `Available`); it writes ONLY those fields by
 * server-side apply on the status subresource, so the agent's fields are never touched.
 */
import type { KubernetesObject, V1StatefulSet } from "@kubernetes/client-node";
import {
  API_GROUP,
  API_VERSION,
  CONTAINER_MSSQL,
  instanceNames,
  KIND_AVAILABILITY_GROUP,
  KIND_INSTANCE,
  PLURAL_AVAILABILITY_GROUPS,
  PLURAL_INSTANCES,
  withInstanceDefaults,
  type Clock,
  type Condition,
  type InstancePhase,
  type SecretKeyRef,
  type SQLServerAvailabilityGroup,
  type SQLServerInstance,
} from "@sqlag/api";
import { describeKubeError, type CustomResourceRef, type EventTarget } from "@sqlag/kube";
import type { RenderContext, RenderedObjects } from "../render/index.js";
import type { ClusterClient } from "./cluster-client.js";
import { CONDITION_AVAILABLE, CONDITION_RECONCILED, nextCondition, sameCondition } from "./conditions.js";

/** Bounded outcome set: metric label `result` and log `reason`. */
export type ReconcileResult = "success" | "invalid_spec" | "secret_not_found" | "secret_key_not_found" | "error" | "skipped_deleting";

export interface ReconcileOutcome {
  result: ReconcileResult;
  /** "backoff": re-queue with the key's exponential backoff; "none": wait for the next change or resync. */
  requeue: "none" | "backoff";
  /** The Reconciled condition's reason (CamelCase) and message. */
  reason: string;
  message: string;
  created: number;
  applied: number;
}

export interface Renderers {
  renderAvailabilityGroup(cr: SQLServerAvailabilityGroup, ctx: RenderContext): RenderedObjects;
  renderInstance(cr: SQLServerInstance, ctx: RenderContext): RenderedObjects;
  validateAvailabilityGroup(cr: SQLServerAvailabilityGroup): string[];
  validateInstance(cr: SQLServerInstance): string[];
}

export interface ReconcileDeps {
  client: ClusterClient;
  renderers: Renderers;
  clock: Clock;
  randomSecret: () => string;
  requestTimeoutMs: number;
}

/** What the generic pass needs to know about one CR. */
interface Subject {
  ref: CustomResourceRef;
  target: EventTarget;
  generation: number | undefined;
  deleting: boolean;
  secretRef: SecretKeyRef;
  previousObservedGeneration: number | undefined;
  previousConditions: readonly Condition[] | undefined;
  validate(): string[];
  render(ctx: RenderContext): RenderedObjects;
  /** Extra controller-owned status (Instance: phase, readyReplicas, …) and conditions besides Reconciled. */
  extraStatus(): { fields: Record<string, unknown>; previousFields: Record<string, unknown>; conditions: Condition[] };
}

export function reconcileAvailabilityGroup(cr: SQLServerAvailabilityGroup, deps: ReconcileDeps): Promise<ReconcileOutcome> {
  const subject: Subject = {
    ...identity(cr, KIND_AVAILABILITY_GROUP, PLURAL_AVAILABILITY_GROUPS),
    secretRef: cr.spec.saPasswordSecretRef,
    previousObservedGeneration: cr.status?.observedGeneration,
    previousConditions: cr.status?.conditions,
    validate: () => deps.renderers.validateAvailabilityGroup(cr),
    render: (ctx) => deps.renderers.renderAvailabilityGroup(cr, ctx),
    extraStatus: () => ({ fields: {}, previousFields: {}, conditions: [] }),
  };
  return reconcileSubject(subject, deps);
}

export function reconcileInstance(cr: SQLServerInstance, statefulSet: V1StatefulSet | undefined, deps: ReconcileDeps): Promise<ReconcileOutcome> {
  const subject: Subject = {
    ...identity(cr, KIND_INSTANCE, PLURAL_INSTANCES),
    secretRef: cr.spec.saPasswordSecretRef,
    previousObservedGeneration: cr.status?.observedGeneration,
    previousConditions: cr.status?.conditions,
    validate: () => deps.renderers.validateInstance(cr),
    render: (ctx) => deps.renderers.renderInstance(cr, ctx),
    extraStatus: () => {
      const observed = instanceStatusFromStatefulSet(cr, statefulSet);
      const { available, ...fields } = observed;
      const previous = cr.status ?? {};
      const previousFields: Record<string, unknown> = {};
      for (const key of Object.keys(fields)) previousFields[key] = (previous as Record<string, unknown>)[key];
      const condition = nextCondition(cr.status?.conditions, CONDITION_AVAILABLE, available.status, available.reason, available.message, cr.metadata.generation, deps.clock.wallNow());
      return { fields, previousFields, conditions: [condition] };
    },
  };
  return reconcileSubject(subject, deps);
}

function identity(
  cr: SQLServerAvailabilityGroup | SQLServerInstance,
  kind: string,
  plural: string,
): Pick<Subject, "ref" | "target" | "generation" | "deleting"> {
  const { name, namespace, uid, generation, deletionTimestamp } = cr.metadata;
  return {
    ref: { group: API_GROUP, version: API_VERSION, kind, plural, namespace, name },
    target: { apiVersion: `${API_GROUP}/${API_VERSION}`, kind, name, namespace, ...(uid !== undefined ? { uid } : {}) },
    generation,
    deleting: deletionTimestamp !== undefined,
  };
}

async function reconcileSubject(subject: Subject, deps: ReconcileDeps): Promise<ReconcileOutcome> {
  if (subject.deleting) {
    // Owner references let the garbage collector remove the children; nothing to render for a dying CR.
    return { result: "skipped_deleting", requeue: "none", reason: "Deleting", message: "The resource is being deleted.", created: 0, applied: 0 };
  }
  const signal = (): AbortSignal => AbortSignal.timeout(deps.requestTimeoutMs);

  const problems = subject.validate();
  if (problems.length > 0) {
    const message = `The spec cannot be rendered: ${problems.join(" ")}`;
    return finish(subject, deps, { result: "invalid_spec", requeue: "none", reason: "InvalidSpec", message, created: 0, applied: 0 });
  }

  const { name: secretName, key: secretKey } = subject.secretRef;
  const ns = subject.ref.namespace;
  let keys: string[] | undefined;
  try {
    keys = await deps.client.secretKeys(ns, secretName, signal());
  } catch (e) {
    return finish(subject, deps, failure("error", "SecretUnreadable", `Reading Secret ${ns}/${secretName} failed (${errorSummary(e)}); the controller retries with backoff. Check that the controller may get Secrets in this namespace.`));
  }
  if (keys === undefined) {
    return finish(subject, deps, failure("secret_not_found", "SecretNotFound",
      `Secret ${ns}/${secretName} named in spec.saPasswordSecretRef does not exist. Create it with the SA password under key "${secretKey}", for example: kubectl -n ${ns} create secret generic ${secretName} --from-literal=${secretKey}=<password>.`));
  }
  if (!keys.includes(secretKey)) {
    return finish(subject, deps, failure("secret_key_not_found", "SecretKeyNotFound",
      `Secret ${ns}/${secretName} has no key "${secretKey}" (spec.saPasswordSecretRef.key). Add the SA password under that key, or point spec.saPasswordSecretRef.key at the key that holds it.`));
  }

  let rendered: RenderedObjects;
  try {
    rendered = subject.render({ randomSecret: deps.randomSecret });
  } catch (e) {
    const message = e instanceof Error ? e.message : String(e);
    return finish(subject, deps, failure("error", "RenderFailed", `Rendering failed: ${message}. The controller retries with backoff.`));
  }

  let created = 0;
  let applied = 0;
  let current: KubernetesObject | undefined;
  try {
    for (const obj of rendered.createIfMissing) {
      current = obj;
      if ((await deps.client.createIfMissing(obj, signal())) === "created") created += 1;
    }
    for (const obj of rendered.applied) {
      current = obj;
      await deps.client.apply(obj, signal());
      applied += 1;
    }
  } catch (e) {
    const what = `${current?.kind ?? "object"} ${current?.metadata?.namespace ?? ns}/${current?.metadata?.name ?? "?"}`;
    return finish(subject, deps, { ...failure("error", "ApplyFailed", `Applying ${what} failed (${errorSummary(e)}); the controller retries with backoff. See the controller logs for details.`), created, applied });
  }

  const total = rendered.applied.length + rendered.createIfMissing.length;
  return finish(subject, deps, { result: "success", requeue: "none", reason: "ReconcileSucceeded", message: `All ${total} objects are up to date.`, created, applied });
}

function failure(result: ReconcileResult, reason: string, message: string): ReconcileOutcome {
  return { result, requeue: "backoff", reason, message, created: 0, applied: 0 };
}

function errorSummary(e: unknown): string {
  return describeKubeError(e).message;
}

/** Writes status (only when something changed) and an Event when the Reconciled condition transitions. */
async function finish(subject: Subject, deps: ReconcileDeps, outcome: ReconcileOutcome): Promise<ReconcileOutcome> {
  const ok = outcome.result === "success";
  const now = deps.clock.wallNow();
  const reconciled = nextCondition(subject.previousConditions, CONDITION_RECONCILED, ok ? "True" : "False", outcome.reason, outcome.message, subject.generation, now);
  const extra = ok || outcome.result !== "invalid_spec" ? subject.extraStatus() : { fields: {}, previousFields: {}, conditions: [] };
  const conditions = [reconciled, ...extra.conditions];

  const unchanged =
    subject.previousObservedGeneration === subject.generation &&
    conditions.every((c) => sameCondition(subject.previousConditions, c)) &&
    Object.keys(extra.fields).every((k) => JSON.stringify(extra.fields[k]) === JSON.stringify(extra.previousFields[k]));
  if (!unchanged) {
    const status: Record<string, unknown> = { ...extra.fields, conditions };
    if (subject.generation !== undefined) status.observedGeneration = subject.generation;
    try {
      await deps.client.patchStatus(subject.ref, status, AbortSignal.timeout(deps.requestTimeoutMs));
    } catch (e) {
      if (ok) {
        outcome = { ...outcome, ...failure("error", "StatusUpdateFailed", `Writing status failed (${errorSummary(e)}); the controller retries with backoff.`), created: outcome.created, applied: outcome.applied };
      }
      // On a failure path the original failure stays the outcome; the status write is retried with it.
    }
  }

  const before = subject.previousConditions?.find((c) => c.type === CONDITION_RECONCILED);
  if (before === undefined || before.status !== reconciled.status || before.reason !== reconciled.reason) {
    await deps.client.recordEvent(subject.target, ok ? "Normal" : "Warning", outcome.reason, outcome.message);
  }
  return outcome;
}

export interface ObservedInstanceStatus {
  phase: InstancePhase;
  readyReplicas: number;
  currentImage?: string;
  serviceName: string;
  available: { status: Condition["status"]; reason: string; message: string };
}

/**
 * Instance status from its StatefulSet (pure): Upgrading while the template's SQL Server image differs from the
 * spec or a rollout is in progress; Running once the rollout is complete and the pod is ready; Pending otherwise.
 */
export function instanceStatusFromStatefulSet(cr: SQLServerInstance, sts: V1StatefulSet | undefined): ObservedInstanceStatus {
  const serviceName = instanceNames.clientService(cr.metadata.name);
  const pod = instanceNames.pod(cr.metadata.name);
  if (sts === undefined) {
    return {
      phase: "Pending",
      readyReplicas: 0,
      serviceName,
      available: { status: "False", reason: "StatefulSetMissing", message: `StatefulSet ${cr.metadata.name} does not exist yet; it is created on the next successful reconcile.` },
    };
  }
  const desiredImage = withInstanceDefaults(cr.spec).image;
  const templateImage = sts.spec?.template.spec?.containers.find((c) => c.name === CONTAINER_MSSQL)?.image;
  const status = sts.status;
  const readyReplicas = status?.readyReplicas ?? 0;
  const rolloutComplete =
    (status?.observedGeneration ?? 0) >= (sts.metadata?.generation ?? 0) &&
    status?.updateRevision !== undefined &&
    status.updateRevision === status.currentRevision &&
    (status.updatedReplicas ?? 0) >= (sts.spec?.replicas ?? 1);
  const upgrading = templateImage !== desiredImage || !rolloutComplete;
  const phase: InstancePhase = upgrading && readyReplicas < 1 && status?.currentRevision === undefined ? "Pending" : upgrading ? "Upgrading" : readyReplicas >= 1 ? "Running" : "Pending";
  const observed: ObservedInstanceStatus = {
    phase,
    readyReplicas,
    serviceName,
    available:
      readyReplicas >= 1
        ? { status: "True", reason: "PodReady", message: `Pod ${pod} is ready and SQL Server answers through Service ${serviceName}.` }
        : { status: "False", reason: "PodNotReady", message: `Pod ${pod} is not ready yet; see kubectl describe pod ${pod} and the sqlag-agent container's logs.` },
  };
  const currentImage = rolloutComplete ? templateImage : cr.status?.currentImage;
  if (currentImage !== undefined) observed.currentImage = currentImage;
  return observed;
}
