/**
 * Thin adapter over tedious (CONVENTIONS: adapters are thin). One `SqlConnection` = one TDS session, one
 * request at a time (tedious rejects concurrent requests with EINVALIDSTATE), every call bounded by a timeout
 * and an AbortSignal. Errors leave here classified (errors.ts).
 */
import tedious from "tedious";
import type { ConnectionConfiguration } from "tedious";
import { classifySqlError, SqlUnavailableError } from "./errors.js";
import type { Row } from "./mappers.js";
import type { SqlParam, Statement } from "./statements.js";

const { Connection, Request, TYPES } = tedious;
type TediousConnection = InstanceType<typeof Connection>;

export interface SqlEndpointOptions {
  host: string;
  port: number;
  userName: string;
  password: string;
  database?: string;
  /** Production default: true. With `caPem`, the server certificate is verified against it. */
  encrypt: boolean;
  trustServerCertificate: boolean;
  caPem?: string;
  /** Name expected in the server certificate when verifying (defaults to host). */
  tlsServerName?: string;
  connectTimeoutMs: number;
  requestTimeoutMs: number;
  appName: string;
}

function tediousConfig(options: SqlEndpointOptions): ConnectionConfiguration {
  return {
    server: options.host,
    authentication: { type: "default", options: { userName: options.userName, password: options.password } },
    options: {
      port: options.port,
      database: options.database ?? "master",
      encrypt: options.encrypt,
      trustServerCertificate: options.trustServerCertificate,
      ...(options.caPem !== undefined ? { cryptoCredentialsDetails: { ca: options.caPem } } : {}),
      ...(options.tlsServerName !== undefined ? { serverName: options.tlsServerName } : {}),
      connectTimeout: options.connectTimeoutMs,
      requestTimeout: options.requestTimeoutMs,
      appName: options.appName,
      // The agent retries on its own cadence; tedious's transient-login retries would only hide a refused login.
      maxRetriesOnTransientErrors: 0,
    },
  };
}

function bindParams(request: InstanceType<typeof Request>, params: Readonly<Record<string, SqlParam>> | undefined): void {
  if (params === undefined) return;
  for (const [name, param] of Object.entries(params)) {
    const type = param.type === "nvarchar" ? TYPES.NVarChar : param.type === "int" ? TYPES.Int : TYPES.BigInt;
    request.addParameter(name, type, param.value);
  }
}

export class SqlConnection {
  private busy: Promise<unknown> = Promise.resolve();
  private closed = false;

  private constructor(
    private readonly connection: TediousConnection,
    private readonly defaultTimeoutMs: number,
  ) {
    connection.on("end", () => {
      this.closed = true;
    });
    connection.on("error", () => {
      this.closed = true;
    });
  }

  static open(options: SqlEndpointOptions, signal?: AbortSignal): Promise<SqlConnection> {
    return new Promise<SqlConnection>((resolve, reject) => {
      const connection = new Connection(tediousConfig(options));
      const onAbort = (): void => {
        connection.close();
        reject(new SqlUnavailableError("SQL connect aborted", "timeout", { cause: signal?.reason }));
      };
      if (signal?.aborted) {
        onAbort();
        return;
      }
      signal?.addEventListener("abort", onAbort, { once: true });
      connection.connect((err) => {
        signal?.removeEventListener("abort", onAbort);
        if (err) {
          connection.close();
          reject(classifySqlError(err));
          return;
        }
        resolve(new SqlConnection(connection, options.requestTimeoutMs));
      });
    });
  }

  get isOpen(): boolean {
    return !this.closed;
  }

  /** Runs a statement and collects its rows (all result sets concatenated). */
  query(statement: Statement, options: { signal?: AbortSignal; timeoutMs?: number } = {}): Promise<Row[]> {
    const rows: Row[] = [];
    return this.run(statement, options, (row) => rows.push(row), undefined).then(() => rows);
  }

  /** Runs a statement that returns no rows (DDL). */
  execute(statement: Statement, options: { signal?: AbortSignal; timeoutMs?: number } = {}): Promise<void> {
    return this.run(statement, options, undefined, undefined);
  }

  /**
   * Runs a streaming statement (sp_server_diagnostics repeat mode): `onRowset` receives each result set as it
   * completes. Resolves when the server ends the request or when `signal` cancels it (then without error).
   */
  stream(statement: Statement, onRowset: (rows: Row[]) => void, signal: AbortSignal): Promise<void> {
    let current: Row[] = [];
    return this.run(
      statement,
      { signal, timeoutMs: 0 },
      (row) => current.push(row),
      () => {
        const rowset = current;
        current = [];
        if (rowset.length > 0) onRowset(rowset);
      },
    ).catch((e: unknown) => {
      if (signal.aborted) return;
      throw e;
    });
  }

  close(): Promise<void> {
    if (this.closed) return Promise.resolve();
    return new Promise((resolve) => {
      this.connection.once("end", () => resolve());
      this.connection.close();
    });
  }

  private run(
    statement: Statement,
    options: { signal?: AbortSignal; timeoutMs?: number },
    onRow: ((row: Row) => void) | undefined,
    onResultSetDone: (() => void) | undefined,
  ): Promise<void> {
    const task = this.busy.then(
      () => this.runNow(statement, options, onRow, onResultSetDone),
      () => this.runNow(statement, options, onRow, onResultSetDone),
    );
    this.busy = task.catch(() => undefined);
    return task;
  }

  private runNow(
    statement: Statement,
    options: { signal?: AbortSignal; timeoutMs?: number },
    onRow: ((row: Row) => void) | undefined,
    onResultSetDone: (() => void) | undefined,
  ): Promise<void> {
    if (this.closed) return Promise.reject(new SqlUnavailableError("SQL connection is closed", "socket"));
    const signal = options.signal;
    if (signal?.aborted) return Promise.reject(new SqlUnavailableError(`${statement.name} aborted before start`, "timeout"));
    return new Promise<void>((resolve, reject) => {
      const request = new Request(statement.sql, (err) => {
        signal?.removeEventListener("abort", onAbort);
        if (err) reject(classifySqlError(err));
        else resolve();
      });
      request.setTimeout(options.timeoutMs ?? this.defaultTimeoutMs);
      bindParams(request, statement.params);
      if (onRow !== undefined) {
        request.on("row", (columns: { value: unknown; metadata: { colName: string } }[]) => {
          const row: Record<string, unknown> = {};
          for (const column of columns) row[column.metadata.colName] = column.value;
          onRow(row);
        });
      }
      if (onResultSetDone !== undefined) {
        request.on("doneInProc", () => onResultSetDone());
        request.on("done", () => onResultSetDone());
      }
      const onAbort = (): void => {
        this.connection.cancel();
      };
      signal?.addEventListener("abort", onAbort, { once: true });
      if (statement.params === undefined) this.connection.execSqlBatch(request);
      else this.connection.execSql(request);
    });
  }
}

/**
 * Keeps one connection open and reopens it after a failure. The agent holds one per purpose (observation,
 * long actions, diagnostics) so a slow FAILOVER never blocks the observation that drives fencing.
 */
export class ReconnectingSqlConnection {
  private current: SqlConnection | undefined;
  private opening: Promise<SqlConnection> | undefined;

  constructor(private readonly open: (signal?: AbortSignal) => Promise<SqlConnection>) {}

  static fromOptions(options: () => SqlEndpointOptions): ReconnectingSqlConnection {
    return new ReconnectingSqlConnection((signal) => SqlConnection.open(options(), signal));
  }

  async get(signal?: AbortSignal): Promise<SqlConnection> {
    if (this.current?.isOpen) return this.current;
    this.current = undefined;
    this.opening ??= this.open(signal).finally(() => {
      this.opening = undefined;
    });
    this.current = await this.opening;
    return this.current;
  }

  async query(statement: Statement, options: { signal?: AbortSignal; timeoutMs?: number } = {}): Promise<Row[]> {
    const connection = await this.get(options.signal);
    try {
      return await connection.query(statement, options);
    } catch (e) {
      if (e instanceof SqlUnavailableError) await this.reset();
      throw e;
    }
  }

  async execute(statement: Statement, options: { signal?: AbortSignal; timeoutMs?: number } = {}): Promise<void> {
    const connection = await this.get(options.signal);
    try {
      await connection.execute(statement, options);
    } catch (e) {
      if (e instanceof SqlUnavailableError) await this.reset();
      throw e;
    }
  }

  async reset(): Promise<void> {
    const c = this.current;
    this.current = undefined;
    if (c !== undefined) await c.close().catch(() => undefined);
  }
}
