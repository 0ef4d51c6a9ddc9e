/**
 * Semantic checks the CRD schema and its CEL rules cannot express (or cannot express well): name lengths of
 * derived objects, collisions between rendered names and ports, the two-lease timing inequality, mssql.conf
 * syntax, environment collisions. Each problem is one full sentence that says what to change; an empty list means
 * the CR can be rendered. The CRD already rejects what it can (ARCHITECTURE §3); these run on what got through.
 */
import {
  AGENT_HTTP_PORT,
  agNames,
  LEASE_SAFETY_MARGIN_SECONDS,
  SQL_PORT,
  withDefaults,
  withInstanceDefaults,
} from "@sqlag/api";
import type { SQLServerAvailabilityGroup, SQLServerInstance } from "@sqlag/api";
import { resolvedRwListener } from "./availability-group.js";
import { SQL_AGENT_ENABLED_KEY, validateMssqlConf } from "./mssql-conf.js";
import { instanceMssqlEnv } from "./instance.js";

/**
 * The StatefulSet controller labels each pod with `controller-revision-hash=<name>-<10 chars>`, and label
 * values are limited to 63 characters; pod host names (`<name>-<ordinal>`) must also stay DNS labels.
 */
export const MAX_CR_NAME_LENGTH = 52;
const DNS_LABEL = /^[a-z]([-a-z0-9]*[a-z0-9])?$/;
const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

function validateCrName(kind: string, name: string): string[] {
  const problems: string[] = [];
  if (name.length > MAX_CR_NAME_LENGTH) {
    problems.push(
      `The ${kind} name "${name}" is ${name.length} characters long; use at most ${MAX_CR_NAME_LENGTH} so its pod names and StatefulSet revision labels stay valid.`,
    );
  }
  if (!DNS_LABEL.test(name)) {
    problems.push(
      `The ${kind} name "${name}" must be a DNS label (lower-case letters, digits and '-', starting with a letter) because it names Services and pod host names; rename the resource.`,
    );
  }
  return problems;
}

function validateClusterDomain(domain: string): string[] {
  return DNS_SUBDOMAIN.test(domain) && domain.length <= 253
    ? []
    : [`spec.clusterDomain "${domain}" is not a valid DNS domain; set your cluster's domain, for example "cluster.local".`];
}

export function validateAvailabilityGroup(cr: SQLServerAvailabilityGroup): string[] {
  const name = cr.metadata.name;
  const spec = withDefaults(cr.spec);
  const problems = [...validateCrName("SQLServerAvailabilityGroup", name), ...validateMssqlConf(spec.mssqlConf, true), ...validateClusterDomain(spec.clusterDomain)];

  const seenReplicaNames = new Set<string>();
  for (const replica of spec.replicas) {
    if (seenReplicaNames.has(replica.name)) {
      problems.push(`spec.replicas has two replicas named "${replica.name}"; give every replica a unique name.`);
    }
    seenReplicaNames.add(replica.name);
  }

  const rw = resolvedRwListener(name, spec);
  const serviceNames = new Map<string, string>([[agNames.headlessService(name), "the headless Service"]]);
  for (const [field, listener] of [["spec.listener", rw], ["spec.readOnlyListener", spec.readOnlyListener]] as const) {
    if (listener === undefined) continue;
    const clash = serviceNames.get(listener.name);
    if (clash !== undefined) {
      problems.push(`${field}.name "${listener.name}" is already used by ${clash}; choose another Service name.`);
    } else if (!DNS_LABEL.test(listener.name) || listener.name.length > 63) {
      problems.push(`${field}.name "${listener.name}" must be a DNS label of at most 63 characters (lower-case letters, digits and '-'); rename the listener.`);
    }
    serviceNames.set(listener.name, field);
  }

  if (spec.endpointPort === SQL_PORT || spec.endpointPort === AGENT_HTTP_PORT) {
    problems.push(
      `spec.endpointPort ${spec.endpointPort} collides with ${spec.endpointPort === SQL_PORT ? "SQL Server's client port" : "the sqlag agent's HTTP port"} in the same pod; use another port such as 5022.`,
    );
  }

  if (spec.saPasswordSecretRef.name === agNames.hadrSecret(name)) {
    problems.push(`spec.saPasswordSecretRef.name must not be "${agNames.hadrSecret(name)}", which sqlag generates for the AG's own credentials; store the SA password in another Secret.`);
  }

  const timing = spec.timing;
  const needed = timing.sqlWriteLeaseSeconds + timing.renewDeadlineSeconds + LEASE_SAFETY_MARGIN_SECONDS;
  if (needed > timing.leaseDurationSeconds) {
    problems.push(
      `spec.timing is unsafe: sqlWriteLeaseSeconds (${timing.sqlWriteLeaseSeconds}) + renewDeadlineSeconds (${timing.renewDeadlineSeconds}) + ${LEASE_SAFETY_MARGIN_SECONDS} s margin must not exceed leaseDurationSeconds (${timing.leaseDurationSeconds}); raise leaseDurationSeconds to at least ${needed} or lower the others.`,
    );
  }
  if (timing.renewIntervalSeconds >= timing.renewDeadlineSeconds) {
    problems.push(
      `spec.timing.renewIntervalSeconds (${timing.renewIntervalSeconds}) must be smaller than renewDeadlineSeconds (${timing.renewDeadlineSeconds}) so a renewal can be retried before the deadline; lower the interval.`,
    );
  }
  if (timing.healthCheckIntervalSeconds < 5) {
    problems.push(`spec.timing.healthCheckIntervalSeconds is ${timing.healthCheckIntervalSeconds}; sp_server_diagnostics needs at least 5, so set 5 or more.`);
  }

  const synchronous = spec.replicas.filter((replica) => replica.availabilityMode === "SynchronousCommit").length;
  const required = spec.requiredSynchronizedSecondariesToCommit;
  if (required !== undefined && (required < 0 || required > Math.max(0, synchronous - 1))) {
    problems.push(
      `spec.requiredSynchronizedSecondariesToCommit is ${required} but the AG has ${synchronous} synchronous replica(s), so at most ${Math.max(0, synchronous - 1)} secondaries can acknowledge a commit; lower it or remove it to use the computed value.`,
    );
  }
  return problems;
}

export function validateInstance(cr: SQLServerInstance): string[] {
  const name = cr.metadata.name;
  const spec = withInstanceDefaults(cr.spec);
  const problems = [...validateCrName("SQLServerInstance", name), ...validateMssqlConf(spec.mssqlConf, false), ...validateClusterDomain(spec.clusterDomain)];

  if (spec.port === AGENT_HTTP_PORT) {
    problems.push(`spec.port ${spec.port} is the sqlag agent's HTTP port in the same pod; use another port such as 1433.`);
  }

  const reserved = new Set([...instanceMssqlEnv(spec).map((variable) => variable.name), "SA_PASSWORD"]);
  const seen = new Set<string>();
  for (const variable of spec.additionalEnvVars) {
    if (reserved.has(variable.name)) {
      const hint =
        variable.name === "TZ" ? "use spec.timezone" : variable.name === "MSSQL_AGENT_ENABLED" ? `use spec.mssqlConf "${SQL_AGENT_ENABLED_KEY}"` : "use the matching spec field";
      problems.push(`spec.additionalEnvVars sets ${variable.name}, which sqlag manages; remove it (${hint}).`);
    }
    if (seen.has(variable.name)) {
      problems.push(`spec.additionalEnvVars sets ${variable.name} twice; keep one entry.`);
    }
    seen.add(variable.name);
  }
  return problems;
}

