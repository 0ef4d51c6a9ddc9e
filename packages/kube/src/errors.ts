/**
 * The Kubernetes half of the error tree (CONVENTIONS 9): adapters turn every library error into one of these
 * classes at the boundary, and callers decide by class, never by parsing messages.
 *
 * Bodies of ApiException are NOT copied into messages: client-node's own message joins the body and the
 * response headers, which is long and may echo request content. Only the status code and the `reason` of the
 * Status object are kept.
 */

export abstract class KubeError extends Error {
  abstract readonly retryable: boolean;
}

/** The API server answered with a non-success status. */
export class KubeApiError extends KubeError {
  override readonly name = "KubeApiError";
  readonly retryable: boolean;
  constructor(
    readonly status: number,
    /** The `reason` of the API server's Status object (NotFound, Conflict, Forbidden, Invalid, …), or "". */
    readonly reason: string,
    options?: { cause?: unknown },
  ) {
    super(`Kubernetes API answered ${status}${reason === "" ? "" : ` ${reason}`}`, options);
    this.retryable = status === 429 || status >= 500;
  }
}

/**
 * Optimistic concurrency lost (409 on a write carrying a resourceVersion). Expected in leader election and
 * never logged as an error.
 */
export class LeaseConflictError extends KubeError {
  override readonly name = "LeaseConflictError";
  readonly retryable = true;
  constructor(options?: { cause?: unknown }) {
    super("Lease was changed by someone else since it was read", options);
  }
}

/** No answer: connection refused or reset, DNS failure, TLS failure, or the request timed out / was aborted. */
export class KubeUnavailableError extends KubeError {
  override readonly name = "KubeUnavailableError";
  readonly retryable = true;
  constructor(
    readonly detail: string,
    options?: { cause?: unknown },
  ) {
    super(`Kubernetes API unavailable: ${detail}`, options);
  }
}

interface StatusBodyLike {
  reason?: unknown;
}

function statusReason(body: unknown): string {
  if (typeof body === "string") {
    try {
      return statusReason(JSON.parse(body) as unknown);
    } catch {
      return "";
    }
  }
  if (typeof body === "object" && body !== null) {
    const reason = (body as StatusBodyLike).reason;
    if (typeof reason === "string") return reason;
  }
  return "";
}

function httpStatusOf(e: object): number | undefined {
  const code = (e as { code?: unknown }).code;
  return typeof code === "number" && code >= 100 && code <= 599 ? code : undefined;
}

const NETWORK_ERROR_CODES = new Set([
  "ECONNREFUSED",
  "ECONNRESET",
  "ETIMEDOUT",
  "EHOSTUNREACH",
  "ENETUNREACH",
  "ENOTFOUND",
  "EAI_AGAIN",
  "EPIPE",
  "UND_ERR_CONNECT_TIMEOUT",
  "UND_ERR_SOCKET",
  "UND_ERR_HEADERS_TIMEOUT",
  "UND_ERR_BODY_TIMEOUT",
]);

function networkCodeOf(e: unknown, depth = 0): string | undefined {
  if (depth > 4 || typeof e !== "object" || e === null) return undefined;
  const code = (e as { code?: unknown }).code;
  if (typeof code === "string" && (NETWORK_ERROR_CODES.has(code) || code.startsWith("ERR_TLS") || code.startsWith("CERT_"))) return code;
  const type = (e as { type?: unknown }).type;
  if (type === "system" && typeof code === "string") return code;
  return networkCodeOf((e as { cause?: unknown }).cause, depth + 1);
}

/**
 * Maps anything a client-node call can throw to the error tree. Already-classified errors pass through.
 * `conflictIsLease` turns 409 into LeaseConflictError (used only by the Lease client on replace).
 */
export function classifyKubeError(e: unknown, options: { conflictIsLease?: boolean } = {}): KubeError {
  if (e instanceof KubeError) return e;
  if (typeof e === "object" && e !== null) {
    const status = httpStatusOf(e);
    if (status !== undefined) {
      if (status === 409 && options.conflictIsLease === true) return new LeaseConflictError({ cause: e });
      return new KubeApiError(status, statusReason((e as { body?: unknown }).body), { cause: e });
    }
    const name = (e as { name?: unknown }).name;
    if (name === "AbortError" || name === "TimeoutError") return new KubeUnavailableError("request timed out or was aborted", { cause: e });
    const networkCode = networkCodeOf(e);
    if (networkCode !== undefined) return new KubeUnavailableError(networkCode, { cause: e });
    // fetch() reports connection failures as TypeError("fetch failed") with the system error as cause.
    if (e instanceof TypeError && /fetch failed/i.test(e.message)) return new KubeUnavailableError("fetch failed", { cause: e });
  }
  // Not an API answer, so the message carries no response body; keep it short for the logs.
  const detail = e instanceof Error ? (e.message === "" ? e.name : e.message.slice(0, 200)) : "unknown error";
  return new KubeUnavailableError(detail, { cause: e });
}

export function isNotFound(e: unknown): boolean {
  return e instanceof KubeApiError && e.status === 404;
}

export function isAlreadyExists(e: unknown): boolean {
  return e instanceof KubeApiError && e.status === 409;
}

/** A log-safe summary of an error (CONVENTIONS 12: `err` as {name, status, reason, message}, never a body). */
export function describeKubeError(e: unknown): { name: string; status?: number; reason?: string; message: string } {
  const err = e instanceof KubeError ? e : classifyKubeError(e);
  if (err instanceof KubeApiError) return { name: err.name, status: err.status, reason: err.reason, message: err.message };
  return { name: err.name, message: err.message };
}
