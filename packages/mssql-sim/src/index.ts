/** Public surface of the SQL Server AG simulator (ARCHITECTURE §6.1). */
export { SimCluster, overlappingWriters, UnknownInstanceError, type SimClusterOptions } from "./cluster.js";
export { SqlInstance, type ProcessState, type SqlInstanceOptions, type TdsServerFactory, type TdsServerHandle } from "./instance.js";
export { SimEngine, SimSession, redactSql } from "./engine/engine.js";
export { ServerModel, DEFAULT_QUIRKS, type Quirks, type DiagnosticState, type WritableInterval } from "./engine/server-model.js";
export { DEFAULT_TIMINGS, scaleTimings, type SimTimings } from "./engine/timings.js";
export { DirectClient, DirectSqlError, type DirectResult } from "./engine/direct-client.js";
export { createAg, freePort, provisionEndpoints, roleOf, waitFor, type AgReplicaSpec, type CreateAgOptions } from "./engine/provision.js";
export { SqlError } from "./engine/errors.js";
