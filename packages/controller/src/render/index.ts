/**
 * The controller's pure renderers: CR in, Kubernetes objects out (CONVENTIONS 5). Reconcile applies `applied`
 * with server-side apply (field manager sqlag-controller) and creates `createIfMissing` once.
 */
export type { RenderContext, RenderedObjects } from "./types.js";
export { renderAvailabilityGroup, resolvedRwListener } from "./availability-group.js";
export { renderInstance } from "./instance.js";
export { validateAvailabilityGroup, validateInstance, MAX_CR_NAME_LENGTH } from "./validate.js";
export { generateSqlPassword } from "./random-secret.js";
export { renderMssqlConf, mssqlConfHash } from "./mssql-conf.js";
export { MissingOwnerUidError } from "./metadata.js";
