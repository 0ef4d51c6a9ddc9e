/**
 * Shaped like client-node's ApiException (numeric `code`, Status `body`), so adapters under test classify it
 * exactly as they would a real API server answer.
 */
export class FakeApiError extends Error {
  override readonly name = "ApiException";
  constructor(
    readonly code: number,
    reason: string,
    readonly body: { kind: "Status"; code: number; reason: string; message: string } = { kind: "Status", code, reason, message: reason },
  ) {
    super(`HTTP-Code: ${code} Message: ${reason}`);
  }

  static notFound(): FakeApiError {
    return new FakeApiError(404, "NotFound");
  }
  static conflict(): FakeApiError {
    return new FakeApiError(409, "Conflict");
  }
  static alreadyExists(): FakeApiError {
    return new FakeApiError(409, "AlreadyExists");
  }
  static invalid(message: string): FakeApiError {
    return new FakeApiError(400, "BadRequest", { kind: "Status", code: 400, reason: "BadRequest", message });
  }
  static serverError(): FakeApiError {
    return new FakeApiError(500, "InternalError");
  }
}

/** What fetch() throws when the API server refuses the connection. */
export function connectionRefusedError(): Error {
  return new TypeError("fetch failed", { cause: Object.assign(new Error("connect ECONNREFUSED 127.0.0.1:6443"), { code: "ECONNREFUSED" }) });
}
