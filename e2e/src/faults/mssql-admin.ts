/**
 * Client for one mssql-sim process's loopback admin API (the `--admin-port` the fake kubelet reserved for the
 * `mssql` container; one instance per process, named after the pod). Only this file knows the HTTP shapes, so
 * faults and the invariant checker depend on the `MssqlAdmin` port, not on paths.
 */

/** One span during which an instance accepted writes (ground truth, simulator clock = wall clock ms). */
export interface WritableInterval {
  readonly instance: string;
  /** The AG whose primary replica was writable. */
  readonly database?: string;
  readonly fromMs: number;
  /** undefined while still writable. */
  readonly toMs?: number;
}

export type MssqlInstanceAction = "start" | "stop" | "crash" | "restart" | "freeze" | "thaw";

export interface MssqlAdmin {
  /** The instance (= pod) name the simulator serves. */
  readonly instance: string;
  /** Silence the SQL endpoint link between this instance and `peer` (by instance/server name), this side. */
  partition(peer: string): Promise<void>;
  heal(peer: string): Promise<void>;
  /** Simulator-level process faults (the process stays up; the instance stops/crashes/freezes inside it). */
  act(action: MssqlInstanceAction): Promise<void>;
  writableIntervals(): Promise<WritableInterval[]>;
  /** Keys present (committed/hardened) in `database`'s kv table on this instance. */
  committedKeys(database: string): Promise<string[]>;
}

export class MssqlAdminError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "MssqlAdminError";
  }
}

/** mssql-sim's `GET /v1/truth/intervals` rows. */
interface TruthIntervalWire {
  server: string;
  ag?: string;
  fromMs: number;
  toMs: number | null;
}

/** Speaks mssql-sim's admin HTTP API (packages/mssql-sim/src/admin/http.ts), v1 paths. */
export class HttpMssqlAdmin implements MssqlAdmin {
  constructor(
    readonly instance: string,
    private readonly adminPort: number,
    private readonly host = "127.0.0.1",
    private readonly timeoutMs = 5_000,
  ) {}

  private get instancePath(): string {
    return `/v1/instances/${encodeURIComponent(this.instance)}`;
  }

  private async call(method: "GET" | "POST", path: string, body?: unknown): Promise<unknown> {
    const url = `http://${this.host}:${this.adminPort}${path}`;
    let response: Response;
    try {
      response = await fetch(url, {
        method,
        headers: { "content-type": "application/json" },
        body: method === "POST" ? JSON.stringify(body ?? {}) : undefined,
        signal: AbortSignal.timeout(this.timeoutMs),
      });
    } catch (error) {
      throw new MssqlAdminError(`mssql-sim admin ${method} ${path} on ${this.instance} failed`, { cause: error });
    }
    const text = await response.text();
    if (!response.ok) throw new MssqlAdminError(`mssql-sim admin ${method} ${path} on ${this.instance}: HTTP ${response.status} ${text.slice(0, 200)}`);
    return text === "" ? undefined : (JSON.parse(text) as unknown);
  }

  async partition(peer: string): Promise<void> {
    await this.call("POST", `${this.instancePath}/partition`, { peer });
  }

  async heal(peer: string): Promise<void> {
    await this.call("POST", `${this.instancePath}/heal`, { peer });
  }

  async act(action: MssqlInstanceAction): Promise<void> {
    await this.call("POST", `${this.instancePath}/${action}`, {});
  }

  async writableIntervals(): Promise<WritableInterval[]> {
    const raw = (await this.call("GET", "/v1/truth/intervals")) as { intervals?: TruthIntervalWire[] };
    return (raw.intervals ?? []).map((wire) => ({
      instance: wire.server,
      ...(wire.ag != null ? { database: wire.ag } : {}),
      fromMs: wire.fromMs,
      ...(wire.toMs != null ? { toMs: wire.toMs } : {}),
    }));
  }

  async committedKeys(database: string): Promise<string[]> {
    const raw = (await this.call("GET", `${this.instancePath}/keys?db=${encodeURIComponent(database)}`)) as { keys?: string[] };
    return raw.keys ?? [];
  }
}
