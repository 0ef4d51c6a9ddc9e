/**
 * OpenAPI schema of SQLServerAvailabilityGroup (spec and status), with the CEL rules of ARCHITECTURE §3.
 *
 * messageExpression is used only where it concatenates bounded strings: the apiserver estimates `string(int)`
 * and results of filter() as unbounded and rejects the CRD for exceeding the CEL cost budget.
 *
 * CEL rules here run after the apiserver's structural defaulting, but they are written with `has()` guards so
 * that their meaning does not depend on it (a rule that reads a defaulted field falls back to the same default).
 * Every list and string carries maxItems/maxLength: the apiserver estimates each rule's worst-case cost from
 * those bounds and rejects the CRD when a rule could exceed its budget.
 */
import {
  AG_PHASES,
  AVAILABILITY_MODES,
  CLUSTER_TYPES,
  FAILOVER_MODES,
  HEALTH_THRESHOLDS,
  REPLICA_ROLES,
  SERVICE_TYPES,
} from "../types.js";
import { DEFAULT_TIMING, LEASE_SAFETY_MARGIN_SECONDS, SQL_PORT } from "../defaults.js";
import type { CelValidation, JsonSchemaProps } from "./openapi.js";
import { arrayProp, booleanProp, enumProp, immutable, integerProp, objectProp, stringProp } from "./openapi.js";
import {
  acceptEulaProp,
  agentProp,
  clusterDomainProp,
  conditionsProp,
  DNS_LABEL_MAX_LENGTH,
  DNS_LABEL_PATTERN,
  editionProp,
  mssqlConfProp,
  nodeSelectorProp,
  observedGenerationProp,
  PORT_RANGE_RULE,
  resourcesProp,
  secretKeyRefProp,
  SQL_IDENTIFIER_MAX_LENGTH,
  SQL_IDENTIFIER_PATTERN,
  sqlImageProp,
  storageProp,
  terminationGracePeriodProp,
  tolerationsProp,
} from "./common.js";

export const MAX_REPLICAS = 9;
/** SQL Server's limit on synchronous-commit replicas, the primary included. */
export const MAX_SYNCHRONOUS_REPLICAS = 5;
export const MAX_CONFIGURATION_ONLY_REPLICAS = 1;
export const MIN_FAILOVER_THRESHOLD_SECONDS = 10;
export const MIN_HEALTH_CHECK_INTERVAL_SECONDS = 5;
export const MAX_DATABASES = 64;
/**
 * Longest AG resource name: it names the StatefulSet, whose pods get a controller-revision-hash label
 * `<name>-<10 chars>` that must fit in a 63-character label value.
 */
export const MAX_AG_RESOURCE_NAME_LENGTH = 52;
export const DEFAULT_ENDPOINT_PORT = 5022;
export const DEFAULT_FAILOVER_THRESHOLD_SECONDS = 10;
export const DEFAULT_AG_TERMINATION_GRACE_PERIOD_SECONDS = 120;

/** CEL: replica `r` is synchronous (availabilityMode defaults to SynchronousCommit). */
function isSynchronous(r: string): string {
  return `(!has(${r}.availabilityMode) || ${r}.availabilityMode == 'SynchronousCommit')`;
}
function isConfigurationOnly(r: string): string {
  return `(has(${r}.availabilityMode) && ${r}.availabilityMode == 'ConfigurationOnly')`;
}
function isExplicitlyAutomatic(r: string): string {
  return `(has(${r}.failoverMode) && ${r}.failoverMode == 'Automatic')`;
}
const clusterTypeIsNone = "(has(self.clusterType) && self.clusterType == 'NONE')";

/** `[0, 1, …, MAX_REPLICAS-1]`: CEL has no range(), and positions are what the append-only rule compares. */
const replicaPositions = `[${Array.from({ length: MAX_REPLICAS }, (_, i) => i).join(", ")}]`;

function replicaSchema(): JsonSchemaProps {
  return objectProp(
    "One availability replica. The i-th entry runs in pod <name>-<i>; entries may only be appended or removed at the end of the list.",
    {
      name: stringProp(
        "Stable name of the replica (a DNS label, unique in the list). It identifies the replica in status and logs; the pod is <resource name>-<position>.",
        {
          maxLength: DNS_LABEL_MAX_LENGTH,
          rules: [
            {
              rule: `self.matches('${DNS_LABEL_PATTERN}')`,
              message: "replica name must be a DNS label: lowercase letters, digits and '-', starting and ending with a letter or digit (e.g. secondary-1)",
            },
          ],
        },
      ),
      availabilityMode: enumProp(
        "SynchronousCommit: commits wait for this replica, and it can take over without data loss. AsynchronousCommit: commits do not wait; failover to it is manual and may lose data. ConfigurationOnly: holds only the AG configuration (a witness, no data), needs clusterType EXTERNAL. Default: SynchronousCommit.",
        AVAILABILITY_MODES,
        { default: "SynchronousCommit" },
      ),
      failoverMode: enumProp(
        "Automatic: the agents may promote this replica when the primary fails. Manual: only a planned failover makes it primary. Default: Automatic for SynchronousCommit replicas of a clusterType EXTERNAL group, otherwise Manual.",
        FAILOVER_MODES,
      ),
      readableSecondary: booleanProp(
        "Whether this replica accepts read-only connections while it is a secondary (SECONDARY_ROLE ALLOW_CONNECTIONS = ALL) and is selected by the read-only listener. Default: false.",
        { default: false },
      ),
    },
    {
      required: ["name"],
      rules: [
        {
          rule: `!${isExplicitlyAutomatic("self")} || ${isSynchronous("self")}`,
          message: "failoverMode Automatic needs availabilityMode SynchronousCommit: set failoverMode: Manual on AsynchronousCommit and ConfigurationOnly replicas",
          messageExpression: `'replica ' + self.name + ' is ' + self.availabilityMode + ' and cannot have failoverMode Automatic: set failoverMode: Manual or make it SynchronousCommit'`,
        },
        {
          rule: `!${isConfigurationOnly("self")} || !has(self.readableSecondary) || !self.readableSecondary`,
          message: "a ConfigurationOnly replica holds no databases and cannot be readable: remove readableSecondary or set it to false",
          messageExpression: `'replica ' + self.name + ' is ConfigurationOnly, holds no databases and cannot be readable: remove readableSecondary or set it to false'`,
        },
      ],
    },
  );
}

function replicasSchema(): JsonSchemaProps {
  const synchronousCount = `self.filter(r, ${isSynchronous("r")}).size()`;
  return arrayProp(
    `The availability replicas, 1 to ${MAX_REPLICAS}; one pod each. At most ${MAX_SYNCHRONOUS_REPLICAS} SynchronousCommit (primary included), at most ${MAX_CONFIGURATION_ONLY_REPLICAS} ConfigurationOnly, at least one SynchronousCommit. Replicas may be appended or removed only at the end of the list.`,
    replicaSchema(),
    {
      minItems: 1,
      maxItems: MAX_REPLICAS,
      listType: "map",
      listMapKeys: ["name"],
      rules: [
        {
          rule: "self.all(r, self.exists_one(q, q.name == r.name))",
          message: "replica names must be unique: rename the duplicate replica",
        },
        {
          rule: `self.exists(r, ${isSynchronous("r")})`,
          message: "at least one replica must be SynchronousCommit (the primary is synchronous): set availabilityMode: SynchronousCommit on one replica",
        },
        {
          rule: `${synchronousCount} <= ${MAX_SYNCHRONOUS_REPLICAS}`,
          message: `at most ${MAX_SYNCHRONOUS_REPLICAS} replicas may be SynchronousCommit (SQL Server's limit, primary included): make the others AsynchronousCommit`,
        },
        {
          rule: `self.filter(r, ${isConfigurationOnly("r")}).size() <= ${MAX_CONFIGURATION_ONLY_REPLICAS}`,
          message: "at most one replica may be ConfigurationOnly: make the others SynchronousCommit or AsynchronousCommit, or remove them",
        },
        {
          rule: `${replicaPositions}.all(i, i >= self.size() || i >= oldSelf.size() || self[i].name == oldSelf[i].name)`,
          message: "replicas may only be appended or removed at the end of the list: pod <name>-<i> runs the i-th replica, so keep existing entries in place with their names (do not rename or reorder)",
        },
      ],
    },
  );
}

function listenerSchema(kind: "read-write" | "read-only"): JsonSchemaProps {
  const field = kind === "read-write" ? "listener" : "readOnlyListener";
  const routesTo =
    kind === "read-write"
      ? "A Service that always routes to the current primary replica."
      : "A Service that routes to the readable secondary replicas (readableSecondary: true).";
  return objectProp(
    `${routesTo} Omit to create no such Service.`,
    {
      name: stringProp("Name of the Service (a DNS label).", {
        maxLength: DNS_LABEL_MAX_LENGTH,
        rules: [
          {
            rule: `self.matches('${DNS_LABEL_PATTERN}')`,
            message: `${field}.name must be a DNS label: lowercase letters, digits and '-', starting and ending with a letter or digit`,
          },
        ],
      }),
      port: integerProp(`Port clients connect to; it forwards to SQL Server's port 1433 in the pod. Default: ${SQL_PORT}.`, {
        default: SQL_PORT,
        rules: [{ rule: PORT_RANGE_RULE, message: `${field}.port must be between 1 and 65535` }],
      }),
      serviceType: enumProp("Kubernetes Service type. Default: ClusterIP.", SERVICE_TYPES, { default: "ClusterIP" }),
    },
    { required: ["name"] },
  );
}

function automaticFailoverSchema(): JsonSchemaProps {
  return objectProp(
    "Automatic failover by the agents. Only possible with clusterType EXTERNAL.",
    {
      enabled: booleanProp(
        "Whether the agents fail over automatically when the primary is unhealthy. Default: true when clusterType is EXTERNAL; must not be true when clusterType is NONE.",
      ),
      failoverThresholdSeconds: integerProp(
        `Seconds a health failure of the primary must last before it steps down; a refused connection steps down at once. Minimum ${MIN_FAILOVER_THRESHOLD_SECONDS}. Default: ${DEFAULT_FAILOVER_THRESHOLD_SECONDS}.`,
        {
          default: DEFAULT_FAILOVER_THRESHOLD_SECONDS,
          rules: [
            {
              rule: `self >= ${MIN_FAILOVER_THRESHOLD_SECONDS}`,
              message: `automaticFailover.failoverThresholdSeconds must be at least ${MIN_FAILOVER_THRESHOLD_SECONDS}: raise it to ${MIN_FAILOVER_THRESHOLD_SECONDS} or more`,
            },
          ],
        },
      ),
      healthThreshold: enumProp(
        "How sensitive the health check is (sp_server_diagnostics failure level): system is least sensitive, query_processing most. Default: system.",
        HEALTH_THRESHOLDS,
        { default: "system" },
      ),
    },
    { default: {} },
  );
}

type TimingField = keyof typeof DEFAULT_TIMING;

/** CEL: a timing field with its default when absent, so the rule means the same before and after defaulting. */
function timing(field: TimingField): string {
  return `(has(self.${field}) ? self.${field} : ${DEFAULT_TIMING[field]})`;
}

function timingSchema(): JsonSchemaProps {
  const seconds = (description: string, field: TimingField, rules: CelValidation[] = []): JsonSchemaProps =>
    integerProp(`${description} Default: ${DEFAULT_TIMING[field]}.`, { minimum: 1, maximum: 3600, default: DEFAULT_TIMING[field], rules });
  return objectProp(
    "HA timing of the agents, in seconds. The defaults suit most clusters; they must satisfy sqlWriteLeaseSeconds + renewDeadlineSeconds + 2 <= leaseDurationSeconds and renewIntervalSeconds < renewDeadlineSeconds < leaseDurationSeconds.",
    {
      leaseDurationSeconds: seconds("Validity of the Kubernetes primary Lease; a dead primary is replaced roughly this long after it stopped renewing.", "leaseDurationSeconds"),
      renewIntervalSeconds: seconds("How often the lease holder renews the Lease.", "renewIntervalSeconds"),
      renewDeadlineSeconds: seconds("How long the primary keeps trying to renew before it stops renewing the SQL write lease and fences itself.", "renewDeadlineSeconds"),
      sqlWriteLeaseSeconds: seconds("Validity of the write lease inside SQL Server; the primary stops accepting commits when it is not renewed in time.", "sqlWriteLeaseSeconds"),
      healthCheckIntervalSeconds: seconds(
        `Repeat interval of the SQL Server health check (sp_server_diagnostics). Minimum ${MIN_HEALTH_CHECK_INTERVAL_SECONDS}.`,
        "healthCheckIntervalSeconds",
        [
          {
            rule: `self >= ${MIN_HEALTH_CHECK_INTERVAL_SECONDS}`,
            message: `timing.healthCheckIntervalSeconds must be at least ${MIN_HEALTH_CHECK_INTERVAL_SECONDS} (sp_server_diagnostics' minimum repeat interval): raise it`,
          },
        ],
      ),
      disablePrimaryOnQuorumTimeoutSeconds: seconds(
        "How long a primary without a synchronized quorum keeps accepting writes before it stops.",
        "disablePrimaryOnQuorumTimeoutSeconds",
      ),
    },
    {
      default: {},
      rules: [
        {
          rule: `${timing("sqlWriteLeaseSeconds")} + ${timing("renewDeadlineSeconds")} + ${LEASE_SAFETY_MARGIN_SECONDS} <= ${timing("leaseDurationSeconds")}`,
          message: `timing must satisfy sqlWriteLeaseSeconds + renewDeadlineSeconds + ${LEASE_SAFETY_MARGIN_SECONDS} <= leaseDurationSeconds so a fenced primary stops writing before another is promoted: lower sqlWriteLeaseSeconds or renewDeadlineSeconds, or raise leaseDurationSeconds`,
        },
        {
          rule: `${timing("renewIntervalSeconds")} < ${timing("renewDeadlineSeconds")} && ${timing("renewDeadlineSeconds")} < ${timing("leaseDurationSeconds")}`,
          message: "timing must satisfy renewIntervalSeconds < renewDeadlineSeconds < leaseDurationSeconds: adjust these so the lease is renewed several times before it can expire",
        },
      ],
    },
  );
}

function databasesSchema(): JsonSchemaProps {
  return arrayProp(
    "User databases the agents add to the availability group (created if missing, seeded automatically to the secondaries).",
    objectProp(
      "A database in the availability group.",
      {
        name: stringProp(`Database name: a SQL identifier (letters, digits, underscore; not starting with a digit), at most ${SQL_IDENTIFIER_MAX_LENGTH} characters.`, {
          maxLength: SQL_IDENTIFIER_MAX_LENGTH,
          rules: [
            {
              rule: `self.matches('${SQL_IDENTIFIER_PATTERN}')`,
              message: "database name must be a SQL identifier: start with a letter or underscore, then letters, digits or underscores only",
            },
          ],
        }),
      },
      { required: ["name"] },
    ),
    {
      maxItems: MAX_DATABASES,
      listType: "map",
      listMapKeys: ["name"],
      rules: [
        {
          rule: "self.all(d, self.exists_one(e, e.name == d.name))",
          message: "database names must be unique: remove the duplicate entry",
        },
      ],
    },
  );
}

export function availabilityGroupSpecSchema(): JsonSchemaProps {
  const synchronousCount = `self.replicas.filter(r, ${isSynchronous("r")}).size()`;
  return objectProp(
    "Desired state of a SQL Server Always On availability group: one StatefulSet pod per replica, each with the sqlag agent sidecar.",
    {
      agName: stringProp(
        `Name of the availability group inside SQL Server: a SQL identifier (letters, digits, underscore; not starting with a digit), at most ${SQL_IDENTIFIER_MAX_LENGTH} characters. Immutable.`,
        {
          minLength: 1,
          maxLength: SQL_IDENTIFIER_MAX_LENGTH,
          rules: [
            {
              rule: `self.matches('${SQL_IDENTIFIER_PATTERN}')`,
              message: "agName must be a SQL identifier: start with a letter or underscore, then letters, digits or underscores only (e.g. AG1)",
            },
            immutable("agName", "renaming an availability group needs a new resource; keep the previous value"),
          ],
        },
      ),
      image: sqlImageProp(),
      edition: editionProp(),
      acceptEula: acceptEulaProp(),
      saPasswordSecretRef: secretKeyRefProp("saPasswordSecretRef"),
      replicas: replicasSchema(),
      storage: storageProp(),
      mssqlConf: mssqlConfProp(),
      resources: resourcesProp("Compute resources of the SQL Server container (requests and limits, e.g. cpu: 500m, memory: 2Gi)."),
      endpointPort: integerProp(
        `TCP port of the database mirroring endpoint the replicas replicate over. Must not be 1433 (the SQL port). Default: ${DEFAULT_ENDPOINT_PORT}.`,
        {
          default: DEFAULT_ENDPOINT_PORT,
          rules: [
            { rule: PORT_RANGE_RULE, message: "endpointPort must be between 1 and 65535" },
            { rule: `self != ${SQL_PORT}`, message: `endpointPort must differ from ${SQL_PORT}, the SQL Server client port: use e.g. ${DEFAULT_ENDPOINT_PORT}` },
          ],
        },
      ),
      clusterType: enumProp(
        "EXTERNAL: the sqlag agents manage the group and fail over automatically (the usual choice). NONE: a read-scale group without a cluster manager; failover is manual only and ConfigurationOnly replicas are not allowed. Immutable. Default: EXTERNAL.",
        CLUSTER_TYPES,
        { default: "EXTERNAL", rules: [immutable("clusterType", "changing the cluster type needs a new availability group; keep the previous value")] },
      ),
      automaticFailover: automaticFailoverSchema(),
      listener: listenerSchema("read-write"),
      readOnlyListener: listenerSchema("read-only"),
      nodeSelector: nodeSelectorProp(),
      tolerations: tolerationsProp(),
      databases: databasesSchema(),
      timing: timingSchema(),
      requiredSynchronizedSecondariesToCommit: integerProp(
        "How many synchronized secondaries a commit must reach (REQUIRED_SYNCHRONIZED_SECONDARIES_TO_COMMIT), 0 up to the number of SynchronousCommit replicas minus one. Default: computed, 0 with 2 synchronous replicas, otherwise half the synchronous replicas rounded down.",
      ),
      clusterDomain: clusterDomainProp(),
      terminationGracePeriodSeconds: terminationGracePeriodProp(DEFAULT_AG_TERMINATION_GRACE_PERIOD_SECONDS),
      agent: agentProp(),
    },
    {
      required: ["agName", "saPasswordSecretRef", "replicas"],
      rules: [
        {
          rule: `!${clusterTypeIsNone} || self.replicas.all(r, !${isExplicitlyAutomatic("r")})`,
          message: "clusterType NONE supports manual failover only: set failoverMode: Manual (or omit it) on every replica, or use clusterType: EXTERNAL",
          fieldPath: ".replicas",
        },
        {
          rule: `!${clusterTypeIsNone} || !self.replicas.exists(r, ${isConfigurationOnly("r")})`,
          message: "a ConfigurationOnly replica needs clusterType EXTERNAL: remove it or use clusterType: EXTERNAL",
          fieldPath: ".replicas",
        },
        {
          rule: `!${clusterTypeIsNone} || !has(self.automaticFailover) || !has(self.automaticFailover.enabled) || !self.automaticFailover.enabled`,
          message: "clusterType NONE has no automatic failover: set automaticFailover.enabled: false (or omit it), or use clusterType: EXTERNAL",
          fieldPath: ".automaticFailover",
        },
        {
          rule: `!has(self.requiredSynchronizedSecondariesToCommit) || (self.requiredSynchronizedSecondariesToCommit >= 0 && self.requiredSynchronizedSecondariesToCommit <= ${synchronousCount} - 1)`,
          message: "requiredSynchronizedSecondariesToCommit must be between 0 and the number of SynchronousCommit replicas minus one: lower it, or omit it to use the computed value",
          fieldPath: ".requiredSynchronizedSecondariesToCommit",
        },
        {
          rule: "!has(self.listener) || !has(self.readOnlyListener) || self.listener.name != self.readOnlyListener.name",
          message: "listener and readOnlyListener need different names: rename one of them",
          fieldPath: ".readOnlyListener.name",
        },
      ],
    },
  );
}

export function availabilityGroupStatusSchema(): JsonSchemaProps {
  const replicaStatus = objectProp(
    "What the lease-holding agent last observed about one replica.",
    {
      name: stringProp("Replica name from spec.replicas.", { maxLength: DNS_LABEL_MAX_LENGTH }),
      pod: stringProp("Pod that runs the replica.", { maxLength: DNS_LABEL_MAX_LENGTH }),
      role: enumProp("Role reported by SQL Server.", REPLICA_ROLES),
      availabilityMode: enumProp("Availability mode in effect.", AVAILABILITY_MODES),
      synchronizationHealth: stringProp("HEALTHY, PARTIALLY_HEALTHY or NOT_HEALTHY (sys.dm_hadr_availability_replica_states).", { maxLength: 64 }),
      connected: booleanProp("Whether the replica is connected to the primary."),
      sequenceNumber: stringProp("AG configuration sequence number last seen on the replica (a 64-bit integer as a string).", { maxLength: 32 }),
      healthy: booleanProp("Whether the replica's agent reports SQL Server healthy."),
      lastSeenTime: stringProp("When the replica's agent last answered (RFC 3339).", { format: "date-time", maxLength: 64 }),
    },
    { required: ["name", "pod", "role", "availabilityMode"] },
  );
  const databaseStatus = objectProp(
    "One database of the availability group.",
    {
      name: stringProp("Database name.", { maxLength: SQL_IDENTIFIER_MAX_LENGTH }),
      inAvailabilityGroup: booleanProp("Whether the database has joined the availability group on the primary."),
      replicas: arrayProp(
        "Synchronization state of the database on each replica.",
        objectProp(
          "State of the database on one replica.",
          {
            replica: stringProp("Replica name.", { maxLength: DNS_LABEL_MAX_LENGTH }),
            synchronizationState: stringProp("SYNCHRONIZED, SYNCHRONIZING, NOT SYNCHRONIZING, ... (sys.dm_hadr_database_replica_states).", { maxLength: 64 }),
          },
          { required: ["replica", "synchronizationState"] },
        ),
        { maxItems: MAX_REPLICAS, listType: "map", listMapKeys: ["replica"] },
      ),
    },
    { required: ["name", "inAvailabilityGroup", "replicas"] },
  );
  return objectProp("Observed state. observedGeneration and the Reconciled condition are written by the controller; the rest by the lease-holding agent.", {
    observedGeneration: observedGenerationProp(),
    phase: enumProp("Pending, Bootstrapping, Running, Degraded or Failed.", AG_PHASES),
    primaryReplica: stringProp("Pod that is currently the primary replica.", { maxLength: DNS_LABEL_MAX_LENGTH }),
    initializationComplete: booleanProp("Whether the availability group was created; once true, bootstrap never runs again."),
    groupId: stringProp("sys.availability_groups.group_id recorded when the group was created.", { maxLength: 64 }),
    epoch: integerProp("Failover epoch: increases by one on every promotion.", { format: "int64", minimum: 0 }),
    replicaStatuses: arrayProp("Per-replica state.", replicaStatus, { maxItems: MAX_REPLICAS, listType: "map", listMapKeys: ["name"] }),
    databases: arrayProp("Per-database state.", databaseStatus, { maxItems: MAX_DATABASES, listType: "map", listMapKeys: ["name"] }),
    conditions: conditionsProp("Reconciled (controller), Available, FailoverReady and Synchronized (agent)."),
  });
}
