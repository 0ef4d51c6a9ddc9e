import { expect } from "chai";
import { annotations } from "@sqlag/api";
import { decide } from "./decide.js";
import { ME, NOW_MS, mem, obs, report, testConfig, type ObservationBuilder } from "./testing/observation-builder.js";
import { REASON_CODES, type Action, type ActionKind, type AgentMemory, type DecideResult, type ReasonCode } from "./types.js";

interface DecideCase {
  name: string;
  given: ObservationBuilder;
  memory?: AgentMemory;
  reason: ReasonCode;
  /** Exact action kinds, in order. */
  actions?: ActionKind[];
  then?: (result: DecideResult) => void;
}

function run(testCase: Pick<DecideCase, "given" | "memory">): DecideResult {
  const observation = testCase.given.build();
  return decide(observation, testCase.memory ?? mem().build(), testConfig(testCase.given.me), NOW_MS);
}

function find<K extends ActionKind>(result: DecideResult, kind: K): Extract<Action, { kind: K }> {
  const action = result.decision.actions.find((a) => a.kind === kind);
  if (action === undefined) throw new Error(`no ${kind} in ${JSON.stringify(result.decision.actions)}`);
  return action as Extract<Action, { kind: K }>;
}

const threeSync = [
  { name: "ag1-0" },
  { name: "ag1-1" },
  { name: "ag1-2" },
];

const groups: Record<string, DecideCase[]> = {
  "configuration and identity": [
    {
      name: "@@SERVERNAME differs from the pod name: nothing is done",
      given: obs().serverName("some-other-host"),
      reason: "identity_mismatch",
      actions: [],
    },
    {
      name: "the CR's agName differs from the agent's: bad config, no action",
      given: obs().spec((s) => (s.agName = "OTHER")),
      reason: "bad_config",
      actions: [],
    },
    {
      name: "SQL Server rejects the write-lease value (47117): bad config surfaced, primary keeps serving",
      given: obs().primary().completed({ kind: "renewSqlWriteLease", ok: false, sqlErrorNumber: 47117 }),
      reason: "bad_config",
      then: (r) => {
        expect(r.decision.report.detail).to.match(/47117/);
        expect(r.decision.actions.map((a) => a.kind)).to.not.include("offline");
      },
    },
    {
      name: "local SQL times out on a secondary: wait, and drop the role label so no listener routes here",
      given: obs().sqlTimeout(),
      reason: "sql_unreachable",
      then: (r) => expect(find(r, "labelPod")).to.deep.equal({ kind: "labelPod", pod: ME, readable: false }),
    },
    {
      name: "no AG locally and the CR cannot be read yet",
      given: obs().noAg().noCr(),
      reason: "waiting_for_spec",
      actions: [],
    },
    {
      name: "pod beyond the spec's replica count (scale-down pending) does nothing",
      given: obs("ag1-3").noAg(),
      reason: "replica_not_in_spec",
      actions: [],
    },
  ],
  bootstrap: [
    {
      name: "nobody has the AG and the Lease is free: the first synchronous replica claims at once",
      given: obs().noAg().leaseFree(),
      reason: "bootstrap_claiming_lease",
      actions: ["claimLease"],
      then: (r) => expect(find(r, "claimLease").expectedResourceVersion).to.equal("42"),
    },
    {
      name: "second replica waits one rank step before claiming the free Lease at bootstrap",
      given: obs("ag1-1").noAg().leaseFree(),
      reason: "waiting_for_rank",
      actions: [],
    },
    {
      name: "another pod holds the Lease and has no AG yet: wait for it",
      given: obs().noAg().holder("ag1-1"),
      reason: "bootstrap_waiting_for_holder",
      actions: [],
    },
    {
      name: "holder without a published certificate creates and exports it first",
      given: obs().noAg().holder(ME),
      reason: "bootstrap_publishing_certificate",
      then: (r) => expect(find(r, "bootstrapStep").step).to.equal("publishCertificate"),
    },
    {
      name: "holder with the certificate published prepares its endpoint",
      given: obs().noAg().holder(ME).certificatePublished(),
      reason: "bootstrap_preparing_endpoint",
      then: (r) => expect(find(r, "bootstrapStep").step).to.equal("prepareEndpoint"),
    },
    {
      name: "holder with endpoint ready, no AG anywhere and none recorded: creates the AG",
      given: obs().noAg().holder(ME).certificatePublished().endpointReady(),
      reason: "bootstrap_creating_ag",
      then: (r) => expect(find(r, "bootstrapStep").step).to.equal("createAvailabilityGroup"),
    },
    {
      name: "holder renews the Lease while bootstrapping when a renewal is due",
      given: obs().noAg().holder(ME).renewedAgoMs(2500).certificatePublished().endpointReady(),
      reason: "bootstrap_creating_ag",
      actions: ["renewLease", "bootstrapStep"],
    },
    {
      name: "holder without AG but a reachable peer has it: adopt, never create (releases the Lease)",
      given: obs().noAg().holder(ME).certificatePublished().endpointReady().peer("ag1-2", { agExists: true, role: "RESOLVING" }),
      reason: "adopting_existing_ag",
      actions: ["releaseLease"],
    },
    {
      name: "holder without AG but the CR records a group id: adopt, never create",
      given: obs().noAg().holder(ME).certificatePublished().endpointReady().recordedGroupId("6F9619FF-8B86-D011-B42D-00C04FC964FF"),
      reason: "adopting_existing_ag",
      actions: ["releaseLease"],
    },
    {
      name: "the primary has the AG but the certificate is not in the Secret yet",
      given: obs().noAg().holder("ag1-1").peer("ag1-1", { agExists: true, role: "PRIMARY" }),
      reason: "bootstrap_waiting_for_certificate",
      actions: [],
    },
    {
      name: "the CR records an AG that no primary serves yet: wait, never create",
      given: obs().noAg().holder("ag1-1").recordedGroupId("6F9619FF-8B86-D011-B42D-00C04FC964FF"),
      reason: "waiting_for_existing_ag",
      actions: [],
    },
    {
      name: "secondary with endpoint ready joins the primary's AG (and grants CREATE ANY DATABASE)",
      given: obs().noAg().holder("ag1-1").certificatePublished().endpointReady().peer("ag1-1", { agExists: true, role: "PRIMARY" }),
      reason: "joining_ag",
      actions: ["joinAg"],
      then: (r) => expect(find(r, "joinAg").grantCreateAnyDatabase).to.equal(true),
    },
    {
      name: "configuration-only replica joins without GRANT CREATE ANY DATABASE",
      given: obs("ag1-2")
        .spec((s) => (s.replicas = [{ name: "r0" }, { name: "r1" }, { name: "r2", availabilityMode: "ConfigurationOnly" }]))
        .noAg()
        .holder("ag1-1")
        .certificatePublished()
        .endpointReady()
        .peer("ag1-1", { agExists: true, role: "PRIMARY" }),
      reason: "joining_ag",
      then: (r) => expect(find(r, "joinAg").grantCreateAnyDatabase).to.equal(false),
    },
    {
      name: "JOIN still running: wait for it",
      given: obs().noAg().holder("ag1-1").certificatePublished().endpointReady().peer("ag1-1", { agExists: true, role: "PRIMARY" }).inProgress("joinAg"),
      reason: "action_in_progress",
      actions: [],
    },
    {
      name: "a failed JOIN is retried only after the back-off",
      given: obs().noAg().holder("ag1-1").certificatePublished().endpointReady().peer("ag1-1", { agExists: true, role: "PRIMARY" }),
      memory: mem().retryBlockedForMs(3000).build(),
      reason: "retry_backoff",
      actions: [],
    },
  ],
  "membership and databases (holder)": [
    {
      name: "a spec replica missing from the AG is added",
      given: obs().primary().replicas([{ name: "ag1-0" }, { name: "ag1-1" }]).rsstc(0),
      reason: "adding_replica",
      then: (r) => expect(find(r, "addReplica").replica.index).to.equal(2),
    },
    {
      name: "an AG replica no longer in the spec is removed",
      given: obs().primary().replicas([...threeSync, { name: "ag1-3", mode: "AsynchronousCommit" }]),
      reason: "removing_replica",
      then: (r) => expect(find(r, "removeReplica").replicaName).to.equal("ag1-3"),
    },
    {
      name: "readability changed in the spec: MODIFY REPLICA",
      given: obs().primary().spec((s) => (s.replicas[2] = { name: "r2", readableSecondary: true })),
      reason: "modifying_replica",
      then: (r) => expect(find(r, "modifyReplica")).to.deep.include({ readableSecondary: true }),
    },
    {
      name: "a spec database not yet in the AG is added",
      given: obs().primary().spec((s) => (s.databases = [{ name: "sales" }])),
      reason: "adding_database",
      then: (r) => expect(find(r, "addDatabase").database).to.equal("sales"),
    },
    // ADR 0006: the <ag>-hadr Secret was deleted and re-created empty while the AG lives on.
    {
      name: "holder primary whose hadr Secret lost the certificate re-exports the existing one before membership",
      given: obs().primary().certificatePublished(false).replicas([{ name: "ag1-0" }, { name: "ag1-1" }]).rsstc(0),
      reason: "bootstrap_publishing_certificate",
      then: (r) => {
        expect(find(r, "bootstrapStep").step).to.equal("republishCertificate");
        expect(r.decision.actions.map((a) => a.kind)).to.not.include("addReplica");
      },
    },
    {
      name: "holder primary with the certificate in the Secret never re-exports it",
      given: obs().primary().certificatePublished(true),
      reason: "primary_steady",
      actions: [],
    },
    {
      name: "certificate re-export waits while a slow action runs",
      given: obs().primary().certificatePublished(false).inProgress("addDatabase"),
      reason: "primary_steady",
      actions: [],
    },
    {
      name: "certificate re-export backs off after a failed attempt",
      given: obs().primary().certificatePublished(false),
      memory: mem().retryBlockedForMs(5_000).build(),
      reason: "primary_steady",
      actions: [],
    },
    {
      name: "a secondary never exports the certificate (only the holder of the existing AG does)",
      given: obs().certificatePublished(false),
      reason: "steady_secondary",
      then: (r) => expect(r.decision.actions.map((a) => a.kind)).to.not.include("bootstrapStep"),
    },
    {
      name: "membership actions wait while a slow action runs",
      given: obs().primary().spec((s) => (s.databases = [{ name: "sales" }])).inProgress("addDatabase"),
      reason: "primary_steady",
      actions: [],
    },
  ],
  "steady state": [
    {
      name: "primary with a renewal due sends failsafe heartbeats, renews the Lease, then the SQL lease",
      given: obs().primary().renewedAgoMs(2500),
      reason: "lease_renewed",
      actions: ["sendFailsafeHeartbeats", "renewLease", "renewSqlWriteLease"],
      then: (r) => {
        const renew = find(r, "renewSqlWriteLease");
        expect(renew.sqlWriteLeaseSeconds).to.equal(8);
        expect(renew.authority).to.deep.equal({ kind: "lease", renewDeadlineMs: 5000 });
      },
    },
    {
      name: "primary between renewals does nothing",
      given: obs().primary(),
      reason: "primary_steady",
      actions: [],
      then: (r) => expect(r.decision.report.failoverReady?.status).to.equal("True"),
    },
    {
      name: "primary whose RSSTC is stale sets it (3 sync → 1)",
      given: obs().primary().rsstc(0),
      reason: "rsstc_updated",
      then: (r) => expect(find(r, "setRequiredSynchronizedSecondaries").value).to.equal(1),
    },
    {
      name: "primary fixes labels: strips primary from the old pod before labelling itself",
      given: obs().primary().label("ag1-1", "primary").label(ME, "secondary"),
      reason: "labels_updated",
      then: (r) => {
        const labels = r.decision.actions.filter((a) => a.kind === "labelPod");
        expect(labels).to.deep.equal([
          { kind: "labelPod", pod: "ag1-1", readable: false },
          { kind: "labelPod", pod: ME, role: "primary", readable: false },
        ]);
      },
    },
    {
      name: "healthy secondary following the holder",
      given: obs(),
      reason: "steady_secondary",
      actions: [],
    },
    {
      name: "secondary labels itself secondary and readable per the spec",
      given: obs().spec((s) => (s.replicas[0] = { name: "r0", readableSecondary: true })),
      reason: "labels_updated",
      then: (r) => expect(find(r, "labelPod")).to.deep.equal({ kind: "labelPod", pod: ME, role: "secondary", readable: true }),
    },
    {
      name: "secondary sees the holder's renewals stall: waits for expiry on its own clock",
      given: obs().holder("ag1-1").renewedAgoMs(8000),
      reason: "waiting_for_lease_expiry",
      actions: [],
    },
  ],
  "self-checks and lease trouble": [
    {
      name: "PRIMARY but the Lease is held by another pod: OFFLINE now",
      given: obs().role("PRIMARY").holder("ag1-1"),
      reason: "demoting_lost_lease",
      then: (r) => {
        expect(r.decision.actions.map((a) => a.kind)).to.include("offline");
        expect(r.decision.actions.map((a) => a.kind)).to.not.include("renewSqlWriteLease");
      },
    },
    {
      name: "PRIMARY with a free Lease (recreated) adopts it by a CAS claim",
      given: obs().role("PRIMARY").leaseFree(),
      reason: "claiming_lease_as_primary",
      actions: ["claimLease"],
    },
    {
      // Found by the e2e API-outage scenario: a blackholed Lease write blocked the cycle until the authority lapsed.
      name: "every Lease renewal of a primary is preceded by failsafe heartbeats to every synchronous peer",
      given: obs().primary().renewedAgoMs(2100),
      reason: "lease_renewed",
      then: (r) => {
        expect(r.decision.actions.map((a) => a.kind).slice(0, 2)).to.deep.equal(["sendFailsafeHeartbeats", "renewLease"]);
        expect(find(r, "sendFailsafeHeartbeats")).to.deep.equal({ kind: "sendFailsafeHeartbeats", epoch: 3, peers: ["ag1-1", "ag1-2"] });
      },
    },
    {
      name: "primary whose renewals fail (overdue, still within deadline) also sends failsafe heartbeats first",
      given: obs().primary().renewedAgoMs(3500),
      reason: "lease_renewal_overdue",
      actions: ["sendFailsafeHeartbeats", "renewLease", "renewSqlWriteLease"],
      then: (r) => expect(find(r, "sendFailsafeHeartbeats").peers).to.deep.equal(["ag1-1", "ag1-2"]),
    },
    {
      name: "holder that is not primary and past its renew deadline only retries the Lease",
      given: obs().holder(ME).renewedAgoMs(6000),
      reason: "lease_unverifiable",
      actions: ["renewLease"],
    },
    {
      name: "API server unreachable, every sync peer acked a heartbeat sent 1 s ago: keep the SQL lease (failsafe)",
      given: obs().primary().renewedAgoMs(6000).sqlLeaseRenewedAgoMs(2500),
      memory: mem().failsafeFullyAckedAgoMs(1000).build(),
      reason: "failsafe_acked",
      actions: ["sendFailsafeHeartbeats", "renewSqlWriteLease", "renewLease"],
      then: (r) =>
        expect(find(r, "renewSqlWriteLease").authority).to.deep.equal({
          kind: "failsafe",
          heartbeatSentAtMs: NOW_MS - 1000,
          validUntilMs: NOW_MS - 1000 + 5000,
        }),
    },
    {
      name: "API server unreachable and the last fully acked heartbeat is older than renewDeadline: self-fence",
      given: obs().primary().renewedAgoMs(6000),
      memory: mem().failsafeFullyAckedAgoMs(5500).build(),
      reason: "failsafe_not_acked",
      then: (r) => {
        const kinds = r.decision.actions.map((a) => a.kind);
        expect(kinds).to.include("offline");
        expect(kinds).to.not.include("renewSqlWriteLease");
        expect(kinds.indexOf("offline")).to.be.lessThan(kinds.indexOf("renewLease"));
        expect(r.memory.stepDown?.cause).to.equal("lease_unverifiable");
      },
    },
    {
      name: "API server unreachable and no peer acked at all: self-fence",
      given: obs().primary().renewedAgoMs(6000),
      reason: "failsafe_not_acked",
    },
    {
      name: "restarted agent on a primary that has not renewed yet tries first, never renews SQL",
      given: obs().primary().neverRenewedByThisProcess().agentStartedAgoMs(1000),
      reason: "lease_renewal_overdue",
      actions: ["sendFailsafeHeartbeats", "renewLease"],
    },
    {
      name: "secondary that acked a failsafe heartbeat does not claim for a lease duration",
      given: obs().leaseExpired().failsafeAckedAgoMs(3000),
      reason: "failsafe_promise_active",
      actions: [],
    },
    {
      name: "secondary that acked a failsafe heartbeat still waits when the Lease is free but not annotated fenced",
      given: obs().leaseFree().failsafeAckedAgoMs(3000),
      reason: "failsafe_promise_active",
      actions: [],
    },
    {
      // Found by the SQL-crash scenario: the holder's crash release must not be delayed by a recent ack.
      name: "secondary that acked a failsafe heartbeat claims at once once the holder released the Lease annotated fenced",
      given: obs().leaseFree({ [annotations.fenced]: "true" }).failsafeAckedAgoMs(3000),
      reason: "claiming_expired_lease",
      actions: ["claimLease"],
    },
    {
      name: "configuration commit stuck past 60 s: stop renewing, OFFLINE",
      given: obs().primary().renewedAgoMs(2500).configurationCommitAgeMs(61_000),
      reason: "stuck_configuration_commit",
      then: (r) => {
        const kinds = r.decision.actions.map((a) => a.kind);
        expect(kinds).to.include("offline");
        expect(kinds).to.not.include("renewSqlWriteLease");
      },
    },
  ],
  "unhealthy primary and fencing": [
    {
      name: "component error for 3 s (threshold 10 s): keep serving, report",
      given: obs().primary().componentError("system"),
      memory: mem().unhealthySinceAgoMs(3000).build(),
      reason: "unhealthy_below_threshold",
    },
    {
      name: "component error for the failover threshold: step down (OFFLINE, no SQL renewal)",
      given: obs().primary().renewedAgoMs(2500).componentError("system"),
      memory: mem().unhealthySinceAgoMs(10_000).build(),
      reason: "fencing_unhealthy_primary",
      then: (r) => {
        const kinds = r.decision.actions.map((a) => a.kind);
        expect(kinds).to.include("offline");
        expect(kinds).to.not.include("renewSqlWriteLease");
        expect(kinds).to.not.include("releaseLease");
      },
    },
    {
      name: "a missing diagnostics component counts as unhealthy",
      given: obs().primary().componentMissing("system"),
      memory: mem().unhealthySinceAgoMs(12_000).build(),
      reason: "fencing_unhealthy_primary",
    },
    {
      name: "frozen primary (no diagnostics for 20 s): step down as unresponsive",
      given: obs().primary().diagnosticsSilentForMs(20_000),
      reason: "fencing_unresponsive_primary",
    },
    {
      name: "holder whose SQL process is down (refused): release with fenced at once",
      given: obs().primary().sqlRefused(),
      reason: "sql_process_down",
      then: (r) => expect(find(r, "releaseLease")).to.deep.include({ fenced: true }),
    },
    {
      name: "OFFLINE issued, role still PRIMARY, SQL lease renewed 3 s ago: keep the Lease, wait",
      given: obs().primary().sqlLeaseRenewedAgoMs(3000),
      memory: mem().stepDown({ cause: "unhealthy", offlineIssuedAtMs: NOW_MS - 2000 }).build(),
      reason: "waiting_for_sql_lease_expiry",
      then: (r) => expect(r.decision.actions.map((a) => a.kind)).to.not.include("releaseLease"),
    },
    {
      name: "role reads RESOLVING after OFFLINE: release with fenced",
      given: obs().role("RESOLVING").holder(ME),
      memory: mem().stepDown({ cause: "unhealthy", offlineIssuedAtMs: NOW_MS - 2000 }).build(),
      reason: "released_lease_fenced",
      then: (r) => {
        expect(find(r, "releaseLease")).to.deep.include({ fenced: true, releaseReason: "fencing_unhealthy_primary" });
        expect(r.memory.contentionBackOffUntilMs).to.be.greaterThan(NOW_MS);
      },
    },
    {
      name: "frozen primary unreachable, W + margin after the last SQL renewal: release with fenced",
      given: obs().primary().sqlTimeout().sqlLeaseRenewedAgoMs(10_000),
      memory: mem().stepDown({ cause: "unresponsive" }).build(),
      reason: "released_lease_fenced",
    },
    {
      name: "automatic failover disabled: an expired Lease is not claimed",
      given: obs().leaseExpired().spec((s) => (s.automaticFailover = { enabled: false })),
      reason: "automatic_failover_disabled",
      actions: [],
    },
  ],
  "unplanned failover": [
    {
      name: "expired Lease, this replica ranks first: CAS claim",
      given: obs().leaseExpired().peer("ag1-1", { role: "PRIMARY", health: "unresponsive" }),
      reason: "claiming_expired_lease",
      actions: ["claimLease"],
    },
    {
      name: "expired Lease, a peer has a higher sequence number: wait one rank step",
      given: obs().leaseExpired().peer("ag1-2", { sequenceNumber: "101" }),
      reason: "waiting_for_rank",
      actions: [],
    },
    {
      name: "expired Lease, lower rank but its delay has passed: claim",
      given: obs().leaseExpired().peer("ag1-2", { sequenceNumber: "101" }),
      memory: mem().claimableSinceAgoMs(1500).build(),
      reason: "claiming_expired_lease",
    },
    {
      name: "a released Lease naming a better candidate lets that one go first",
      given: obs().leaseFree().betterCandidate("ag1-2"),
      reason: "waiting_for_rank",
    },
    {
      name: "just gave the Lease up: back off",
      given: obs().leaseExpired(),
      memory: mem().backOffForMs(5000).build(),
      reason: "contention_backoff",
    },
    {
      name: "asynchronous replica never competes",
      given: obs().leaseExpired().availabilityMode("AsynchronousCommit"),
      reason: "not_eligible_for_promotion",
    },
    {
      name: "unhealthy secondary does not compete",
      given: obs().leaseExpired().componentError("system"),
      reason: "not_eligible_for_promotion",
    },
    {
      name: "terminating pod does not compete",
      given: obs().leaseExpired().terminating(),
      reason: "terminating",
    },
    {
      name: "fresh holder, not primary: collects epoch-tagged sequence numbers from every peer",
      given: obs().holder(ME, 4),
      reason: "collecting_sequence_numbers",
      then: (r) => {
        expect(find(r, "collectSequenceReports")).to.deep.equal({ kind: "collectSequenceReports", epoch: 4, peers: ["ag1-1", "ag1-2"] });
        expect(r.memory.promotion?.epoch).to.equal(4);
      },
    },
    {
      name: "gate passes (own 100 = max, 2 of 2 required): renew Lease, SQL lease, then FAILOVER",
      given: obs().holder(ME),
      memory: mem().promotion({ epoch: 3, reportsRequestedAtMs: NOW_MS - 500, reports: [report("ag1-2", 100)] }).build(),
      reason: "promoting_max_sequence",
      actions: ["renewLease", "renewSqlWriteLease", "promote"],
      then: (r) => expect(find(r, "promote").epoch).to.equal(3),
    },
    {
      name: "reports of an older epoch are ignored",
      given: obs().holder(ME),
      memory: mem().promotion({ epoch: 3, reportsRequestedAtMs: NOW_MS - 500, reports: [report("ag1-2", 100, 2)] }).build(),
      reason: "waiting_for_quorum",
    },
    {
      name: "a peer has a higher sequence number: release naming it",
      given: obs().holder(ME),
      memory: mem().promotion({ epoch: 3, reportsRequestedAtMs: NOW_MS - 500, reports: [report("ag1-2", 101)] }).build(),
      reason: "not_max_sequence",
      then: (r) => expect(find(r, "releaseLease")).to.deep.include({ betterCandidate: "ag1-2", fenced: true }),
    },
    {
      name: "quorum short within the wait: re-collect",
      given: obs().holder(ME),
      memory: mem().promotion({ epoch: 3, reportsRequestedAtMs: NOW_MS - 1500, reports: [] }).build(),
      reason: "waiting_for_quorum",
      actions: ["collectSequenceReports"],
    },
    {
      name: "creator RESOLVING before anyone joined: peers reporting no AG are not voters, the gate passes alone",
      given: obs().holder(ME).peer("ag1-1", { agExists: false, sqlReachable: true, role: "UNKNOWN" }).peer("ag1-2", { agExists: false, sqlReachable: true, role: "UNKNOWN" }),
      memory: mem().promotion({ epoch: 3, reportsRequestedAtMs: NOW_MS - 500, reports: [report("ag1-1", 0), report("ag1-2", 0)] }).build(),
      reason: "promoting_max_sequence",
      actions: ["renewLease", "renewSqlWriteLease", "promote"],
    },
    {
      name: "a peer whose SQL Server is unreachable still counts as a voter (it may hold the newest data)",
      given: obs().holder(ME).peer("ag1-1", { agExists: false, sqlReachable: false, role: "UNKNOWN" }).peer("ag1-2", { agExists: false, sqlReachable: true, role: "UNKNOWN" }),
      memory: mem().promotion({ epoch: 3, reportsRequestedAtMs: NOW_MS - 500, reports: [report("ag1-1", 0), report("ag1-2", 0)] }).build(),
      reason: "waiting_for_quorum",
    },
    {
      name: "quorum short after the wait: release the Lease",
      given: obs().holder(ME),
      memory: mem().promotion({ epoch: 3, startedAgoMs: 6000, reportsRequestedAtMs: NOW_MS - 500, reports: [] }).build(),
      reason: "quorum_short_releasing",
      actions: ["releaseLease"],
    },
    {
      name: "a peer still reports PRIMARY: wait for it to fence before FAILOVER",
      given: obs().holder(ME).peer("ag1-1", { role: "PRIMARY" }),
      memory: mem().promotion({ epoch: 3, reportsRequestedAtMs: NOW_MS - 500, reports: [report("ag1-2", 100)] }).build(),
      reason: "waiting_for_old_primary_to_fence",
    },
    {
      name: "FAILOVER running: only renew",
      given: obs().holder(ME).renewedAgoMs(2500).inProgress("promote", 500, 3),
      memory: mem().promotion({ epoch: 3, reportsRequestedAtMs: NOW_MS - 1500, promoteIssuedAtMs: NOW_MS - 500, reports: [report("ag1-2", 100)] }).build(),
      reason: "action_in_progress",
      actions: ["renewLease"],
    },
    {
      name: "FAILOVER refused with 41142: release and back off",
      given: obs().holder(ME).completed({ kind: "promote", ok: false, sqlErrorNumber: 41142, epoch: 3 }),
      memory: mem().promotion({ epoch: 3, reportsRequestedAtMs: NOW_MS - 1500, promoteIssuedAtMs: NOW_MS - 800, reports: [report("ag1-2", 100)] }).build(),
      reason: "promote_refused_41142",
      then: (r) => {
        expect(find(r, "releaseLease").fenced).to.equal(true);
        expect(r.memory.contentionBackOffUntilMs).to.be.greaterThan(NOW_MS);
      },
    },
    {
      name: "FAILOVER failed otherwise: re-read the role, never retry blindly",
      given: obs().holder(ME).completed({ kind: "promote", ok: false, sqlErrorNumber: 35250, epoch: 3 }),
      memory: mem().promotion({ epoch: 3, reportsRequestedAtMs: NOW_MS - 1500, promoteIssuedAtMs: NOW_MS - 800, reports: [report("ag1-2", 100)] }).build(),
      reason: "promote_failed_unknown_state",
      then: (r) => expect(r.decision.actions.map((a) => a.kind)).to.not.include("promote"),
    },
    {
      name: "first cycle as PRIMARY after FAILOVER: RSSTC, SQL lease, labels",
      given: obs().primary().rsstc(0).label("ag1-1", "primary").label(ME, "secondary"),
      memory: mem().promotion({ epoch: 3, reportsRequestedAtMs: NOW_MS - 1500, promoteIssuedAtMs: NOW_MS - 800, reports: [report("ag1-2", 100)] }).build(),
      reason: "promoted",
      then: (r) => {
        const kinds = r.decision.actions.map((a) => a.kind);
        expect(kinds).to.include.members(["renewSqlWriteLease", "setRequiredSynchronizedSecondaries", "labelPod"]);
        expect(r.memory.promotion).to.equal(undefined);
      },
    },
    {
      name: "holder just restarted (no diagnostics result yet): keeps the Lease, waits for a verdict",
      given: obs().holder(ME).neverRenewedByThisProcess().agentStartedAgoMs(500),
      reason: "waiting_for_health_verdict",
      actions: ["renewLease"],
    },
    {
      name: "cold start: the previous holder's agent restarts with its replica RESOLVING and runs the gate",
      given: obs().role("RESOLVING").holder(ME).neverRenewedByThisProcess(),
      reason: "collecting_sequence_numbers",
      actions: ["renewLease", "collectSequenceReports"],
    },
    {
      name: "holder on an asynchronous replica releases without promoting",
      given: obs().holder(ME).availabilityMode("AsynchronousCommit"),
      reason: "releasing_not_promotable",
      actions: ["releaseLease"],
    },
  ],
  "RESOLVING and recovery": [
    {
      name: "RESOLVING with a known primary holder: SET ROLE = SECONDARY",
      given: obs().role("RESOLVING"),
      reason: "resolving_set_role_secondary",
      then: (r) => expect(r.decision.actions.map((a) => a.kind)).to.include("setRoleSecondary"),
    },
    {
      name: "RESOLVING while the holder is not PRIMARY yet: wait (no recovery that would block its FAILOVER)",
      given: obs().role("RESOLVING").peer("ag1-1", { role: "RESOLVING" }).primaryReplica(undefined),
      reason: "resolving_waiting_for_primary",
      then: (r) => expect(r.decision.actions.map((a) => a.kind)).to.not.include("setRoleSecondary"),
    },
    {
      name: "RESOLVING with no holder and not eligible: leave alone",
      given: obs().role("RESOLVING").leaseFree().availabilityMode("AsynchronousCommit"),
      reason: "resolving_no_holder",
      then: (r) => expect(r.decision.actions.map((a) => a.kind)).to.not.include("setRoleSecondary"),
    },
    {
      name: "SECONDARY whose databases are NOT SYNCHRONIZING with a live primary: published as stuck, waits first",
      given: obs().databases([{ name: "sales", synchronizationState: "NOT SYNCHRONIZING" }]),
      reason: "secondary_not_synchronizing",
      actions: [],
      then: (r) => expect(r.decision.report.stuck).to.deep.equal({ kind: "not_synchronizing", sinceMs: NOW_MS, gaveUp: false }),
    },
    {
      name: "NOT SYNCHRONIZING for 31 s: restart own endpoint (no OFFLINE on a secondary)",
      given: obs().databases([{ name: "sales", synchronizationState: "NOT SYNCHRONIZING" }]),
      memory: mem().recovery({ kind: "not_synchronizing", stuckForMs: 31_000, endpointRestarts: 0, gaveUp: false }).build(),
      reason: "recovery_restarting_endpoint",
      then: (r) => expect(find(r, "restartEndpoint").offlineFirst).to.equal(false),
    },
    {
      name: "NOT SYNCHRONIZING while seeding: never restart the endpoint",
      given: obs().databases([{ name: "sales", synchronizationState: "NOT SYNCHRONIZING" }, { name: "big", seeding: true, synchronizationState: "NOT SYNCHRONIZING" }]),
      memory: mem().recovery({ kind: "not_synchronizing", stuckForMs: 31_000, endpointRestarts: 0, gaveUp: false }).build(),
      reason: "secondary_not_synchronizing",
      actions: [],
    },
    {
      name: "stuck RESOLVING (41104) for 31 s: OFFLINE + restart own endpoint, publish stuck-since",
      given: obs().role("RESOLVING"),
      memory: mem().recovery({ kind: "resolving", stuckForMs: 31_000, endpointRestarts: 0, gaveUp: false }).build(),
      reason: "recovery_restarting_endpoint",
      then: (r) => {
        expect(find(r, "restartEndpoint").offlineFirst).to.equal(true);
        expect(r.decision.report.stuck).to.deep.equal({ kind: "resolving", sinceMs: NOW_MS - 31_000, gaveUp: false });
      },
    },
    {
      name: "endpoint restart rate limit: not again within 90 s",
      given: obs().role("RESOLVING"),
      memory: mem().recovery({ kind: "resolving", stuckForMs: 60_000, endpointRestarts: 1, lastEndpointRestartAtMs: NOW_MS - 30_000, lastAttemptAtMs: NOW_MS - 500, gaveUp: false }).build(),
      reason: "resolving_set_role_secondary",
      then: (r) => expect(r.decision.actions.map((a) => a.kind)).to.not.include("restartEndpoint"),
    },
    {
      name: "still stuck after the maximum number of restarts: give up with a condition",
      given: obs().role("RESOLVING"),
      memory: mem().recovery({ kind: "resolving", stuckForMs: 400_000, endpointRestarts: 3, lastEndpointRestartAtMs: NOW_MS - 100_000, gaveUp: false }).build(),
      reason: "recovery_gave_up",
      then: (r) => expect(r.decision.report.stuck?.gaveUp).to.equal(true),
    },
    {
      name: "holder restarts its own endpoint once it has seen a peer stuck as long as the peer waits before its own restart (+ 2 loops)",
      given: obs().primary().peer("ag1-2", { stuckSince: "2026-01-01T00:00:00Z", stuckKind: "resolving" }),
      memory: mem().peerStuckSeenAgoMs(32_000).build(),
      reason: "recovery_restarting_endpoint_for_peer",
      then: (r) => expect(find(r, "restartEndpoint").offlineFirst).to.equal(false),
    },
    {
      name: "holder does not restart its endpoint the moment a peer reports stuck: a restart inside the early window after the promotion latches the stale transport again",
      given: obs().primary().peer("ag1-2", { stuckSince: "2026-01-01T00:00:00Z", stuckKind: "resolving" }),
      reason: "primary_steady",
      then: (r) => {
        expect(r.decision.actions.map((a) => a.kind)).to.not.include("restartEndpoint");
        expect(r.memory.peerStuckSeenSinceMs).to.equal(NOW_MS);
      },
    },
    {
      name: "holder keeps the time it first saw the stuck peer while the peer stays stuck",
      given: obs().primary().peer("ag1-2", { stuckSince: "2026-01-01T00:00:00Z", stuckKind: "resolving" }),
      memory: mem().peerStuckSeenAgoMs(10_000).build(),
      reason: "primary_steady",
      then: (r) => expect(r.memory.peerStuckSeenSinceMs).to.equal(NOW_MS - 10_000),
    },
    {
      name: "holder forgets when it first saw a stuck peer once no peer reports stuck",
      given: obs().primary(),
      memory: mem().peerStuckSeenAgoMs(10_000).build(),
      reason: "primary_steady",
      then: (r) => expect(r.memory.peerStuckSeenSinceMs).to.equal(undefined),
    },
    {
      name: "holder does not restart its endpoint for a stuck peer while seeding",
      given: obs().primary().peer("ag1-2", { stuckSince: "2026-01-01T00:00:00Z" }).databases([{ name: "sales", seeding: true }]),
      memory: mem().peerStuckSeenAgoMs(32_000).build(),
      reason: "primary_steady",
    },
    {
      name: "holder does not restart its endpoint twice within 90 s",
      given: obs().primary().peer("ag1-2", { stuckSince: "2026-01-01T00:00:00Z" }),
      memory: mem().peerStuckSeenAgoMs(100_000).lastPeerAssistRestartAgoMs(60_000).build(),
      reason: "primary_steady",
    },
  ],
  "planned failover": [
    {
      name: "switchover annotation to a SYNCHRONIZED synchronous replica: OFFLINE first",
      given: obs().primary().switchoverTo("ag1-2"),
      reason: "switchover_demoting",
      then: (r) => {
        expect(r.decision.actions.map((a) => a.kind)).to.include("offline");
        expect(r.memory.stepDown).to.deep.include({ cause: "switchover", handOverTo: "ag1-2" });
      },
    },
    {
      name: "switchover: once RESOLVING, hand the Lease to the target, annotated fenced",
      given: obs().role("RESOLVING").holder(ME),
      memory: mem().stepDown({ cause: "switchover", handOverTo: "ag1-2", offlineIssuedAtMs: NOW_MS - 500 }).build(),
      reason: "switchover_handing_over",
      then: (r) => expect(find(r, "handOverLease")).to.deep.equal({ kind: "handOverLease", target: "ag1-2", fenced: true }),
    },
    {
      name: "switchover target not SYNCHRONIZED: refuse, keep serving",
      given: obs().primary().renewedAgoMs(2500).switchoverTo("ag1-2").replicaState("ag1-2", { allDatabasesSynchronized: false }),
      reason: "switchover_target_not_synchronized",
      actions: ["sendFailsafeHeartbeats", "renewLease", "renewSqlWriteLease"],
    },
    {
      name: "switchover to an unknown pod: refuse, keep serving",
      given: obs().primary().switchoverTo("ag1-9"),
      reason: "switchover_no_eligible_target",
      actions: [],
    },
    {
      name: "switchover to any with an eligible replica picks the first by name",
      given: obs().primary().switchoverTo("any"),
      reason: "switchover_demoting",
      then: (r) => expect(r.memory.stepDown?.handOverTo).to.equal("ag1-1"),
    },
    {
      name: "preStop on a secondary returns at once",
      given: obs().preStop(),
      reason: "prestop_not_primary",
      then: (r) => expect(r.decision.report.preStop).to.equal("not_primary"),
    },
    {
      name: "preStop on the primary with a synchronized target: switch over",
      given: obs().primary().preStop(),
      reason: "prestop_switching_over",
      then: (r) => expect(r.decision.report.preStop).to.equal("switching_over"),
    },
    {
      name: "preStop on the primary with no eligible target: return at once (shutdown becomes unplanned failover)",
      given: obs().primary().preStop().replicaState("ag1-1", { allDatabasesSynchronized: false }).replicaState("ag1-2", { connected: false }),
      reason: "prestop_no_eligible_target",
      then: (r) => {
        expect(r.decision.report.preStop).to.equal("no_eligible_target");
        expect(r.decision.actions.map((a) => a.kind)).to.not.include("offline");
      },
    },
  ],
  "FailoverReady": [
    {
      name: "exactly two synchronous replicas and no witness: FailoverReady=False with the fix",
      given: obs()
        .spec((s) => (s.replicas = [{ name: "r0" }, { name: "r1" }]))
        .primary()
        .replicas([{ name: "ag1-0" }, { name: "ag1-1" }])
        .rsstc(0)
        .peerUnreachable("ag1-2"),
      reason: "primary_steady",
      then: (r) => {
        expect(r.decision.report.failoverReady).to.include({ status: "False", reason: "TwoSynchronousReplicasWithoutWitness" });
        expect(r.decision.report.failoverReady?.message).to.match(/ConfigurationOnly/);
      },
    },
    {
      name: "two synchronous replicas plus a configuration-only witness: FailoverReady=True",
      given: obs()
        .spec((s) => (s.replicas = [{ name: "r0" }, { name: "r1" }, { name: "r2", availabilityMode: "ConfigurationOnly" }]))
        .primary()
        .replicas([{ name: "ag1-0" }, { name: "ag1-1" }, { name: "ag1-2", mode: "ConfigurationOnly" }])
        .rsstc(0),
      reason: "primary_steady",
      then: (r) => expect(r.decision.report.failoverReady?.status).to.equal("True"),
    },
  ],
};

describe("decide", () => {
  for (const [group, cases] of Object.entries(groups)) {
    describe(group, () => {
      for (const testCase of cases) {
        it(testCase.name, () => {
          const result = run(testCase);
          expect(result.decision.reason, JSON.stringify(result.decision)).to.equal(testCase.reason);
          if (testCase.actions !== undefined) {
            expect(result.decision.actions.map((a) => a.kind)).to.deep.equal(testCase.actions);
          }
          testCase.then?.(result);
          expect(result.memory.lastReason).to.equal(testCase.reason);
        });
      }
    });
  }

  describe("folding finished actions into memory", () => {
    const cases: { name: string; given: ObservationBuilder; memory?: AgentMemory; check: (memory: AgentMemory) => void }[] = [
      {
        name: "a failed JOIN blocks retries for the back-off",
        given: obs().noAg().completed({ kind: "joinAg", ok: false, sqlErrorNumber: 41145 }),
        check: (m) => expect(m.retryNotBeforeMs).to.equal(NOW_MS - 100 + testConfig().policy.retryBackOffMs),
      },
      {
        name: "heartbeat acked by every sync peer is recorded with its send time",
        given: obs().primary().completed({ kind: "sendFailsafeHeartbeats", ok: true, epoch: 3, startedAtMs: NOW_MS - 700, failsafeAckedBy: ["ag1-1", "ag1-2"] }),
        check: (m) => expect(m.failsafe).to.deep.equal({ fullyAckedSentAtMs: NOW_MS - 700, epoch: 3 }),
      },
      {
        name: "heartbeat acked by only some peers is not enough",
        given: obs().primary().completed({ kind: "sendFailsafeHeartbeats", ok: false, epoch: 3, failsafeAckedBy: ["ag1-1"] }),
        check: (m) => expect(m.failsafe).to.equal(undefined),
      },
      {
        name: "reports of another epoch are dropped when folding",
        given: obs().holder(ME).completed({ kind: "collectSequenceReports", epoch: 3, sequenceReports: [report("ag1-1", 100, 2), report("ag1-2", 100, 3)] }),
        memory: mem().promotion({ epoch: 3, reportsRequestedAtMs: NOW_MS - 800 }).build(),
        check: (m) => expect(m.promotion?.reports.map((r) => r.pod)).to.deep.equal(["ag1-2"]),
      },
      {
        name: "a failed OFFLINE is issued again",
        given: obs().primary().completed({ kind: "offline", ok: false }),
        memory: mem().stepDown({ cause: "unhealthy", offlineIssuedAtMs: NOW_MS - 900 }).build(),
        check: (m) => expect(m.stepDown?.offlineIssuedAtMs).to.equal(NOW_MS),
      },
      {
        name: "a successful SQL lease renewal clears a recorded 47117",
        given: obs().primary().completed({ kind: "renewSqlWriteLease", ok: true }),
        memory: { ...mem().build(), sqlLeaseRejectedErrorNumber: 47117 },
        check: (m) => expect(m.sqlLeaseRejectedErrorNumber).to.equal(undefined),
      },
    ];
    for (const testCase of cases) {
      it(testCase.name, () => testCase.check(run(testCase).memory));
    }
  });

  it("every reason code appears in at least one table case", () => {
    const covered = new Set(Object.values(groups).flatMap((cases) => cases.map((c) => c.reason)));
    const missing = REASON_CODES.filter((code) => !covered.has(code));
    expect(missing).to.deep.equal([]);
  });

  it("never emits a forced failover, a DROP or SET ROLE on a PRIMARY in any table case", () => {
    for (const cases of Object.values(groups)) {
      for (const testCase of cases) {
        const observation = testCase.given.build();
        const result = decide(observation, testCase.memory ?? mem().build(), testConfig(testCase.given.me), NOW_MS);
        if (observation.sql.ag?.role === "PRIMARY") {
          expect(result.decision.actions.map((a) => a.kind), testCase.name).to.not.include("setRoleSecondary");
        }
        expect(JSON.stringify(result.decision).toUpperCase(), testCase.name).to.not.match(/FORCE_FAILOVER|DROP /);
      }
    }
  });

  it("at most one long action per decision, none while one runs", () => {
    for (const cases of Object.values(groups)) {
      for (const testCase of cases) {
        const observation = testCase.given.build();
        const result = decide(observation, testCase.memory ?? mem().build(), testConfig(testCase.given.me), NOW_MS);
        const long = result.decision.actions.filter((a) =>
          ["promote", "offline", "setRoleSecondary", "restartEndpoint", "bootstrapStep", "joinAg", "addDatabase", "addReplica", "modifyReplica", "removeReplica", "collectSequenceReports"].includes(a.kind),
        );
        expect(long.length, testCase.name).to.be.at.most(observation.inProgress === undefined ? 1 : 0);
      }
    }
  });

  it("a SQL write-lease renewal only ever follows a Lease renewal or carries failsafe authority", () => {
    for (const cases of Object.values(groups)) {
      for (const testCase of cases) {
        const result = run(testCase);
        const actions = result.decision.actions;
        actions.forEach((action, index) => {
          if (action.kind !== "renewSqlWriteLease") return;
          if (action.authority.kind === "failsafe") return;
          expect(actions.slice(0, index).some((a) => a.kind === "renewLease"), testCase.name).to.equal(true);
        });
      }
    }
  });

  it("is deterministic and does not mutate its (deep-frozen) inputs", () => {
    const observation = obs().holder(ME).build();
    const memory = mem().promotion({ epoch: 3, reportsRequestedAtMs: NOW_MS - 500, reports: [report("ag1-2", 100)] }).build();
    expect(Object.isFrozen(observation.sql.ag?.replicas)).to.equal(true);
    const first = decide(observation, memory, testConfig(), NOW_MS);
    const second = decide(observation, memory, testConfig(), NOW_MS);
    expect(first).to.deep.equal(second);
  });

  it("a frozen observation really throws on mutation", () => {
    const observation = obs().build();
    expect(() => {
      (observation.self as { terminating: boolean }).terminating = true;
    }).to.throw(TypeError);
  });
});
