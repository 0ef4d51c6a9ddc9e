/**
 * Per-spec namespaces and polling for the e2e tier. Each spec works in its own namespace so specs cannot see
 * each other's objects; deleting the namespace at the end lets the namespace controller clean up.
 */
import { randomBytes } from "node:crypto";
import { CoreV1Api, type KubeConfig } from "@kubernetes/client-node";

export const e2eNamespaceLabel = "e2e.sqlag.io/spec";

export async function createTestNamespace(kc: KubeConfig, prefix: string): Promise<string> {
  const name = `${prefix}-${randomBytes(3).toString("hex")}`;
  await kc.makeApiClient(CoreV1Api).createNamespace({
    body: { metadata: { name, labels: { [e2eNamespaceLabel]: prefix } } },
  });
  return name;
}

/** Starts the deletion and returns; the namespace controller finishes it in the background. */
export async function deleteTestNamespace(kc: KubeConfig, name: string): Promise<void> {
  try {
    await kc.makeApiClient(CoreV1Api).deleteNamespace({ name });
  } catch (error) {
    if (apiStatus(error) !== 404) throw error;
  }
}

/** HTTP status of a client-node ApiException, or undefined for anything else. */
export function apiStatus(error: unknown): number | undefined {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === "number" ? code : undefined;
}

export class EventuallyTimeoutError extends Error {
  constructor(what: string, timeoutMs: number, options?: { cause?: unknown }) {
    super(`timed out after ${timeoutMs} ms: ${what}`, options);
    this.name = "EventuallyTimeoutError";
  }
}

/**
 * Polls until `probe` returns a value other than undefined, and returns it. The timeout only bounds a hang: it is
 * generous on purpose, because a loaded 2-core machine must not turn a correct system into a failure.
 */
export async function eventually<T>(
  what: string,
  probe: () => Promise<T | undefined>,
  { timeoutMs = 90_000, intervalMs = 250 }: { timeoutMs?: number; intervalMs?: number } = {},
): Promise<T> {
  const deadlineMs = performance.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    try {
      const value = await probe();
      if (value !== undefined) return value;
    } catch (error) {
      lastError = error;
    }
    if (performance.now() > deadlineMs) throw new EventuallyTimeoutError(what, timeoutMs, { cause: lastError });
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}
