/**
 * The controller's own leader election (two replicas may run; only the leader reconciles). Built on the
 * client-go–style LeaderElector of @sqlag/kube; telemetry for its events lives here.
 */
import type { Clock } from "@sqlag/api";
import type { KubeConfig } from "@kubernetes/client-node";
import { createLeaseClient, LeaderElector, type LeaderElectionOutcome, type LeaderElectorEvent } from "@sqlag/kube";
import type { ControllerConfig } from "./config.js";
import type { ControllerMetrics } from "./metrics.js";
import type { Logger } from "./reconcile/logger.js";

export interface LeaderRunner {
  /** Runs `lead` while leading; resolves with how leadership ended. */
  run(signal: AbortSignal): Promise<LeaderElectionOutcome>;
  isLeader(): boolean;
}

/** Logs and counts every elector event; exhaustive so a new event type needs a handler. */
export function leaderEventTelemetry(logger: Logger, metrics: ControllerMetrics | undefined): (event: LeaderElectorEvent) => void {
  return (event) => {
    switch (event.type) {
      case "acquired":
        metrics?.setLeader(true);
        logger.info("Acquired controller leadership", { epoch: event.epoch });
        return;
      case "new_leader":
        logger.info("Observed controller leader", { holder: event.holder });
        return;
      case "renew_failed":
        logger.warn("Leader lease renewal failed", { err: event.err });
        return;
      case "acquire_failed":
        logger.debug("Leader lease acquisition attempt failed", { err: event.err });
        return;
      case "lost":
        metrics?.setLeader(false);
        logger.error("Lost controller leadership", { reason: event.reason });
        return;
      case "released":
        metrics?.setLeader(false);
        logger.info("Released controller leadership");
        return;
      case "release_failed":
        metrics?.setLeader(false);
        logger.warn("Releasing the leader lease failed; the standby takes over after the lease duration", { err: event.err });
        return;
      default: {
        const unhandled: never = event;
        throw new Error(`Unhandled leader event ${JSON.stringify(unhandled)}`);
      }
    }
  };
}

export function createLeaderRunner(options: {
  config: ControllerConfig;
  kc: KubeConfig;
  clock: Clock;
  logger: Logger;
  metrics?: ControllerMetrics;
  lead: (signal: AbortSignal) => Promise<void>;
}): LeaderRunner {
  const { config, kc, clock, logger, metrics, lead } = options;
  if (!config.leaderElection.enabled) {
    // Single-replica mode (development): lead until stopped.
    let leading = false;
    return {
      isLeader: () => leading,
      async run(signal) {
        leading = true;
        metrics?.setLeader(true);
        await lead(signal);
        leading = false;
        metrics?.setLeader(false);
        return "released";
      },
    };
  }
  const { namespace, leaseName, timing } = config.leaderElection;
  const elector = new LeaderElector({
    lease: createLeaseClient(kc, namespace, leaseName, clock),
    identity: config.identity,
    timing,
    clock,
    onStartedLeading: lead,
    onEvent: leaderEventTelemetry(logger, metrics),
  });
  return { run: (signal) => elector.run(signal), isLeader: () => elector.isLeader() };
}
