/**
 * The agent loop (ARCHITECTURE §4.1): observe → decide → act → publish at a fixed cadence, never blocked by
 * slow work. Every branch that can promote, demote, fence or create lives in the pure `decide`; this module only
 * gathers facts, performs the decided actions in order, and reports what happened.
 *
 * Safety-relevant duties of the executor (the rest is plumbing):
 * - `renewSqlWriteLease` is re-checked right before sending with `sqlLeaseRenewalAllowed`: the last SUCCESSFUL
 *   Lease renewal must have been SENT within renewDeadline (or the failsafe heartbeat still valid). A stale
 *   decision can therefore never extend the SQL lease (§4.4).
 * - A failed Lease write or SQL-lease renewal skips the rest of the decision (what follows may depend on it).
 * - At most one long action runs at a time, on its own connection; the loop keeps renewing or fencing.
 * - Every SQL and API call carries a timeout shorter than the renew deadline.
 */
import type { V1Pod } from "@kubernetes/client-node";
import {
  agentBaseUrl,
  annotations,
  labels,
  ordinalOfPod,
  roleLabelValues,
  withDefaults,
  type AgentStatus,
  type Clock,
  type FailsafeAck,
  type FailsafeHeartbeat,
  type PreStopResponse,
  type SequenceReport,
  type SequenceReportRequest,
} from "@sqlag/api";
import { observeLease, type LeaseObservation } from "@sqlag/kube/lease-math";
import type { EventRecorder } from "@sqlag/kube";
import type winston from "winston";
import type { AvailabilityGroupAgentConfig } from "../config.js";
import {
  assertNever,
  decide,
  initialMemory,
  isLongAction,
  sqlLeaseRenewalAllowed,
  type Action,
  type AgentMemory,
  type CompletedAction,
  type Decision,
  type Observation,
  type PeerObservation,
} from "../core/index.js";
import type { AgentHttpHandlers, Check } from "../http/server.js";
import type { AgentMetrics } from "../http/metrics.js";
import { PeerClient } from "../peers/peer-client.js";
import type { DiagnosticsSnapshot } from "../sql/diagnostics-monitor.js";
import { SqlQueryError } from "../sql/errors.js";
import type { AgentKubePort, KubeChangeKind } from "./kube-port.js";
import { toHadrSecret } from "./kube-io.js";
import { observeLocalSql, type SqlQuerier } from "./sql-observer.js";
import * as actions from "./sql-actions.js";
import { buildAgentStatus, buildCrStatus, statusFingerprint } from "./status.js";

export interface AgentLoopDeps {
  config: AvailabilityGroupAgentConfig;
  clock: Clock;
  kube: AgentKubePort;
  /** Observation queries (short). */
  observeSql: SqlQuerier;
  /** SQL write-lease renewals and short statements: never queued behind a long action. */
  leaseSql: actions.SqlExecutor;
  /** Long actions (FAILOVER, JOIN, bootstrap…), one at a time. */
  actionSql: actions.SqlExecutor;
  /** The health monitor's latest facts (DiagnosticsMonitor in production). */
  diagnostics: { snapshot(): DiagnosticsSnapshot };
  metrics: AgentMetrics;
  logger: winston.Logger;
  events: EventRecorder;
  version: string;
  /** The pure decision function; only tests replace it (to script decisions and check the executor rules). */
  decide?: typeof decide;
  /**
   * Base URL of a peer's agent API. Default: the pod IP from the pod cache with the agent's HTTP port, else the
   * headless-Service name. Tests running several agents on one host give each its own port.
   */
  peerBaseUrl?: (pod: string) => string | undefined;
}

interface RunningAction {
  kind: Action["kind"];
  startedAtMs: number;
  epoch?: number;
}

export class AgentLoop implements AgentHttpHandlers {
  private memory: AgentMemory = initialMemory();
  private readonly completed: CompletedAction[] = [];
  private running: RunningAction | undefined;
  private leaseObservation: LeaseObservation | undefined;
  private lastRenewSentAtMs: number | undefined;
  private sqlLeaseLastAttemptEndedAtMs: number | undefined;
  private sqlLeaseInFlight = false;
  private readonly agentStartedAtMs: number;
  private lastCycleEndedAtMs: number;
  private lastFailsafeAckAtMs: number | undefined;
  /** Set while a cycle that sends failsafe heartbeats executes: the deadline its Kubernetes writes share. */
  private cycleKubeWriteSignal: AbortSignal | undefined;
  private preStopWaiters: ((answer: PreStopResponse) => void)[] = [];
  private preStopStartedAtMs: number | undefined;
  private lastDecision: Decision | undefined;
  private lastObservation: Observation | undefined;
  private lastStatus: AgentStatus | undefined;
  private lastCrStatusFingerprint: string | undefined;
  private readonly peerStatuses = new Map<string, { status: AgentStatus; atMs: number }>();
  private readonly peerClient: PeerClient;
  private readonly stopController = new AbortController();
  private loopPromise: Promise<void> | undefined;
  private peerPollPromise: Promise<void> | undefined;
  /** Aborting it ends the loop's current sleep early (see wakeLoop). */
  private loopWake: AbortController | undefined;
  /** A wake that arrived while a cycle was running: the next cycle starts right after this one. */
  private wakeRequested = false;
  /** Aborting it ends the peer poller's current sleep early. */
  private peerPollWake: AbortController | undefined;
  private peerPollWakeRequested = false;
  /** What of the watched objects the decision depends on, to wake the loop only on a relevant change. */
  private watchedFingerprint: string | undefined;
  /** Since when decide() has given the current reason (fast follow-up cycles are bounded in time). */
  private reasonSinceMs: number | undefined;
  private cycleCount = 0;
  private readonly ctx: actions.SqlActionContext;
  private readonly leaseCtx: actions.SqlActionContext;

  constructor(private readonly deps: AgentLoopDeps) {
    this.agentStartedAtMs = deps.clock.nowMs();
    this.lastCycleEndedAtMs = this.agentStartedAtMs;
    const c = deps.config;
    this.peerClient = new PeerClient({
      baseUrl:
        deps.peerBaseUrl ??
        ((pod) => {
          const ip = deps.kube.pod(pod)?.status?.podIP;
          return ip !== undefined ? `http://${ip}:${c.httpPort}` : agentBaseUrl(pod, c.clusterName, c.namespace, c.clusterDomain, c.httpPort);
        }),
      peerToken: () => this.peerToken(),
    });
    const base = {
      secrets: deps.kube.secretStore(),
      clock: deps.clock,
      agName: c.agName,
      clusterName: c.clusterName,
      namespace: c.namespace,
      podName: c.podName,
      endpointPort: c.endpointPort,
      // FAILOVER and OFFLINE return before the role changes; every poll step adds to the write gap of a failover.
      rolePollIntervalMs: 100,
    };
    this.ctx = { ...base, sql: deps.actionSql };
    this.leaseCtx = { ...base, sql: deps.leaseSql };
    deps.kube.onChange?.((kind) => this.onKubeChange(kind));
  }

  start(): void {
    this.loopPromise ??= this.runLoop();
    this.peerPollPromise ??= this.pollPeers();
  }

  async stop(): Promise<void> {
    this.stopController.abort(new Error("agent stopping"));
    await Promise.allSettled([this.loopPromise, this.peerPollPromise]);
  }

  /** Releases the Lease on clean shutdown, but only when this replica is not PRIMARY (never release a writer). */
  async releaseIfSafe(): Promise<void> {
    const record = this.deps.kube.lease().record;
    if (record?.holderIdentity !== this.deps.config.podName) return;
    if (this.lastObservation?.sql.ag?.role === "PRIMARY") return;
    await this.deps.kube.leaseClient
      .release(record, { [annotations.releaseReason]: "agent_shutdown", [annotations.fenced]: "true" }, AbortSignal.timeout(2000))
      .catch(() => undefined);
  }

  // -------------------------------------------------------------------------------------------------------
  // Loop

  private async runLoop(): Promise<void> {
    const { clock, config } = this.deps;
    const stop = this.stopController.signal;
    const minGapMs = minWokenCycleGapMs(config.timing.loopIntervalMs);
    let nextAtMs = clock.nowMs();
    let previousWasEarly = false;
    while (!stop.aborted) {
      const startedAtMs = clock.nowMs();
      this.wakeRequested = false;
      try {
        await this.cycleOnce();
      } catch (e) {
        this.deps.metrics.unexpectedErrors.inc();
        this.deps.logger.error("Cycle failed", { err: describe(e) });
      }
      this.lastCycleEndedAtMs = clock.nowMs();
      this.deps.metrics.cycleDuration.observe((this.lastCycleEndedAtMs - startedAtMs) / 1000);
      nextAtMs += config.timing.loopIntervalMs;
      const now = clock.nowMs();
      if (nextAtMs < now) nextAtMs = now; // late: run at once rather than bursting to catch up
      // A known moment before the next tick (the observed Lease expires, a transition is being followed) pulls
      // the next cycle in.
      const earlyAtMs = Math.max(now + minGapMs, this.earlyWakeAtMs(now));
      const scheduledEarly = earlyAtMs < nextAtMs;
      const wake = new AbortController();
      this.loopWake = wake;
      const sleepMs = this.wakeRequested ? 0 : (scheduledEarly ? earlyAtMs : nextAtMs) - now;
      await clock.sleep(sleepMs, AbortSignal.any([stop, wake.signal])).catch(() => undefined);
      this.loopWake = undefined;
      const woken = wake.signal.aborted || this.wakeRequested;
      // Back-to-back early cycles keep at least minGapMs between them: a burst of events costs one cycle per gap.
      const sinceLastMs = clock.nowMs() - this.lastCycleEndedAtMs;
      if (woken && previousWasEarly && !stop.aborted && sinceLastMs < minGapMs) await clock.sleep(minGapMs - sinceLastMs, stop).catch(() => undefined);
      previousWasEarly = woken || scheduledEarly;
      if (previousWasEarly) nextAtMs = clock.nowMs(); // woken early: the cadence restarts from here
    }
  }

  /**
   * Runs the next cycle now instead of at the next tick. Called when a long action finished (bootstrap, JOIN and
   * membership are chains of one long action per cycle), when a short action changed the Lease, on a pre-stop
   * request, and on watch events that change what decide() sees (Lease holder, switchover request, pod labels
   * or deletion). A failover is a chain of steps in DIFFERENT agents; waiting out the rest of an interval at
   * every link made a switchover take several intervals longer than its SQL work. decide() is a pure function
   * of the observation and the monotonic clock, so an earlier cycle only sees newer facts sooner.
   */
  private wakeLoop(): void {
    this.wakeRequested = true;
    this.loopWake?.abort();
  }

  private wakePeerPoll(): void {
    this.peerPollWakeRequested = true;
    this.peerPollWake?.abort();
  }

  /** The earliest moment before the next tick at which a cycle could decide something new; Infinity if none. */
  private earlyWakeAtMs(nowMs: number): number {
    let atMs = Number.POSITIVE_INFINITY;
    const record = this.leaseObservation?.record;
    if (record !== undefined && record.holderIdentity !== "" && record.holderIdentity !== this.deps.config.podName) {
      // classifyLease calls it expired once unchanged for the full duration on our clock: look right then.
      const expiresAtMs = this.leaseObservation!.observedAtMs + record.leaseDurationSeconds * 1000;
      if (expiresAtMs > nowMs) atMs = expiresAtMs;
    }
    if (this.followingTransition(nowMs)) atMs = Math.min(atMs, nowMs + fastFollowIntervalMs(this.deps.config.timing.loopIntervalMs));
    return atMs;
  }

  /** The last decision waits for a moment or for another agent's step that no watch event announces. */
  private followingTransition(nowMs: number): boolean {
    const reason = this.lastDecision?.reason;
    if (reason === undefined || !fastFollowReasons.has(reason)) return false;
    return this.reasonSinceMs !== undefined && nowMs - this.reasonSinceMs < this.deps.config.timing.leaseDurationMs;
  }

  private onKubeChange(kind: KubeChangeKind): void {
    const { clock, kube } = this.deps;
    if (kind === "lease") {
      // Start the expiry timer at arrival, not at the next cycle: the renewal was sent before we saw it, so
      // counting from here still waits at least leaseDuration after the send (§4.4).
      const lease = kube.lease();
      if (lease.seen) this.leaseObservation = observeLease(this.leaseObservation, lease.record, clock.nowMs());
    }
    const fingerprint = this.watchedFacts();
    if (fingerprint === this.watchedFingerprint) return;
    const holderChanged = this.watchedFingerprint === undefined || holderOf(fingerprint) !== holderOf(this.watchedFingerprint);
    this.watchedFingerprint = fingerprint;
    this.wakeLoop();
    if (holderChanged) this.wakePeerPoll();
  }

  /** The watched facts decide() acts on: Lease holder/epoch/annotations, switchover request, pods' labels and deletion. */
  private watchedFacts(): string {
    const { kube } = this.deps;
    const record = kube.lease().record;
    const cr = kube.cr();
    const pods = kube
      .pods()
      .map((p) => [p.metadata?.name ?? "", p.metadata?.labels?.[labels.role] ?? "", p.metadata?.labels?.[labels.readable] ?? "", p.metadata?.deletionTimestamp !== undefined, p.status?.podIP ?? ""])
      .sort((a, b) => String(a[0]).localeCompare(String(b[0])));
    return JSON.stringify([
      record?.holderIdentity ?? null,
      record?.leaseTransitions ?? null,
      record?.annotations ?? null,
      cr?.metadata.annotations?.[annotations.switchoverTo] ?? null,
      cr?.metadata.generation ?? null,
      pods,
    ]);
  }

  /**
   * One observe → decide → act → publish pass. The loop calls it on its cadence; tests call it directly with a
   * fake clock. Long actions started here finish in the background and are reported in a later observation.
   */
  async cycleOnce(): Promise<void> {
    const { clock, config, metrics, logger } = this.deps;
    this.cycleCount += 1;
    const observation = await this.observe();
    const nowMs = clock.nowMs();
    const previousReason = this.memory.lastReason;
    const { decision, memory } = (this.deps.decide ?? decide)(observation, this.memory, config, nowMs);
    if (decision.reason !== this.lastDecision?.reason) this.reasonSinceMs = nowMs;
    this.memory = memory;
    this.lastDecision = decision;
    this.lastObservation = observation;
    await this.execute(decision);
    this.announceRefusal(previousReason, observation, decision);
    this.publish(observation, decision);
    metrics.cycles.inc({ reason: decision.reason });
    logger.info(decision.report.detail ?? decision.reason, {
      reason: decision.reason,
      role: observation.sql.ag?.role ?? observation.sql.reachability,
      holder: observation.lease.observation?.record?.holderIdentity ?? "",
      epoch: decision.report.epoch,
      health: decision.report.health.verdict,
      actions: decision.actions.map((a) => a.kind),
      durationMs: Math.round(clock.nowMs() - nowMs),
    });
  }

  // -------------------------------------------------------------------------------------------------------
  // Observe

  private async observe(): Promise<Observation> {
    const { clock, config, kube, diagnostics } = this.deps;
    const sqlStarted = clock.nowMs();
    // While stepping down, a hung SQL Server would hold every cycle for the full probe timeout and delay the
    // release past the moment the SQL write lease has provably lapsed (that moment is counted on our clock,
    // not read from SQL): probe with a short timeout then; a timeout only means "unreachable" to decide().
    const probeTimeoutMs = this.memory.stepDown !== undefined ? Math.min(stepDownProbeTimeoutMs, config.timing.renewDeadlineMs) : Math.max(1000, config.timing.renewDeadlineMs - 2000);
    const sql = await observeLocalSql(this.deps.observeSql, config.agName, clock.wallNow(), AbortSignal.timeout(probeTimeoutMs));
    this.deps.metrics.sqlProbeDuration.observe((clock.nowMs() - sqlStarted) / 1000);
    const nowMs = clock.nowMs();

    const lease = kube.lease();
    if (lease.seen) this.leaseObservation = observeLease(this.leaseObservation, lease.record, nowMs);

    const cr = kube.cr();
    const secret = kube.hadrSecret();
    let hadrCertificatePublished = false;
    if (secret !== undefined) {
      try {
        hadrCertificatePublished = toHadrSecret(secret).certificate !== undefined;
      } catch {
        hadrCertificatePublished = false;
      }
    }
    const ownPod = kube.pod(config.podName);
    const pods = kube.pods();
    const peers: PeerObservation[] = pods
      .map((p) => p.metadata?.name ?? "")
      .filter((name) => name !== "" && name !== config.podName && ordinalOfPod(config.clusterName, name) !== undefined)
      .map((pod) => {
        const known = this.peerStatuses.get(pod);
        return known === undefined ? { pod } : { pod, status: known.status, statusAgeMs: nowMs - known.atMs };
      });

    const completed = this.completed.splice(0);
    const observation: Observation = {
      self: {
        agentStartedAtMs: this.agentStartedAtMs,
        terminating: ownPod?.metadata?.deletionTimestamp !== undefined,
        preStopRequested: this.preStopWaiters.length > 0,
      },
      sql,
      diagnostics: diagnostics.snapshot(),
      lease: {
        ...(this.leaseObservation !== undefined ? { observation: this.leaseObservation } : {}),
        ...(this.lastRenewSentAtMs !== undefined ? { lastRenewSentAtMs: this.lastRenewSentAtMs } : {}),
      },
      sqlWriteLease: {
        ...(this.sqlLeaseLastAttemptEndedAtMs !== undefined ? { lastRenewalAttemptEndedAtMs: this.sqlLeaseLastAttemptEndedAtMs } : {}),
        renewalInFlight: this.sqlLeaseInFlight,
      },
      hadrCertificatePublished,
      podLabels: pods.map((p) => podLabelView(p)),
      peers,
      completed,
    };
    if (cr !== undefined) {
      const switchoverTo = cr.metadata.annotations?.[annotations.switchoverTo];
      observation.cr = {
        spec: withDefaults(cr.spec),
        ...(switchoverTo !== undefined && switchoverTo !== "" ? { switchoverTo } : {}),
        ...(cr.status?.groupId !== undefined ? { recordedGroupId: cr.status.groupId } : {}),
      };
    }
    if (this.lastFailsafeAckAtMs !== undefined) observation.lastFailsafeAckAtMs = this.lastFailsafeAckAtMs;
    if (this.running !== undefined) {
      observation.inProgress = { kind: this.running.kind, startedAtMs: this.running.startedAtMs, ...(this.running.epoch !== undefined ? { epoch: this.running.epoch } : {}) };
    }
    return observation;
  }

  private async pollPeers(): Promise<void> {
    const { clock, config, kube } = this.deps;
    const stop = this.stopController.signal;
    while (!stop.aborted) {
      this.peerPollWakeRequested = false;
      const pods = kube
        .pods()
        .map((p) => p.metadata?.name ?? "")
        .filter((n) => n !== "" && n !== config.podName && ordinalOfPod(config.clusterName, n) !== undefined);
      // Each answer is taken in as it arrives: one slow or unreachable peer must not hold back the news that
      // another one changed role (the old primary reads RESOLVING, the target reads PRIMARY), which is the
      // next step of a failover this agent may take: decide on it now.
      const signal = AbortSignal.timeout(Math.min(1500, config.timing.loopIntervalMs * 2));
      await Promise.all(
        pods.map(async (pod) => {
          const result = await this.peerClient.status(pod, signal);
          if (!result.ok) return;
          const previous = this.peerStatuses.get(pod)?.status;
          this.peerStatuses.set(pod, { status: result.value, atMs: clock.nowMs() });
          if (previous === undefined || peerDecisionFacts(previous) !== peerDecisionFacts(result.value)) this.wakeLoop();
        }),
      );
      const wake = new AbortController();
      this.peerPollWake = wake;
      const intervalMs = this.followingTransition(clock.nowMs()) ? fastFollowIntervalMs(config.timing.loopIntervalMs) : config.timing.loopIntervalMs;
      const sleepMs = this.peerPollWakeRequested ? minWokenCycleGapMs(config.timing.loopIntervalMs) : intervalMs;
      await clock.sleep(sleepMs, AbortSignal.any([stop, wake.signal])).catch(() => undefined);
      this.peerPollWake = undefined;
    }
  }

  // -------------------------------------------------------------------------------------------------------
  // Act

  private async execute(decision: Decision): Promise<void> {
    const failsafeCycle = decision.actions.some((action) => action.kind === "sendFailsafeHeartbeats");
    // One deadline for every Kubernetes write of a failsafe cycle (see kubeWriteBudgetMs).
    this.cycleKubeWriteSignal = failsafeCycle ? AbortSignal.timeout(kubeWriteBudgetMs(this.deps.config.timing, true)) : undefined;
    try {
      await this.executeActions(decision);
    } finally {
      this.cycleKubeWriteSignal = undefined;
    }
  }

  private async executeActions(decision: Decision): Promise<void> {
    for (const action of decision.actions) {
      if (isLongAction(action)) {
        if (this.running !== undefined) continue; // decide() never asks for two; be defensive
        this.startLong(action);
        continue;
      }
      const ok = await this.executeShort(action);
      // A claim starts the promotion: its next step (collect the sequence numbers) should not wait for a tick.
      if (ok && action.kind === "claimLease") this.wakeLoop();
      if (ok && action.kind === "handOverLease" && decision.reason === "switchover_handing_over") {
        // The request is carried out: drop it so it cannot pull the primary back later.
        this.deps.kube.clearSwitchoverAnnotation(this.timeout()).catch((e: unknown) => this.deps.logger.warn("Could not clear the switchover annotation", { err: describe(e) }));
      }
      if (!ok && (action.kind === "renewLease" || action.kind === "claimLease" || action.kind === "renewSqlWriteLease")) break;
    }
  }

  private record(action: Action, startedAtMs: number, result: Omit<CompletedAction, "kind" | "startedAtMs" | "finishedAtMs">): void {
    this.completed.push({ kind: action.kind, startedAtMs, finishedAtMs: this.deps.clock.nowMs(), ...result });
  }

  private timeout(): AbortSignal {
    return AbortSignal.timeout(kubeWriteBudgetMs(this.deps.config.timing, false));
  }

  /** The bound for a Lease or label write: the failsafe cycle's shared deadline when one is running. */
  private kubeWriteSignal(): AbortSignal {
    return this.cycleKubeWriteSignal ?? this.timeout();
  }

  private async executeShort(action: Action): Promise<boolean> {
    const { clock, config, kube, metrics } = this.deps;
    const startedAtMs = clock.nowMs();
    try {
      switch (action.kind) {
        case "renewLease":
        case "claimLease": {
          const record = kube.lease().record;
          const leaseSeconds = Math.round(config.timing.leaseDurationMs / 1000);
          const result =
            action.kind === "renewLease" && record !== undefined
              ? await kube.leaseClient.tryRenew(record, config.podName, leaseSeconds, this.kubeWriteSignal(), { [annotations.fenced]: null, [annotations.releaseReason]: null })
              : await kube.leaseClient.tryClaim(record, config.podName, leaseSeconds, this.kubeWriteSignal(), {
                  [annotations.fenced]: null,
                  [annotations.releaseReason]: null,
                  [annotations.betterCandidate]: null,
                });
          metrics.leaseRenewDuration.observe((clock.nowMs() - result.sentAtMs) / 1000);
          if (!result.ok) {
            metrics.leaseRenewFailures.inc();
            this.record(action, startedAtMs, { ok: false, conflict: true });
            return false;
          }
          kube.foldLease(result.record);
          this.lastRenewSentAtMs = result.sentAtMs;
          metrics.lastSuccessfulRenew.set(clock.wallNow().getTime() / 1000);
          this.record(action, startedAtMs, { ok: true, epoch: result.record.leaseTransitions });
          return true;
        }
        case "releaseLease":
        case "handOverLease": {
          const record = kube.lease().record;
          if (record === undefined) {
            this.record(action, startedAtMs, { ok: false });
            return false;
          }
          const annotationPatch: Record<string, string | null> = { [annotations.fenced]: action.fenced ? "true" : null };
          if (action.kind === "releaseLease") {
            annotationPatch[annotations.releaseReason] = action.releaseReason;
            annotationPatch[annotations.betterCandidate] = action.betterCandidate ?? null;
          }
          const result =
            action.kind === "releaseLease"
              ? await kube.leaseClient.release(record, annotationPatch, this.timeout())
              : await kube.leaseClient.handOver(record, action.target, this.timeout(), annotationPatch);
          if (result.ok) {
            kube.foldLease(result.record);
            this.lastRenewSentAtMs = undefined;
          }
          this.record(action, startedAtMs, { ok: result.ok, ...(result.ok ? {} : { conflict: true }) });
          if (result.ok) this.event("Normal", action.kind === "releaseLease" ? "LeaseReleased" : "SwitchoverHandedOver", action.kind === "releaseLease" ? `Released the primary lease (${action.releaseReason}${action.fenced ? ", replica fenced" : ""}).` : `Handed the primary lease to ${action.target}.`);
          return result.ok;
        }
        case "renewSqlWriteLease": {
          if (!sqlLeaseRenewalAllowed(action.authority, this.lastRenewSentAtMs, clock.nowMs())) {
            metrics.sqlWriteLeaseRenewals.inc({ result: "skipped_not_authorized" });
            this.record(action, startedAtMs, { ok: false });
            return false;
          }
          this.sqlLeaseInFlight = true;
          try {
            // The server refuses to apply it after the client gave up (see renewWriteLease): the attempt's end,
            // from which decide() counts W + margin, is then a true bound even for a frozen SQL Server.
            const timeoutMs = Math.max(1000, config.timing.renewDeadlineMs - 1000);
            const notAfter = new Date(clock.wallNow().getTime() + timeoutMs);
            await actions.renewSqlWriteLease(this.leaseCtx, action.sqlWriteLeaseSeconds, AbortSignal.timeout(timeoutMs), notAfter);
            metrics.sqlWriteLeaseRenewals.inc({ result: "ok" });
            this.record(action, startedAtMs, { ok: true });
            return true;
          } finally {
            this.sqlLeaseInFlight = false;
            this.sqlLeaseLastAttemptEndedAtMs = clock.nowMs();
          }
        }
        case "setRequiredSynchronizedSecondaries":
          await actions.setRequiredSynchronizedSecondaries(this.leaseCtx, action.value, this.timeout());
          this.record(action, startedAtMs, { ok: true });
          return true;
        case "sendFailsafeHeartbeats": {
          const heartbeat: FailsafeHeartbeat = { holder: config.podName, epoch: action.epoch, heartbeatId: `${config.podName}-${this.cycleCount}` };
          const signal = AbortSignal.timeout(Math.max(500, config.timing.renewIntervalMs));
          const results = await Promise.all(action.peers.map(async (pod) => [pod, await this.peerClient.failsafe(pod, heartbeat, signal)] as const));
          const ackedBy = results.filter(([, r]) => r.ok && r.value.heartbeatId === heartbeat.heartbeatId).map(([pod]) => pod);
          this.record(action, startedAtMs, { ok: ackedBy.length === action.peers.length, epoch: action.epoch, failsafeAckedBy: ackedBy });
          return true;
        }
        case "labelPod": {
          const changes: Record<string, string | null> = { [labels.role]: action.role ?? null };
          if (action.readable !== undefined) changes[labels.readable] = action.readable ? "true" : "false";
          await kube.patchPodLabels(action.pod, changes, this.kubeWriteSignal());
          this.record(action, startedAtMs, { ok: true });
          return true;
        }
        case "collectSequenceReports":
        case "promote":
        case "offline":
        case "setRoleSecondary":
        case "restartEndpoint":
        case "bootstrapStep":
        case "joinAg":
        case "addDatabase":
        case "addReplica":
        case "modifyReplica":
        case "removeReplica":
          this.startLong(action);
          return true;
        default:
          return assertNever(action);
      }
    } catch (e) {
      this.record(action, startedAtMs, { ok: false, ...(e instanceof SqlQueryError ? { sqlErrorNumber: e.number } : {}) });
      if (action.kind === "renewSqlWriteLease") metrics.sqlWriteLeaseRenewals.inc({ result: "error" });
      this.deps.logger.warn("Action failed", { action: action.kind, err: describe(e) });
      return false;
    }
  }

  private startLong(action: Action): void {
    const { clock, config } = this.deps;
    const startedAtMs = clock.nowMs();
    const epoch = "epoch" in action ? action.epoch : undefined;
    this.running = { kind: action.kind, startedAtMs, ...(epoch !== undefined ? { epoch } : {}) };
    // Long actions are bounded by the promotion/settle budget, never by the loop cadence.
    const signal = AbortSignal.any([this.stopController.signal, AbortSignal.timeout(Math.max(config.policy.promotionSettleMs, 15_000))]);
    void this.runLong(action, signal).then(
      (extra) => {
        this.running = undefined;
        this.record(action, startedAtMs, { ok: true, ...(epoch !== undefined ? { epoch } : {}), ...extra });
        this.onLongSucceeded(action, startedAtMs);
        this.wakeLoop();
      },
      (e: unknown) => {
        this.running = undefined;
        this.record(action, startedAtMs, { ok: false, ...(epoch !== undefined ? { epoch } : {}), ...(e instanceof SqlQueryError ? { sqlErrorNumber: e.number } : {}) });
        this.onLongFailed(action, e);
        this.wakeLoop();
      },
    );
  }

  private async runLong(action: Action, signal: AbortSignal): Promise<Partial<CompletedAction>> {
    const spec = this.lastObservation?.cr?.spec;
    switch (action.kind) {
      case "collectSequenceReports": {
        const request: SequenceReportRequest = { epoch: action.epoch, candidate: this.deps.config.podName };
        // Each peer answers from memory, so a peer that is silent for long is unreachable (cut, node gone): it is
        // counted as not reporting after its own bound rather than holding the promotion for the whole budget.
        const perPeer = AbortSignal.any([signal, AbortSignal.timeout(peerReportTimeoutMs(this.deps.config.timing))]);
        const results = await Promise.all(action.peers.map((pod) => this.peerClient.sequence(pod, request, perPeer)));
        return { sequenceReports: results.flatMap((r) => (r.ok ? [r.value] : [])) };
      }
      case "promote":
        await actions.promote(this.ctx, signal);
        return {};
      case "offline":
        await actions.offline(this.ctx, signal);
        return {};
      case "setRoleSecondary":
        this.deps.metrics.recoveryActions.inc({ action: "set_role_secondary" });
        await actions.setRoleSecondary(this.ctx, signal);
        return {};
      case "restartEndpoint":
        this.deps.metrics.recoveryActions.inc({ action: "restart_endpoint" });
        await actions.restartEndpoint(this.ctx, action.offlineFirst, signal);
        return {};
      case "bootstrapStep":
        switch (action.step) {
          case "publishCertificate":
            await actions.publishCertificate(this.ctx, signal);
            return {};
          case "republishCertificate":
            if (await actions.republishExistingCertificate(this.ctx, signal)) {
              this.event("Normal", "CertificateRepublished", `Replica ${this.deps.config.podName} exported the existing endpoint certificate into the hadr Secret, which had none.`);
            }
            return {};
          case "prepareEndpoint":
            await actions.prepareEndpoint(this.ctx, signal);
            return {};
          case "createAvailabilityGroup":
            if (spec === undefined) throw new Error("cannot create the availability group before the CR was read");
            await actions.createAvailabilityGroup(this.ctx, spec, signal);
            return {};
          default:
            return assertNever(action.step);
        }
      case "joinAg":
        await actions.joinAvailabilityGroup(this.ctx, action.grantCreateAnyDatabase, signal);
        return {};
      case "addDatabase":
        await actions.addDatabase(this.ctx, action.database, signal);
        return {};
      case "addReplica":
        if (spec === undefined) throw new Error("cannot add a replica before the CR was read");
        await actions.addReplica(this.ctx, spec, action.replica, signal);
        return {};
      case "modifyReplica":
        await actions.modifyReplica(
          this.ctx,
          `${this.deps.config.clusterName}-${action.replica.index}`,
          { ...(action.availabilityMode !== undefined ? { availabilityMode: action.availabilityMode } : {}), ...(action.readableSecondary !== undefined ? { readableSecondary: action.readableSecondary } : {}) },
          signal,
        );
        return {};
      case "removeReplica":
        await actions.removeReplica(this.ctx, action.replicaName, signal);
        return {};
      default:
        throw new Error(`${action.kind} is not a long action`);
    }
  }

  private onLongSucceeded(action: Action, startedAtMs: number): void {
    const seconds = (this.deps.clock.nowMs() - startedAtMs) / 1000;
    switch (action.kind) {
      case "promote":
        this.deps.metrics.failovers.inc({ result: "ok" });
        this.deps.metrics.failoverDuration.observe(seconds);
        this.event("Normal", "Promoted", `Replica ${this.deps.config.podName} became primary (epoch ${action.epoch}) in ${seconds.toFixed(1)} s.`);
        break;
      case "offline":
        this.event("Normal", "Fenced", `Replica ${this.deps.config.podName} was taken OFFLINE.`);
        break;
      case "bootstrapStep":
        // A republish usually finds the certificate already there (a Secret not read yet); it reports itself.
        if (action.step === "republishCertificate") break;
        this.event("Normal", "BootstrapStep", `Bootstrap step ${action.step} completed on ${this.deps.config.podName}.`);
        break;
      case "setRoleSecondary":
        this.event("Normal", "RoleSetSecondary", `Replica ${this.deps.config.podName} runs as SECONDARY of availability group ${this.deps.config.agName} again.`);
        break;
      case "restartEndpoint":
        // Recovery escalation (§4.8, §4.12): the ladder's endpoint restarts are what an operator looks for first.
        this.event(
          "Normal",
          "EndpointRestarted",
          `Restarted the database mirroring endpoint on ${this.deps.config.podName}${action.offlineFirst ? " after taking the replica OFFLINE" : ""} to clear a stuck replica connection.`,
        );
        break;
      case "joinAg":
        this.event("Normal", "Joined", `Replica ${this.deps.config.podName} joined availability group ${this.deps.config.agName}.`);
        break;
      case "addDatabase":
        this.event("Normal", "DatabaseAdded", `Database ${action.database} was added to the availability group.`);
        break;
      default:
        break;
    }
  }

  private onLongFailed(action: Action, e: unknown): void {
    if (action.kind === "promote") this.deps.metrics.failovers.inc({ result: e instanceof SqlQueryError && e.number === 41142 ? "refused_41142" : "error" });
    this.deps.logger.warn("Action failed", { action: action.kind, err: describe(e) });
    this.event("Warning", "ActionFailed", `${action.kind} failed on ${this.deps.config.podName}: ${describe(e).message}`);
  }

  // -------------------------------------------------------------------------------------------------------
  // Publish

  private publish(observation: Observation, decision: Decision): void {
    const { clock, config, metrics, kube } = this.deps;
    const nowMs = clock.nowMs();
    const wallNow = clock.wallNow();
    const self = buildAgentStatus({
      pod: config.podName,
      ag: config.agName,
      version: this.deps.version,
      cycle: this.cycleCount,
      observation,
      decision,
      wallNow,
      wallTimeAtMs: (ms) => new Date(wallNow.getTime() - (nowMs - ms)),
    });
    this.lastStatus = self;
    metrics.setRole(observation.sql.ag?.role ?? "unknown");
    metrics.setHealth(decision.report.health.verdict);
    metrics.isLeaseHolder.set(decision.report.isHolder ? 1 : 0);
    if (observation.sql.ag !== undefined) {
      metrics.sequenceNumber.set(Number(observation.sql.ag.sequenceNumber));
      metrics.setDatabaseStates(observation.sql.ag.databases.filter((d) => d.inAvailabilityGroup));
    }
    if (decision.reason !== this.memory.lastReason) {
      // decide() records lastReason; reason transitions that matter get their own Events in the executor.
    }
    this.answerPreStop(observation, decision);

    const fresh = new Map<string, AgentStatus>();
    for (const [pod, known] of this.peerStatuses) if (nowMs - known.atMs <= config.policy.peerStatusMaxAgeMs) fresh.set(pod, known.status);
    const cr = kube.cr();
    const status = buildCrStatus({
      observation,
      decision,
      peers: fresh,
      self,
      previous: cr?.status,
      generation: cr?.metadata.generation,
      clusterName: config.clusterName,
      now: wallNow,
    });
    if (status !== undefined) {
      const fingerprint = statusFingerprint(status);
      if (fingerprint !== this.lastCrStatusFingerprint) {
        this.lastCrStatusFingerprint = fingerprint;
        kube.patchStatus(status as unknown as Record<string, unknown>, this.timeout()).catch((e: unknown) => {
          this.lastCrStatusFingerprint = undefined;
          this.deps.logger.warn("Could not write the availability group status", { err: describe(e) });
        });
      }
    }
  }

  /** A user's switchover request that cannot be carried out gets a Warning Event once, with the reason. */
  private announceRefusal(previousReason: string | undefined, observation: Observation, decision: Decision): void {
    if (decision.reason === previousReason) return;
    if (decision.reason !== "switchover_target_not_synchronized" && decision.reason !== "switchover_no_eligible_target") return;
    const target = observation.cr?.switchoverTo ?? "";
    this.event("Warning", "SwitchoverRefused", `Switchover to ${target} refused (${decision.reason}): ${decision.report.detail ?? "no eligible target"}.`);
  }

  private answerPreStop(observation: Observation, decision: Decision): void {
    const answer = decision.report.preStop;
    if (this.preStopWaiters.length === 0) return;
    const durationMs = Math.round(this.deps.clock.nowMs() - (this.preStopStartedAtMs ?? this.deps.clock.nowMs()));
    const lease = this.deps.kube.lease().record;
    const handedOff = lease !== undefined && lease.holderIdentity !== "" && lease.holderIdentity !== this.deps.config.podName;
    if (answer === "not_primary" && handedOff && durationMs < this.deps.config.timing.leaseDurationMs) {
      // The kubelet stops SQL Server as soon as preStop returns: keep it up until the target finished its
      // FAILOVER (found by the graceful-delete scenario: answering at the handover made the target's FAILOVER
      // race the shutdown and lengthened the write gap). Bounded: after a lease duration answer anyway.
      const target = lease.holderIdentity;
      const peer = this.peerStatuses.get(target);
      const targetIsPrimary =
        (peer !== undefined && peer.atMs >= (this.preStopStartedAtMs ?? 0) && peer.status.role === "PRIMARY") ||
        observation.sql.ag?.primaryReplica?.toLowerCase() === target.toLowerCase();
      if (!targetIsPrimary) return;
    }
    let response: PreStopResponse | undefined;
    if (answer === "not_primary") response = { outcome: handedOff ? "switched_over" : "not_primary", durationMs, ...(handedOff ? { target: lease.holderIdentity } : {}) };
    else if (answer === "no_eligible_target") response = { outcome: "no_eligible_target", durationMs };
    else if (answer === "fenced") response = { outcome: "fenced", durationMs };
    if (response === undefined) return;
    const waiters = this.preStopWaiters.splice(0);
    for (const w of waiters) w(response);
  }

  private event(type: "Normal" | "Warning", reason: string, message: string): void {
    const cr = this.deps.kube.cr();
    if (cr === undefined) return;
    void this.deps.events.record(
      { apiVersion: cr.apiVersion, kind: cr.kind, name: cr.metadata.name, namespace: cr.metadata.namespace, ...(cr.metadata.uid !== undefined ? { uid: cr.metadata.uid } : {}) },
      type,
      reason,
      message,
    );
  }

  peerToken(): string | undefined {
    const secret = this.deps.kube.hadrSecret();
    if (secret === undefined) return undefined;
    try {
      return toHadrSecret(secret).peerToken;
    } catch {
      return undefined;
    }
  }

  // -------------------------------------------------------------------------------------------------------
  // HTTP handlers

  liveness(): Check {
    const ageMs = this.deps.clock.nowMs() - this.lastCycleEndedAtMs;
    const limitMs = Math.max(this.deps.config.timing.leaseDurationMs, 10 * this.deps.config.timing.loopIntervalMs);
    return ageMs <= limitMs ? { ok: true, detail: `loop alive, last cycle ${Math.round(ageMs)} ms ago` } : { ok: false, detail: `agent loop stalled for ${Math.round(ageMs)} ms` };
  }

  readiness(): Check {
    const obs = this.lastObservation;
    if (obs === undefined) return { ok: false, detail: "no cycle completed yet" };
    if (obs.sql.reachability !== "reachable") return { ok: false, detail: `local SQL Server ${obs.sql.reachability}` };
    const role = obs.sql.ag?.role;
    if (role === "PRIMARY" || role === "SECONDARY") return { ok: true, detail: `serving as ${role}` };
    return { ok: false, detail: role === undefined ? "not joined to the availability group yet" : `replica is ${role}` };
  }

  status(): AgentStatus {
    return (
      this.lastStatus ?? {
        pod: this.deps.config.podName,
        ag: this.deps.config.agName,
        mode: "availability-group",
        role: "UNKNOWN",
        health: "unknown",
        sqlReachable: false,
        databases: [],
        lastReason: "starting",
        cycle: 0,
        agentVersion: this.deps.version,
        observedAt: this.deps.clock.wallNow().toISOString(),
      }
    );
  }

  primary(): Check {
    const d = this.lastDecision;
    const role = this.lastObservation?.sql.ag?.role;
    return d?.report.isHolder === true && role === "PRIMARY" ? { ok: true, detail: "writable primary" } : { ok: false, detail: `not the writable primary (${role ?? "unknown"})` };
  }

  replica(): Check {
    const role = this.lastObservation?.sql.ag?.role;
    const healthy = this.lastDecision?.report.health.verdict === "healthy";
    return role === "SECONDARY" && healthy ? { ok: true, detail: "healthy secondary" } : { ok: false, detail: `not a healthy secondary (${role ?? "unknown"})` };
  }

  preStop(signal: AbortSignal): Promise<PreStopResponse> {
    this.preStopStartedAtMs ??= this.deps.clock.nowMs();
    return new Promise((resolve) => {
      const onAbort = (): void => {
        this.preStopWaiters = this.preStopWaiters.filter((w) => w !== waiter);
        resolve({ outcome: "timed_out", durationMs: Math.round(this.deps.clock.nowMs() - (this.preStopStartedAtMs ?? 0)) });
      };
      const waiter = (answer: PreStopResponse): void => {
        signal.removeEventListener("abort", onAbort);
        resolve(answer);
      };
      this.preStopWaiters.push(waiter);
      signal.addEventListener("abort", onAbort, { once: true });
      this.wakeLoop(); // the kubelet is about to stop SQL Server: start the handover now, not at the next tick
    });
  }

  async failsafe(heartbeat: FailsafeHeartbeat): Promise<FailsafeAck | undefined> {
    const record = this.deps.kube.lease().record;
    if (record === undefined || record.holderIdentity !== heartbeat.holder || record.leaseTransitions !== heartbeat.epoch) return undefined;
    if (heartbeat.holder === this.deps.config.podName) return undefined;
    this.lastFailsafeAckAtMs = this.deps.clock.nowMs();
    return { pod: this.deps.config.podName, epoch: heartbeat.epoch, heartbeatId: heartbeat.heartbeatId, promiseMs: this.deps.config.timing.leaseDurationMs };
  }

  async sequence(request: SequenceReportRequest): Promise<SequenceReport> {
    const obs = this.lastObservation;
    const ag = obs?.sql.ag;
    const countable = ag !== undefined && (ag.availabilityMode === "SynchronousCommit" || ag.availabilityMode === "ConfigurationOnly");
    return {
      pod: this.deps.config.podName,
      epoch: request.epoch,
      ...(ag !== undefined ? { availabilityMode: ag.availabilityMode } : {}),
      sequenceNumber: countable ? ag.sequenceNumber.toString() : "0",
      healthy: this.lastDecision?.report.health.verdict === "healthy",
    };
  }

  preStopCallers(): readonly string[] {
    const own = this.deps.config.podIp;
    return ["127.0.0.1", "::1", ...(own !== undefined ? [own] : [])];
  }

  preStopTimeoutMs(): number {
    return Math.max(5000, this.deps.config.timing.leaseDurationMs * 2);
  }
}

/**
 * How long a peer has to answer a sequence-number request before the promotion goes on without its report. A peer
 * answers from its last observation (no SQL round trip), so renewDeadline/2 is ample on a loaded machine; waiting
 * for an unreachable peer up to the 15 s promotion budget made a promotion after an isolated primary take 15 s
 * longer than the gate needed (e2e isolated-primary). A missing report only lowers the count the exact gate
 * checks, so the bound never lets a promotion through that the gate would refuse.
 */
export function peerReportTimeoutMs(timing: { renewDeadlineMs: number }): number {
  return Math.max(1000, Math.floor(timing.renewDeadlineMs / 2));
}

/**
 * How long the Kubernetes writes of one cycle may take. Normally renewDeadline - 1 s per write, as a Lease
 * renewal has that long to land. In a cycle that sends failsafe heartbeats (§4.9: the Lease cannot be renewed and
 * the primary keeps its SQL lease on its peers' acks) the writes of the whole cycle share a much shorter budget:
 * an ack only counts for renewDeadline after the heartbeat was SENT, heartbeats go out once per cycle, and a
 * blackholed Lease write that waits out 4 s made the cycles 4.2 s apart; one 5.2 s cycle on a loaded machine was
 * enough for the primary to fence itself while every peer acknowledged it (e2e api-outage). With half the
 * deadline minus one loop interval a cycle stays well inside renewDeadline, and a reachable API server still
 * answers a Lease write in far less.
 */
export function kubeWriteBudgetMs(timing: { renewDeadlineMs: number; loopIntervalMs: number }, failsafeCycle: boolean): number {
  const perWriteMs = Math.max(1000, timing.renewDeadlineMs - 1000);
  if (!failsafeCycle) return perWriteMs;
  return Math.min(perWriteMs, Math.max(500, Math.floor(timing.renewDeadlineMs / 2) - timing.loopIntervalMs));
}

/**
 * Reasons under which the outcome changes with time or with another agent's step that no watch event
 * announces (a peer's SQL role, the end of a rank delay or of the SQL write lease): the loop looks again after
 * fastFollowIntervalMs instead of a full interval, for at most a lease duration per reason.
 */
const fastFollowReasons: ReadonlySet<string> = new Set([
  "waiting_for_rank",
  "waiting_for_sql_lease_expiry",
  "waiting_for_old_primary_to_fence",
  "waiting_for_quorum",
  "resolving_waiting_for_primary",
  "switchover_demoting",
  "prestop_switching_over",
]);

/** SQL probe timeout while a step-down waits for the SQL write lease to lapse (see observe). */
const stepDownProbeTimeoutMs = 1000;

export function fastFollowIntervalMs(loopIntervalMs: number): number {
  return Math.max(minWokenCycleGapMs(loopIntervalMs), Math.round(loopIntervalMs / 4));
}

/** Early cycles in a row run at least this far apart: a burst of watch events costs at most one cycle per gap. */
export function minWokenCycleGapMs(loopIntervalMs: number): number {
  return Math.min(100, Math.max(10, Math.round(loopIntervalMs / 10)));
}

function holderOf(watchedFacts: string): unknown {
  return (JSON.parse(watchedFacts) as unknown[])[0];
}

/** The parts of a peer's status a decision depends on; a change wakes the loop. */
function peerDecisionFacts(status: AgentStatus): string {
  return JSON.stringify([status.role, status.health, status.sqlReachable, status.agExists ?? null, status.stuckSince ?? null]);
}

function podLabelView(pod: V1Pod): { pod: string; role?: (typeof roleLabelValues)[keyof typeof roleLabelValues]; readable?: boolean } {
  const name = pod.metadata?.name ?? "";
  const role = pod.metadata?.labels?.[labels.role];
  const readable = pod.metadata?.labels?.[labels.readable];
  const known = Object.values(roleLabelValues) as string[];
  return {
    pod: name,
    ...(role !== undefined && known.includes(role) ? { role: role as (typeof roleLabelValues)[keyof typeof roleLabelValues] } : {}),
    ...(readable !== undefined ? { readable: readable === "true" } : {}),
  };
}

export function describe(e: unknown): { name: string; message: string; number?: number } {
  if (e instanceof SqlQueryError) return { name: e.name, message: e.message, number: e.number };
  if (e instanceof Error) return { name: e.name, message: e.message };
  return { name: "Error", message: String(e) };
}
