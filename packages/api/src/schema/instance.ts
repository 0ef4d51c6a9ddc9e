/** OpenAPI schema of SQLServerInstance: a single standalone SQL Server for development and test. */
import { INSTANCE_PHASES, SERVICE_TYPES } from "../types.js";
import { SQL_PORT } from "../defaults.js";
import type { JsonSchemaProps } from "./openapi.js";
import { arrayProp, booleanProp, enumProp, integerProp, objectProp, stringProp } from "./openapi.js";
import {
  acceptEulaProp,
  agentProp,
  clusterDomainProp,
  conditionsProp,
  DNS_LABEL_MAX_LENGTH,
  DNS_SUBDOMAIN_MAX_LENGTH,
  editionProp,
  IMAGE_MAX_LENGTH,
  mssqlConfProp,
  nodeSelectorProp,
  observedGenerationProp,
  PORT_RANGE_RULE,
  resourcesProp,
  secretKeyRefProp,
  sqlImageProp,
  storageProp,
  terminationGracePeriodProp,
  tolerationsProp,
} from "./common.js";

export const DEFAULT_INSTANCE_TERMINATION_GRACE_PERIOD_SECONDS = 60;
export const MAX_ADDITIONAL_ENV_VARS = 64;

/** Environment variable names as Kubernetes accepts them for containers (C identifier-like, plus '.' and '-'). */
const ENV_VAR_NAME_PATTERN = "^[-._a-zA-Z][-._a-zA-Z0-9]*$";

function keySelector(kind: "Secret" | "ConfigMap"): JsonSchemaProps {
  return objectProp(
    `Key of a ${kind} in the instance's namespace.`,
    {
      name: stringProp(`Name of the ${kind}.`, { maxLength: DNS_SUBDOMAIN_MAX_LENGTH }),
      key: stringProp(`Key inside the ${kind}.`, { maxLength: DNS_SUBDOMAIN_MAX_LENGTH }),
      optional: booleanProp(`Whether the pod may start when the ${kind} or key is missing.`),
    },
    { required: ["key"] },
  );
}

function envVarSchema(): JsonSchemaProps {
  return objectProp(
    "An environment variable of the SQL Server container (Kubernetes EnvVar).",
    {
      name: stringProp("Variable name.", {
        minLength: 1,
        maxLength: 256,
        rules: [{ rule: `self.matches('${ENV_VAR_NAME_PATTERN}')`, message: "additionalEnvVars name must consist of letters, digits, '_', '-' or '.', and not start with a digit" }],
      }),
      value: stringProp("Literal value.", { maxLength: 32768 }),
      valueFrom: objectProp("Source of the value when it is not literal; set exactly one source.", {
        secretKeyRef: keySelector("Secret"),
        configMapKeyRef: keySelector("ConfigMap"),
        fieldRef: objectProp(
          "A field of the pod (downward API), e.g. metadata.name.",
          {
            apiVersion: stringProp("API version of fieldPath. Default: v1.", { maxLength: 64 }),
            fieldPath: stringProp("Path of the field.", { maxLength: 256 }),
          },
          { required: ["fieldPath"] },
        ),
        resourceFieldRef: objectProp(
          "A resource limit or request of a container.",
          {
            containerName: stringProp("Container name; default the SQL Server container.", { maxLength: DNS_LABEL_MAX_LENGTH }),
            resource: stringProp("Resource, e.g. limits.memory.", { maxLength: 64 }),
            divisor: stringProp("Divisor quantity, e.g. 1Mi. Default: 1.", { maxLength: 64 }),
          },
          { required: ["resource"] },
        ),
      }),
    },
    {
      required: ["name"],
      rules: [{ rule: "!(has(self.value) && has(self.valueFrom))", message: "an environment variable takes value or valueFrom, not both: remove one" }],
    },
  );
}

export function instanceSpecSchema(): JsonSchemaProps {
  return objectProp(
    "Desired state of a standalone SQL Server instance: a one-pod StatefulSet with a data volume, a headless and a client Service, and the sqlag agent sidecar for health and metrics.",
    {
      image: sqlImageProp(),
      edition: editionProp(),
      acceptEula: acceptEulaProp(),
      saPasswordSecretRef: secretKeyRefProp("saPasswordSecretRef"),
      storage: storageProp(),
      mssqlConf: mssqlConfProp(),
      resources: resourcesProp("Compute resources of the SQL Server container (requests and limits, e.g. cpu: 500m, memory: 2Gi)."),
      port: integerProp(`TCP port SQL Server listens on (MSSQL_TCP_PORT) and the Services expose. Default: ${SQL_PORT}.`, {
        default: SQL_PORT,
        rules: [{ rule: PORT_RANGE_RULE, message: "port must be between 1 and 65535" }],
      }),
      serviceType: enumProp("Type of the client Service. Default: ClusterIP.", SERVICE_TYPES, { default: "ClusterIP" }),
      timezone: stringProp("Time zone of SQL Server (TZ), e.g. Europe/Berlin. Default: the image's (UTC).", { maxLength: 64 }),
      additionalEnvVars: arrayProp(
        "Extra environment variables of the SQL Server container, appended after the ones sqlag sets.",
        envVarSchema(),
        { maxItems: MAX_ADDITIONAL_ENV_VARS },
      ),
      nodeSelector: nodeSelectorProp(),
      tolerations: tolerationsProp(),
      clusterDomain: clusterDomainProp(),
      terminationGracePeriodSeconds: terminationGracePeriodProp(DEFAULT_INSTANCE_TERMINATION_GRACE_PERIOD_SECONDS),
      agent: agentProp(),
    },
    { required: ["saPasswordSecretRef"] },
  );
}

export function instanceStatusSchema(): JsonSchemaProps {
  return objectProp("Observed state, written by the controller.", {
    observedGeneration: observedGenerationProp(),
    phase: enumProp("Pending, Running, Upgrading or Failed.", INSTANCE_PHASES),
    readyReplicas: integerProp("Number of ready SQL Server pods (0 or 1).", { minimum: 0 }),
    currentImage: stringProp("SQL Server image of the running StatefulSet template.", { maxLength: IMAGE_MAX_LENGTH }),
    serviceName: stringProp("Name of the client Service.", { maxLength: DNS_LABEL_MAX_LENGTH }),
    conditions: conditionsProp("Reconciled and Available."),
  });
}
