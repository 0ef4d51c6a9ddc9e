/**
 * Schema pieces both CRDs share: secret reference, storage, resources, tolerations, the agent sidecar, status
 * conditions. Defaults written here come from defaults.ts so the schema and withDefaults() cannot disagree
 * silently (schema/defaults.test.ts checks the resolved values too).
 */
import {
  ACCEPT_EULA_VALUES,
  AGENT_LOG_LEVELS,
  CONDITION_STATUSES,
  EDITIONS,
  RECLAIM_POLICIES,
  TOLERATION_EFFECTS,
  TOLERATION_OPERATORS,
} from "../types.js";
import { DEFAULT_AGENT_IMAGE, DEFAULT_CLUSTER_DOMAIN, DEFAULT_SQL_IMAGE } from "../defaults.js";
import type { JsonSchemaProps } from "./openapi.js";
import { arrayProp, enumProp, immutable, integerProp, mapProp, objectProp, stringProp } from "./openapi.js";

/** A T-SQL identifier safe to bracket-quote: letters, digits, underscore, not starting with a digit. */
export const SQL_IDENTIFIER_PATTERN = "^[A-Za-z_][A-Za-z0-9_]*$";
export const SQL_IDENTIFIER_MAX_LENGTH = 128;
/** RFC 1123 label, as Kubernetes uses for object names that become DNS names. */
export const DNS_LABEL_PATTERN = "^[a-z0-9]([-a-z0-9]*[a-z0-9])?$";
export const DNS_LABEL_MAX_LENGTH = 63;
export const DNS_SUBDOMAIN_PATTERN = "^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$";
export const DNS_SUBDOMAIN_MAX_LENGTH = 253;
/** Kubernetes resource.Quantity in its serialized form: a decimal number with an optional SI, binary or exponent suffix. */
export const QUANTITY_PATTERN = "^[+-]?([0-9]+(\\.[0-9]*)?|\\.[0-9]+)([KMGTPE]i|[numkMGTPE]|[eE][+-]?([0-9]+(\\.[0-9]*)?|\\.[0-9]+))?$";
export const QUANTITY_MAX_LENGTH = 64;
export const IMAGE_MAX_LENGTH = 512;

/** The message suffix every port rule shares. */
export const PORT_RANGE_RULE = "self >= 1 && self <= 65535";

export function quantityProp(description: string, options: { default?: string } = {}): JsonSchemaProps {
  return stringProp(description, { maxLength: QUANTITY_MAX_LENGTH, pattern: QUANTITY_PATTERN, ...options });
}

export function imageProp(description: string, defaultImage: string): JsonSchemaProps {
  return stringProp(`${description} Default: ${defaultImage}.`, {
    maxLength: IMAGE_MAX_LENGTH,
    default: defaultImage,
    rules: [{ rule: "self.size() > 0 && !self.contains(' ')", message: "image must be a non-empty image reference without spaces, e.g. mcr.microsoft.com/mssql/server:2025-latest" }],
  });
}

export function sqlImageProp(): JsonSchemaProps {
  return imageProp("SQL Server container image, the same for every replica. Changing it rolls the pods one at a time.", DEFAULT_SQL_IMAGE);
}

/** `edition` becomes MSSQL_PID. Immutable because a license change needs a reinstall, not a restart. */
export function editionProp(): JsonSchemaProps {
  return enumProp("SQL Server edition, passed as MSSQL_PID. Immutable after creation. Default: Developer.", EDITIONS, {
    default: "Developer",
    rules: [immutable("edition", "changing the SQL Server edition needs a new resource; keep the previous value")],
  });
}

export function acceptEulaProp(): JsonSchemaProps {
  return enumProp("Acceptance of the SQL Server end-user licence agreement, passed as ACCEPT_EULA. Default: Y.", ACCEPT_EULA_VALUES, { default: "Y" });
}

/** Reference to the Secret key holding the SA password; both parts are required and non-empty. */
export function secretKeyRefProp(field: string): JsonSchemaProps {
  return objectProp(
    "Secret (in the resource's namespace) and key that hold the SQL Server SA password. The password is read by the pods, never logged.",
    {
      name: stringProp("Name of the Secret.", {
        maxLength: DNS_SUBDOMAIN_MAX_LENGTH,
        rules: [{ rule: "self.size() > 0", message: `${field}.name is empty: set it to the name of the Secret that holds the SA password` }],
      }),
      key: stringProp("Key inside the Secret whose value is the SA password, e.g. SA_PASSWORD.", {
        maxLength: DNS_SUBDOMAIN_MAX_LENGTH,
        rules: [{ rule: "self.size() > 0", message: `${field}.key is empty: set it to the Secret key that holds the SA password, e.g. SA_PASSWORD` }],
      }),
    },
    { required: ["name", "key"] },
  );
}

/**
 * Storage of the data volume (one PVC per pod). Class, size and access modes are immutable: a StatefulSet's
 * volumeClaimTemplates cannot change, so accepting a change would only make the spec lie.
 */
export function storageProp(): JsonSchemaProps {
  return objectProp(
    "Data volume of each SQL Server pod (a PersistentVolumeClaim per pod, mounted at /var/opt/mssql). Class, size and access modes are immutable.",
    {
      storageClassName: stringProp("StorageClass of the data volume claims. Omit to use the cluster's default StorageClass. Immutable.", {
        maxLength: DNS_SUBDOMAIN_MAX_LENGTH,
      }),
      dataVolumeSize: quantityProp("Size of each data volume claim, as a Kubernetes quantity (e.g. 20Gi). Immutable. Default: 10Gi.", {
        default: "10Gi",
      }),
      accessModes: arrayProp(
        "Access modes of the data volume claims. Immutable. Default: [ReadWriteOnce].",
        enumProp("A PersistentVolume access mode.", ["ReadWriteOnce", "ReadWriteOncePod", "ReadWriteMany", "ReadOnlyMany"]),
        { maxItems: 4, minItems: 1, default: ["ReadWriteOnce"] },
      ),
      reclaimPolicy: enumProp(
        "What happens to the data volume claims when the resource is deleted: Retain keeps them (and the data), Delete removes them. Maps to the StatefulSet's persistentVolumeClaimRetentionPolicy. Default: Retain.",
        RECLAIM_POLICIES,
        { default: "Retain" },
      ),
    },
    {
      default: {},
      rules: [
        {
          rule: "has(self.storageClassName) == has(oldSelf.storageClassName) && (!has(self.storageClassName) || self.storageClassName == oldSelf.storageClassName)",
          message: "storage.storageClassName is immutable: keep the previous value (create a new resource to move the data to another StorageClass)",
        },
        {
          rule: "!has(oldSelf.dataVolumeSize) || (has(self.dataVolumeSize) && self.dataVolumeSize == oldSelf.dataVolumeSize)",
          message: "storage.dataVolumeSize is immutable: keep the previous value (expand the PersistentVolumeClaims directly if the StorageClass allows it)",
        },
        {
          rule: "!has(oldSelf.accessModes) || (has(self.accessModes) && self.accessModes.all(m, m in oldSelf.accessModes) && oldSelf.accessModes.all(m, m in self.accessModes))",
          message: "storage.accessModes is immutable: keep the previous access modes",
        },
      ],
    },
  );
}

export function quantityMapProp(description: string): JsonSchemaProps {
  return mapProp(description, quantityProp("A Kubernetes quantity, e.g. 500m or 4Gi."), { maxProperties: 16 });
}

export function resourcesProp(description: string, options: { default?: unknown } = {}): JsonSchemaProps {
  return objectProp(
    description,
    {
      limits: quantityMapProp("Maximum amount of each resource (cpu, memory, ...) the container may use, as Kubernetes quantities."),
      requests: quantityMapProp("Amount of each resource (cpu, memory, ...) the scheduler reserves for the container, as Kubernetes quantities."),
    },
    options,
  );
}

export function mssqlConfProp(): JsonSchemaProps {
  return mapProp(
    "Extra mssql.conf settings as `section.setting: value` (e.g. sqlagent.enabled: \"true\"), rendered into the mssql.conf ConfigMap in a fixed order. hadr.hadrenabled is always 1 for availability groups.",
    stringProp("Value of the setting.", { maxLength: 1024 }),
    { maxProperties: 64 },
  );
}

export function nodeSelectorProp(): JsonSchemaProps {
  return mapProp(
    "Node labels a SQL Server pod's node must have (pod nodeSelector).",
    stringProp("Required label value.", { maxLength: DNS_LABEL_MAX_LENGTH }),
    { maxProperties: 32 },
  );
}

export function tolerationsProp(): JsonSchemaProps {
  return arrayProp(
    "Taints the SQL Server pods tolerate (pod tolerations).",
    objectProp("A pod toleration.", {
      key: stringProp("Taint key to tolerate; empty with operator Exists tolerates every taint.", { maxLength: 316 }),
      operator: enumProp("Exists matches any value; Equal matches `value`. Kubernetes default: Equal.", TOLERATION_OPERATORS),
      value: stringProp("Taint value to match when operator is Equal.", { maxLength: DNS_LABEL_MAX_LENGTH }),
      effect: enumProp("Taint effect to tolerate; empty tolerates every effect.", TOLERATION_EFFECTS),
      tolerationSeconds: integerProp(
        "For effect NoExecute: seconds the pod stays bound after the taint appears; unset means forever.",
        { format: "int64" },
      ),
    }),
    { maxItems: 32 },
  );
}

export function clusterDomainProp(): JsonSchemaProps {
  return stringProp(`DNS domain of the cluster, used in the pods' fully qualified names (endpoint URLs). Default: ${DEFAULT_CLUSTER_DOMAIN}.`, {
    maxLength: DNS_SUBDOMAIN_MAX_LENGTH,
    default: DEFAULT_CLUSTER_DOMAIN,
    rules: [{ rule: `self.matches('${DNS_SUBDOMAIN_PATTERN.replaceAll("\\", "\\\\")}')`, message: "clusterDomain must be a DNS domain of lowercase letters, digits, '-' and '.', e.g. cluster.local" }],
  });
}

export function terminationGracePeriodProp(defaultSeconds: number): JsonSchemaProps {
  return integerProp(
    `Seconds Kubernetes waits for a SQL Server pod to stop before killing it; the agent uses it to hand over the primary role and shut SQL Server down cleanly. Default: ${defaultSeconds}.`,
    {
      format: "int64",
      default: defaultSeconds,
      rules: [{ rule: "self >= 1", message: "terminationGracePeriodSeconds must be at least 1: give SQL Server time to shut down cleanly" }],
    },
  );
}

export function agentProp(): JsonSchemaProps {
  return objectProp(
    "The sqlag agent sidecar that runs next to SQL Server in every pod (health checks, lease, failover).",
    {
      image: imageProp("Container image of the sqlag agent.", DEFAULT_AGENT_IMAGE),
      resources: resourcesProp(
        "Compute resources of the agent container. Default: requests cpu 50m, memory 96Mi; limits memory 192Mi.",
        { default: { requests: { cpu: "50m", memory: "96Mi" }, limits: { memory: "192Mi" } } },
      ),
      logLevel: enumProp("Log level of the agent. Default: info.", AGENT_LOG_LEVELS, { default: "info" }),
    },
    { default: {} },
  );
}

/** metav1.Condition, as the status of both kinds carries it (listType map keyed by type). */
export function conditionsProp(description: string): JsonSchemaProps {
  return arrayProp(
    description,
    objectProp(
      "One aspect of the resource's state, in the Kubernetes condition convention.",
      {
        type: stringProp("Condition type in CamelCase, e.g. Reconciled or Available.", { maxLength: 316, minLength: 1 }),
        status: enumProp("True, False or Unknown.", CONDITION_STATUSES),
        reason: stringProp("Machine-readable reason for the last transition, in CamelCase.", { maxLength: 1024, minLength: 1 }),
        message: stringProp("Human-readable explanation, a full sentence that says what to do if action is needed.", { maxLength: 32768 }),
        lastTransitionTime: stringProp("When the status last changed (RFC 3339).", { format: "date-time", maxLength: 64 }),
        observedGeneration: integerProp("metadata.generation the condition was computed from.", { format: "int64", minimum: 0 }),
      },
      { required: ["type", "status", "reason", "message", "lastTransitionTime"] },
    ),
    { maxItems: 16, listType: "map", listMapKeys: ["type"] },
  );
}

export function observedGenerationProp(): JsonSchemaProps {
  return integerProp("metadata.generation the controller last rendered; equal to metadata.generation when the objects are up to date.", {
    format: "int64",
    minimum: 0,
  });
}
