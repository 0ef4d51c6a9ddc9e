/**
 * Test support for the TDS layer: a small scriptable Engine and promise wrappers around tedious. Used by the
 * `*.sim.test.ts` files here and by the benchmark; not part of the simulator's behaviour.
 */
import { Connection, Request } from "tedious";
import type { ConnectionConfiguration } from "tedious";
import type { Engine, EngineSession, LoginRequest, LoginResult, ResultItem, RpcParameter } from "./engine-port.js";
import { startTdsServer } from "./server.js";
import type { TdsServer, TdsServerOptions } from "./server.js";

export const TEST_USER = "sa";
export const TEST_PASSWORD = "Sim-Passw0rd!é";

type ItemSource = AsyncIterable<ResultItem> | Iterable<ResultItem>;
export type BatchHandler = (sql: string, signal: AbortSignal, session: EngineSession) => ItemSource;
export type RpcHandler = (procName: string, parameters: RpcParameter[], signal: AbortSignal, session: EngineSession) => ItemSource;

/** An engine with one login, two databases, and per-test handlers; it records what it was asked. */
export class StubEngine implements Engine {
  readonly serverName = "SIMSQL-0";
  readonly version = { major: 16, minor: 0, build: 4135 };
  readonly databases = new Set(["master", "agdb"]);
  readonly logins: LoginRequest[] = [];
  readonly batches: string[] = [];
  readonly rpcs: Array<{ procName: string; parameters: RpcParameter[] }> = [];
  readonly endedSessions: number[] = [];
  readonly abortedRequests: string[] = [];
  private nextSessionId = 51;

  /** Default: the initial SET batch and anything else answer a single DONE. */
  onBatch: BatchHandler = () => [{ kind: "done" }];
  onRpc: RpcHandler = () => [{ kind: "done" }];

  login(req: LoginRequest): LoginResult {
    this.logins.push(req);
    if (req.userName !== TEST_USER || req.password !== TEST_PASSWORD) {
      return { ok: false, number: 18456, state: 1, severity: 14, message: `Login failed for user '${req.userName}'.` };
    }
    const database = req.database === "" ? "master" : req.database;
    if (!this.databases.has(database)) {
      return {
        ok: false,
        number: 4060,
        state: 1,
        severity: 11,
        message: `Cannot open database "${database}" requested by the login. The login failed.`,
      };
    }
    return { ok: true, session: { id: this.nextSessionId++ }, database };
  }

  executeBatch(session: EngineSession, sql: string, signal: AbortSignal): AsyncIterable<ResultItem> {
    this.batches.push(sql);
    signal.addEventListener("abort", () => this.abortedRequests.push(sql), { once: true });
    return toAsync(this.onBatch(sql, signal, session));
  }

  executeRpc(session: EngineSession, procName: string, parameters: RpcParameter[], signal: AbortSignal): AsyncIterable<ResultItem> {
    this.rpcs.push({ procName, parameters });
    signal.addEventListener("abort", () => this.abortedRequests.push(procName), { once: true });
    return toAsync(this.onRpc(procName, parameters, signal, session));
  }

  endSession(session: EngineSession): void {
    this.endedSessions.push(session.id);
  }

  /** The batches other than tedious's initial SET batch. */
  get userBatches(): string[] {
    return this.batches.filter((sql) => !sql.startsWith("set "));
  }
}

async function* toAsync(source: ItemSource): AsyncIterable<ResultItem> {
  yield* source;
}

/** Resolves after `ms`, or rejects as soon as `signal` aborts (for streaming handlers). */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted === true) {
      reject(signal.reason as Error);
      return;
    }
    const timer = setTimeout(resolve, ms);
    signal?.addEventListener(
      "abort",
      () => {
        clearTimeout(timer);
        reject(signal.reason as Error);
      },
      { once: true },
    );
  });
}

export async function startStubServer(
  engine: StubEngine,
  extra: Partial<TdsServerOptions> = {},
): Promise<{ server: TdsServer; logLines: string[] }> {
  const logLines: string[] = [];
  const server = await startTdsServer({ host: "127.0.0.1", port: 0, engine, log: (line) => logLines.push(line), ...extra });
  return { server, logLines };
}

export interface ConnectOverrides {
  userName?: string;
  password?: string;
  database?: string;
  server?: string;
  options?: NonNullable<ConnectionConfiguration["options"]>;
}

export function connectionConfig(port: number, overrides: ConnectOverrides = {}): ConnectionConfiguration {
  return {
    server: overrides.server ?? "127.0.0.1",
    authentication: {
      type: "default",
      options: { userName: overrides.userName ?? TEST_USER, password: overrides.password ?? TEST_PASSWORD },
    },
    options: {
      port,
      encrypt: false,
      database: overrides.database ?? "agdb",
      connectTimeout: 10_000,
      ...overrides.options,
    },
  };
}

/** Connects and resolves with the open connection, or rejects with tedious's ConnectionError. */
export function connect(port: number, overrides: ConnectOverrides = {}): Promise<Connection> {
  return new Promise((resolve, reject) => {
    const connection = new Connection(connectionConfig(port, overrides));
    connection.on("error", () => {}); // late socket errors are asserted by the tests that expect them
    connection.connect((error) => {
      if (error !== undefined) {
        connection.close();
        reject(error);
      } else {
        resolve(connection);
      }
    });
  });
}

export function closeConnection(connection: Connection): Promise<void> {
  return new Promise((resolve) => {
    if (connection.closed) {
      resolve();
      return;
    }
    connection.once("end", () => resolve());
    connection.close();
  });
}

export interface Outcome {
  error: (Error & { code?: string; number?: number; errors?: unknown[] }) | undefined;
  rowCount: number | undefined;
  /** Row values in arrival order, one array per row. */
  rows: unknown[][];
  /** Events in arrival order: "columnMetadata", "row", "done", "doneInProc", "doneProc", "returnValue". */
  events: string[];
  doneProcReturnStatus: number[];
  request: Request;
}

/** Runs a request to completion; `configure` adds parameters or event listeners before it is sent. */
export function run(
  connection: Connection,
  send: (connection: Connection, request: Request) => void,
  sql: string,
  configure?: (request: Request) => void,
): Promise<Outcome> {
  return new Promise((resolve) => {
    const rows: unknown[][] = [];
    const events: string[] = [];
    const doneProcReturnStatus: number[] = [];
    const request: Request = new Request(sql, (error, rowCount) => {
      resolve({ error: error as Outcome["error"], rowCount, rows, events, doneProcReturnStatus, request });
    });
    request.on("columnMetadata", () => events.push("columnMetadata"));
    request.on("row", (columns: Array<{ value: unknown }>) => {
      events.push("row");
      rows.push(columns.map((column) => column.value));
    });
    request.on("done", () => events.push("done"));
    request.on("doneInProc", () => events.push("doneInProc"));
    request.on("doneProc", (_rowCount: unknown, _more: unknown, returnStatus: number) => {
      events.push("doneProc");
      doneProcReturnStatus.push(returnStatus);
    });
    configure?.(request);
    send(connection, request);
  });
}

export const batch = (connection: Connection, sql: string, configure?: (request: Request) => void): Promise<Outcome> =>
  run(connection, (c, r) => c.execSqlBatch(r), sql, configure);

export const execSql = (connection: Connection, sql: string, configure?: (request: Request) => void): Promise<Outcome> =>
  run(connection, (c, r) => c.execSql(r), sql, configure);

export const callProcedure = (connection: Connection, name: string, configure?: (request: Request) => void): Promise<Outcome> =>
  run(connection, (c, r) => c.callProcedure(r), name, configure);
