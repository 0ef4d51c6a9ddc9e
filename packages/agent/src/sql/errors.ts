/**
 * SQL errors classified once, at the adapter boundary (CONVENTIONS 9): the rest of the agent decides by kind
 * and SQL error number, never by message text.
 */

/** SQL Server could not be reached or did not answer in time: the process may be down, frozen or restarting. */
export class SqlUnavailableError extends Error {
  override readonly name = "SqlUnavailableError";
  constructor(
    message: string,
    /** refused = TCP connection refused (process down); timeout = no answer in time (frozen or overloaded). */
    readonly reason: "refused" | "timeout" | "socket" | "login",
    options?: ErrorOptions,
  ) {
    super(message, options);
  }
}

/** SQL Server answered with an error; `number` is the documented error number (e.g. 41142). */
export class SqlQueryError extends Error {
  override readonly name = "SqlQueryError";
  constructor(
    message: string,
    readonly number: number,
    readonly severity: number,
    readonly state: number,
    /** Every error number of the response, when SQL Server sent several ERROR tokens. */
    readonly allNumbers: readonly number[],
    options?: ErrorOptions,
  ) {
    super(message, options);
  }

  has(errorNumber: number): boolean {
    return this.allNumbers.includes(errorNumber);
  }
}

/** Documented error numbers the agent reacts to (see reference/tds-and-sqlserver.md B3, pacemaker-agent.md §5.2). */
export const sqlErrors = {
  loginFailed: 18456,
  cannotOpenDatabase: 4060,
  /** FAILOVER refused: a database is not synchronized or not joined — clean refusal. */
  notSynchronized: 41142,
  /** SET (ROLE = SECONDARY) failed because of a previous error (the field's 41104 latch). */
  previousError: 41104,
  alreadyPrimary: 41122,
  notPrimary: 41140,
  /** AG was created without WRITE_LEASE_VALIDITY: tolerated as Pacemaker does. */
  leaseNotEnabled: 47116,
  leaseValueOutOfRangeLow: 47117,
  leaseValueOutOfRangeHigh: 47118,
  /** Cannot shorten a still-valid write lease: tolerated. */
  leaseStillValid: 47119,
  externalClusterContextMissing: 47104,
  masterKeyExists: 15578,
  certificateExists: 15232,
  endpointExists: 7862,
  principalExists: 15025,
  agAlreadyExists: 41114,
  databaseAlreadyExists: 1801,
  primaryConnectionNotActive: 35250,
} as const;

interface TediousLikeError {
  name?: unknown;
  message?: unknown;
  code?: unknown;
  number?: unknown;
  class?: unknown;
  state?: unknown;
  errors?: unknown;
  cause?: unknown;
}

function asRecord(e: unknown): TediousLikeError {
  return typeof e === "object" && e !== null ? (e as TediousLikeError) : {};
}

function messageOf(e: unknown): string {
  const m = asRecord(e).message;
  return typeof m === "string" ? m : String(e);
}

/** Walks causes looking for an errno-style code such as ECONNREFUSED. */
function findSystemCode(e: unknown, depth = 0): string | undefined {
  if (depth > 5) return undefined;
  const r = asRecord(e);
  if (typeof r.code === "string" && /^E[A-Z]+$/.test(r.code) && !["ESOCKET", "ETIMEOUT", "ELOGIN", "EREQUEST", "ECANCEL", "EINVALIDSTATE", "ECLOSE"].includes(r.code)) {
    return r.code;
  }
  if (Array.isArray(r.errors)) {
    for (const inner of r.errors) {
      const found = findSystemCode(inner, depth + 1);
      if (found !== undefined) return found;
    }
  }
  return r.cause === undefined ? undefined : findSystemCode(r.cause, depth + 1);
}

/**
 * Maps anything tedious (or the socket under it) throws to SqlUnavailableError or SqlQueryError.
 * tedious reports several ERROR tokens of one response as an AggregateError whose `number` is undefined; the
 * individual RequestErrors are in `errors` (reference A8), so we unwrap and keep every number.
 */
export function classifySqlError(e: unknown): SqlUnavailableError | SqlQueryError | Error {
  if (e instanceof SqlUnavailableError || e instanceof SqlQueryError) return e;
  const r = asRecord(e);
  const inner = Array.isArray(r.errors) ? r.errors.map(asRecord) : [];
  const numbered = [r, ...inner].filter((x) => typeof x.number === "number");
  if (numbered.length > 0) {
    const first = numbered[0]!;
    const numbers = numbered.map((x) => x.number as number);
    const severity = typeof first.class === "number" ? first.class : 16;
    const state = typeof first.state === "number" ? first.state : 0;
    const message = numbered.map((x) => `Error ${String(x.number)}: ${messageOf(x)}`).join("; ");
    if (numbers.includes(sqlErrors.loginFailed)) {
      return new SqlUnavailableError(message, "login", { cause: e });
    }
    return new SqlQueryError(message, first.number as number, severity, state, numbers, { cause: e });
  }
  const systemCode = findSystemCode(e);
  if (systemCode === "ECONNREFUSED") return new SqlUnavailableError("SQL Server refused the connection", "refused", { cause: e });
  const code = typeof r.code === "string" ? r.code : undefined;
  if (code === "ETIMEOUT" || systemCode === "ETIMEDOUT") return new SqlUnavailableError(`SQL Server did not answer in time: ${messageOf(e)}`, "timeout", { cause: e });
  if (code === "ELOGIN") return new SqlUnavailableError(`SQL Server login failed: ${messageOf(e)}`, "login", { cause: e });
  if (code === "ESOCKET" || code === "ECLOSE" || systemCode !== undefined) {
    return new SqlUnavailableError(`SQL Server connection failed: ${messageOf(e)}`, "socket", { cause: e });
  }
  if (r.name === "AbortError" || r.name === "TimeoutError") {
    return new SqlUnavailableError(`SQL call aborted: ${messageOf(e)}`, "timeout", { cause: e });
  }
  return e instanceof Error ? e : new Error(String(e));
}

export function isSqlError(e: unknown, errorNumber: number): boolean {
  return e instanceof SqlQueryError && e.has(errorNumber);
}
