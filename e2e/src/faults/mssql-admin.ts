/**
 * Client for one mssql-sim process's loopback admin API (the `--admin-port` the fake kubelet reserved for the
 * `mssql` container). Only this file knows the HTTP shapes, so faults and the invariant checker depend on the
 * `MssqlAdmin` port, not on paths.
 */

/** One span during which an instance accepted writes (ground truth, simulator clock = wall clock ms). */
export interface WritableInterval {
  readonly instance: string;
  readonly database?: string;
  readonly fromMs: number;
  /** undefined while still writable. */
  readonly toMs?: number;
}

export interface MssqlAdmin {
  /** The instance (= pod) name the simulator serves. */
  readonly instance: string;
  /** Silence the SQL endpoint link between this instance and `peer` (by instance/server name), both ways. */
  partition(peer: string): Promise<void>;
  heal(peer: string): Promise<void>;
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

interface TruthIntervalWire {
  instance?: string;
  server?: string;
  database?: string;
  fromMs?: number;
  toMs?: number | null;
  from?: string | number;
  to?: string | number | null;
}

function toMs(value: string | number | null | undefined): number | undefined {
  if (value == null) return undefined;
  return typeof value === "number" ? value : Date.parse(value);
}

export class HttpMssqlAdmin implements MssqlAdmin {
  constructor(
    readonly instance: string,
    private readonly adminPort: number,
    private readonly host = "127.0.0.1",
    private readonly timeoutMs = 5_000,
  ) {}

  private async call(method: "GET" | "POST", path: string, body?: unknown): Promise<unknown> {
    const url = `http://${this.host}:${this.adminPort}${path}`;
    let response: Response;
    try {
      response = await fetch(url, {
        method,
        headers: body != null ? { "content-type": "application/json" } : undefined,
        body: body != null ? JSON.stringify(body) : undefined,
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
    await this.call("POST", "/partition", { instance: this.instance, peer });
  }

  async heal(peer: string): Promise<void> {
    await this.call("POST", "/heal", { instance: this.instance, peer });
  }

  async writableIntervals(): Promise<WritableInterval[]> {
    const raw = (await this.call("GET", "/truth/writable-intervals")) as TruthIntervalWire[] | { intervals?: TruthIntervalWire[] };
    const list = Array.isArray(raw) ? raw : (raw.intervals ?? []);
    return list.map((wire) => ({
      instance: wire.instance ?? wire.server ?? this.instance,
      database: wire.database,
      fromMs: wire.fromMs ?? toMs(wire.from) ?? 0,
      toMs: wire.toMs ?? toMs(wire.to),
    }));
  }

  async committedKeys(database: string): Promise<string[]> {
    const raw = (await this.call("GET", `/truth/committed-keys?db=${encodeURIComponent(database)}`)) as string[] | { keys?: string[] };
    return Array.isArray(raw) ? raw : (raw.keys ?? []);
  }
}
