/**
 * Typed client for the admin HTTP API (admin/http.ts), used by the CLI and by tests/e2e in other processes.
 */
import type { WritableInterval } from "../engine/server-model.js";

export class AdminRequestError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
    this.name = "AdminRequestError";
  }
}

export type InstanceAction = "start" | "stop" | "crash" | "restart" | "freeze" | "thaw";

export class AdminClient {
  private readonly base: string;

  /** `address` is `host:port` or a full `http://host:port` URL. */
  constructor(address: string) {
    this.base = address.startsWith("http") ? address.replace(/\/$/, "") : `http://${address}`;
  }

  async request<T>(method: "GET" | "POST", path: string, body?: unknown): Promise<T> {
    const init: RequestInit = { method, headers: { "content-type": "application/json" } };
    if (body !== undefined) init.body = JSON.stringify(body);
    const response = await fetch(`${this.base}${path}`, init);
    const payload = (await response.json()) as T & { error?: string };
    if (!response.ok) throw new AdminRequestError(response.status, payload.error ?? `HTTP ${response.status}`);
    return payload;
  }

  instances(): Promise<{ instances: Record<string, unknown>[] }> {
    return this.request("GET", "/v1/instances");
  }

  instance(name: string): Promise<Record<string, unknown>> {
    return this.request("GET", `/v1/instances/${encodeURIComponent(name)}`);
  }

  act(name: string, action: InstanceAction): Promise<Record<string, unknown>> {
    return this.request("POST", `/v1/instances/${encodeURIComponent(name)}/${action}`, {});
  }

  /** One side of a partition: this process's instance `name` drops traffic with `peer`. */
  partition(name: string, peer: string): Promise<Record<string, unknown>> {
    return this.request("POST", `/v1/instances/${encodeURIComponent(name)}/partition`, { peer });
  }

  heal(name: string, peer: string): Promise<Record<string, unknown>> {
    return this.request("POST", `/v1/instances/${encodeURIComponent(name)}/heal`, { peer });
  }

  setDiagnostics(name: string, component: string, state: string): Promise<Record<string, unknown>> {
    return this.request("POST", `/v1/instances/${encodeURIComponent(name)}/diagnostics`, { component, state });
  }

  setTimings(timings: Record<string, number>): Promise<{ timings: Record<string, number> }> {
    return this.request("POST", "/v1/timings", timings);
  }

  /** Add or replace host-name → IP entries used to resolve ENDPOINT_URLs. */
  setHosts(hosts: Record<string, string>): Promise<{ hosts: Record<string, string> }> {
    return this.request("POST", "/v1/hosts", hosts);
  }

  setQuirks(quirks: { latch41104?: boolean; bilateralTransportCache?: boolean }): Promise<{ quirks: Record<string, boolean> }> {
    return this.request("POST", "/v1/quirks", quirks);
  }

  writableNow(): Promise<{ nowMs: number; writable: { instance: string; ag: string }[] }> {
    return this.request("GET", "/v1/truth/writable");
  }

  writableIntervals(): Promise<{ nowMs: number; intervals: WritableInterval[] }> {
    return this.request("GET", "/v1/truth/intervals");
  }

  committedKeys(name: string, db: string): Promise<{ keys: string[] }> {
    return this.request("GET", `/v1/instances/${encodeURIComponent(name)}/keys?db=${encodeURIComponent(db)}`);
  }

  statements(name: string): Promise<{ statements: { atMs: number; session: number; text: string; error?: number }[] }> {
    return this.request("GET", `/v1/instances/${encodeURIComponent(name)}/statements`);
  }
}
