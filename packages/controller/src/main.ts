/**
 * Composition root of the controller: the only module that reads the environment, creates the logger, the
 * registry and the API clients, and handles signals. SIGTERM stops the workers, waits for in-flight reconciles,
 * releases the leader Lease (so the standby takes over at once) and exits 0. Losing leadership exits 1 so the
 * pod restarts as a follower (client-go guidance: a lost leader must not keep acting).
 */
import { AppsV1Api, CustomObjectsApi, type KubeConfig, type KubernetesListObject, type KubernetesObject, type V1StatefulSet } from "@kubernetes/client-node";
import {
  API_GROUP,
  API_VERSION,
  labels,
  MANAGED_BY,
  PLURAL_AVAILABILITY_GROUPS,
  PLURAL_INSTANCES,
  type Clock,
  type SQLServerAvailabilityGroup,
  type SQLServerInstance,
} from "@sqlag/api";
import {
  CoreV1EventSink,
  EventRecorder,
  KubeObjectWriter,
  loadKubeConfig,
  makeApiClient,
  makeClientNodeInformer,
  SupervisedInformer,
  systemClock,
  withSignal,
  type InformerSupervisorEvent,
} from "@sqlag/kube";
import { pathToFileURL } from "node:url";
import { Registry } from "prom-client";
import winston from "winston";
import { loadControllerConfig, type ControllerConfig } from "./config.js";
import { close, createHttpApp, listen } from "./http/server.js";
import { createLeaderRunner } from "./leader.js";
import { createControllerMetrics } from "./metrics.js";
import * as renderers from "./render/index.js";
import { KubeClusterClient } from "./reconcile/kube-cluster-client.js";
import type { Logger } from "./reconcile/logger.js";
import { ControllerRuntime } from "./reconcile/runtime.js";
import { WorkQueue } from "./reconcile/work-queue.js";

const VERSION = "0.1.0";
const LIST_TIMEOUT_MS = 60_000;

type AgObject = SQLServerAvailabilityGroup & KubernetesObject;
type InstanceObject = SQLServerInstance & KubernetesObject;

function informerTelemetry(logger: Logger): (event: InformerSupervisorEvent) => void {
  return (event) => {
    switch (event.type) {
      case "synced":
        logger.info("Informer synced", { informer: event.informer });
        return;
      case "failed":
        logger.warn("Informer failed; restarting", { informer: event.informer, err: event.err, retryInMs: event.restartInMs });
        return;
      case "restarted":
        logger.debug("Informer restarted", { informer: event.informer });
        return;
      default: {
        const unhandled: never = event;
        throw new Error(`Unhandled informer event ${JSON.stringify(unhandled)}`);
      }
    }
  };
}

function customResourceInformers<T extends KubernetesObject>(
  kc: KubeConfig,
  config: ControllerConfig,
  plural: string,
  clock: Clock,
  logger: Logger,
): SupervisedInformer<T>[] {
  const api = makeApiClient(kc, CustomObjectsApi);
  const scopes: (string | undefined)[] = config.watchNamespaces ?? [undefined];
  return scopes.map((namespace) => {
    const path = namespace === undefined ? `/apis/${API_GROUP}/${API_VERSION}/${plural}` : `/apis/${API_GROUP}/${API_VERSION}/namespaces/${namespace}/${plural}`;
    const list = (): Promise<KubernetesListObject<T>> =>
      withSignal(AbortSignal.timeout(LIST_TIMEOUT_MS), () =>
        namespace === undefined
          ? (api.listClusterCustomObject({ group: API_GROUP, version: API_VERSION, plural }) as Promise<KubernetesListObject<T>>)
          : (api.listNamespacedCustomObject({ group: API_GROUP, version: API_VERSION, namespace, plural }) as Promise<KubernetesListObject<T>>),
      );
    return new SupervisedInformer<T>({
      name: namespace === undefined ? plural : `${plural}/${namespace}`,
      informer: makeClientNodeInformer<T>(kc, path, list),
      clock,
      brokenThresholdMs: config.informerBrokenThresholdMs,
      onEvent: informerTelemetry(logger),
    });
  });
}

function statefulSetInformers(kc: KubeConfig, config: ControllerConfig, clock: Clock, logger: Logger): SupervisedInformer<V1StatefulSet>[] {
  const api = makeApiClient(kc, AppsV1Api);
  const labelSelector = `${labels.managedBy}=${MANAGED_BY}`;
  const scopes: (string | undefined)[] = config.watchNamespaces ?? [undefined];
  return scopes.map((namespace) => {
    const path = namespace === undefined ? "/apis/apps/v1/statefulsets" : `/apis/apps/v1/namespaces/${namespace}/statefulsets`;
    const list = (): Promise<KubernetesListObject<V1StatefulSet>> =>
      withSignal(AbortSignal.timeout(LIST_TIMEOUT_MS), () =>
        namespace === undefined ? api.listStatefulSetForAllNamespaces({ labelSelector }) : api.listNamespacedStatefulSet({ namespace, labelSelector }),
      );
    return new SupervisedInformer<V1StatefulSet>({
      name: namespace === undefined ? "statefulsets" : `statefulsets/${namespace}`,
      informer: makeClientNodeInformer<V1StatefulSet>(kc, path, list, labelSelector),
      clock,
      brokenThresholdMs: config.informerBrokenThresholdMs,
      onEvent: informerTelemetry(logger),
    });
  });
}

export async function main(env: NodeJS.ProcessEnv = process.env): Promise<number> {
  const loaded = loadControllerConfig(env);
  if (!loaded.ok) {
    process.stderr.write(`${JSON.stringify({ level: "error", message: "Invalid configuration", problems: loaded.problems })}\n`);
    return 2;
  }
  const config = loaded.config;
  const rootLogger = winston.createLogger({
    level: config.logLevel,
    format: winston.format.combine(winston.format.timestamp(), winston.format.json()),
    transports: [new winston.transports.Console()],
  });
  const logger: Logger = rootLogger.child({ component: "controller", pod: config.identity });
  const clock = systemClock;
  const kc = loadKubeConfig();

  const queue = new WorkQueue({ clock });
  const availabilityGroups = customResourceInformers<AgObject>(kc, config, PLURAL_AVAILABILITY_GROUPS, clock, rootLogger.child({ component: "informer" }));
  const instances = customResourceInformers<InstanceObject>(kc, config, PLURAL_INSTANCES, clock, rootLogger.child({ component: "informer" }));
  const statefulSets = statefulSetInformers(kc, config, clock, rootLogger.child({ component: "informer" }));

  const eventsLogger = rootLogger.child({ component: "events" });
  const events = new EventRecorder({
    sink: CoreV1EventSink.fromKubeConfig(kc),
    clock,
    component: "sqlag-controller",
    instance: config.identity,
    onError: (err) => eventsLogger.warn("Event write failed", { err: err instanceof Error ? { name: err.name, message: err.message } : String(err) }),
  });
  const client = KubeClusterClient.fromKubeConfig(kc, KubeObjectWriter.fromKubeConfig(kc), events);

  const registry = new Registry();
  const allInformers = [...availabilityGroups, ...instances, ...statefulSets];
  const metrics = createControllerMetrics(
    registry,
    { queueDepth: () => queue.length(), informerHealth: () => allInformers.map((i) => ({ informer: i.name, synced: i.hasSynced(), healthy: i.healthy() })) },
    { version: VERSION, commit: env.SQLAG_BUILD_COMMIT ?? "unknown" },
  );
  const controllerRuntime = new ControllerRuntime({
    availabilityGroups,
    instances,
    statefulSets,
    queue,
    deps: { client, renderers, clock, randomSecret: () => renderers.generateSqlPassword(), requestTimeoutMs: config.requestTimeoutMs },
    clock,
    workers: config.workers,
    resyncPeriodMs: config.resyncPeriodMs,
    metrics,
    logger: rootLogger.child({ component: "reconcile" }),
  });

  const leader = createLeaderRunner({
    config,
    kc,
    clock,
    logger: rootLogger.child({ component: "leader-election" }),
    metrics,
    lead: (signal) => controllerRuntime.runWorkers(signal),
  });

  let electionEnded = false;
  const app = createHttpApp(
    {
      alive: () => (electionEnded ? { ok: false, reason: "leader election stopped" } : { ok: true }),
      ready: () => {
        const reasons = controllerRuntime.notReadyReasons();
        if (electionEnded) reasons.push("leader election stopped");
        return { ok: reasons.length === 0, reasons };
      },
    },
    registry,
  );
  const server = await listen(app, config.httpPort, config.httpBindAddress);
  logger.info("Controller started", { httpPort: config.httpPort, watchNamespaces: config.watchNamespaces ?? "all", workers: config.workers });

  const stop = new AbortController();
  const onSignal = (signal: string): void => {
    logger.info("Shutting down", { signal });
    stop.abort();
  };
  process.once("SIGTERM", () => onSignal("SIGTERM"));
  process.once("SIGINT", () => onSignal("SIGINT"));

  const informersStarted = controllerRuntime.startInformers(stop.signal);
  const outcome = await leader.run(stop.signal);
  electionEnded = true;
  queue.shutDown();
  stop.abort();
  await informersStarted.catch(() => undefined);
  await close(server);
  if (outcome === "lost") {
    logger.error("Exiting after losing leadership so the pod restarts as a follower");
    return 1;
  }
  logger.info("Stopped", { outcome });
  return 0;
}

// Run only when executed as the entry point (not when imported by tests or the image smoke check).
// Exits explicitly: watch connections and timers would otherwise keep the process alive after shutdown.
const entry = process.argv[1];
if (entry !== undefined && import.meta.url === pathToFileURL(entry).href) {
  main().then(
    (code) => process.exit(code),
    (e: unknown) => {
      process.stderr.write(`${JSON.stringify({ level: "error", message: "Controller crashed", err: e instanceof Error ? { name: e.name, message: e.message, stack: e.stack } : String(e) })}\n`);
      process.exit(1);
    },
  );
}
