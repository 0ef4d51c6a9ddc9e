import { expect } from "chai";
import { FakeApiError, connectionRefusedError } from "@sqlag/testkit";
import { classifyKubeError, describeKubeError, KubeApiError, KubeUnavailableError, LeaseConflictError } from "./errors.js";

describe("classifyKubeError", () => {
  const cases: { name: string; error: unknown; options?: { conflictIsLease?: boolean }; expected: new (...args: never[]) => Error; status?: number; reason?: string; retryable: boolean }[] = [
    { name: "404 NotFound", error: FakeApiError.notFound(), expected: KubeApiError, status: 404, reason: "NotFound", retryable: false },
    { name: "403 Forbidden is not retryable", error: new FakeApiError(403, "Forbidden"), expected: KubeApiError, status: 403, reason: "Forbidden", retryable: false },
    { name: "500 is retryable", error: FakeApiError.serverError(), expected: KubeApiError, status: 500, reason: "InternalError", retryable: true },
    { name: "429 is retryable", error: new FakeApiError(429, "TooManyRequests"), expected: KubeApiError, status: 429, reason: "TooManyRequests", retryable: true },
    { name: "409 on a generic write stays a KubeApiError", error: FakeApiError.conflict(), expected: KubeApiError, status: 409, reason: "Conflict", retryable: false },
    { name: "409 on a Lease write is a LeaseConflictError", error: FakeApiError.conflict(), options: { conflictIsLease: true }, expected: LeaseConflictError, retryable: true },
    { name: "a string body is parsed for the reason", error: Object.assign(new Error("x"), { code: 422, body: '{"kind":"Status","reason":"Invalid"}' }), expected: KubeApiError, status: 422, reason: "Invalid", retryable: false },
    { name: "connection refused", error: connectionRefusedError(), expected: KubeUnavailableError, retryable: true },
    { name: "timeout signal", error: new DOMException("The operation was aborted due to timeout", "TimeoutError"), expected: KubeUnavailableError, retryable: true },
    { name: "abort", error: new DOMException("aborted", "AbortError"), expected: KubeUnavailableError, retryable: true },
  ];
  for (const c of cases) {
    it(c.name, () => {
      const err = classifyKubeError(c.error, c.options);
      expect(err).to.be.instanceOf(c.expected);
      expect(err.retryable).to.equal(c.retryable);
      expect(err.cause).to.equal(c.error);
      if (err instanceof KubeApiError) expect({ status: err.status, reason: err.reason }).to.deep.equal({ status: c.status, reason: c.reason });
    });
  }

  it("never copies the response body into the message", () => {
    const secretBody = { kind: "Status", code: 422, reason: "Invalid", message: "data.password: s3cr3t" } as const;
    const err = classifyKubeError(new FakeApiError(422, "Invalid", secretBody));
    expect(err.message).to.not.contain("s3cr3t");
    expect(JSON.stringify(describeKubeError(err))).to.not.contain("s3cr3t");
  });

  it("passes already classified errors through", () => {
    const err = new KubeApiError(404, "NotFound");
    expect(classifyKubeError(err)).to.equal(err);
  });
});
