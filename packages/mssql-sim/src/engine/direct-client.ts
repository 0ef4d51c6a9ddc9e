/**
 * A client that talks to a `SqlInstance`'s engine in-process (no TDS): logs in like a driver would and collects
 * result items. Used by engine-level tests and the benchmark; errors surface as `DirectSqlError`.
 */
import type { EngineSession, ResultItem, RpcParameter, SqlValue } from "../tds/engine-port.js";
import type { SqlInstance } from "../instance.js";

export class DirectSqlError extends Error {
  constructor(
    readonly number: number,
    message: string,
    readonly severity: number,
    readonly state: number,
  ) {
    super(message);
    this.name = "DirectSqlError";
  }
}

export interface DirectResult {
  recordsets: { columns: string[]; rows: SqlValue[][] }[];
  infos: { number: number; message: string }[];
  rowCounts: number[];
}

export class DirectClient {
  private session: EngineSession | null = null;
  private sessionEngine: unknown = null;

  constructor(
    private readonly instance: SqlInstance,
    private readonly login = { user: "sa", password: instance.options.saPassword, database: "master" },
  ) {}

  private ensureSession(): EngineSession {
    const engine = this.instance.engine;
    if (!engine || this.instance.state !== "running") throw new DirectSqlError(-1, `instance ${this.instance.name} is ${this.instance.state}`, 20, 0);
    if (!this.session || this.sessionEngine !== engine) {
      const result = engine.login({
        userName: this.login.user,
        password: this.login.password,
        database: this.login.database,
        appName: "direct-client",
        hostName: "test",
        serverName: this.instance.name,
        readOnlyIntent: false,
        tdsVersion: 0x74000004,
        packetSize: 4096,
      });
      if (!result.ok) throw new DirectSqlError(result.number, result.message, result.severity, result.state);
      this.session = result.session;
      this.sessionEngine = engine;
    }
    return this.session;
  }

  /** Run a batch; rejects with the first error (like tedious does for one ERROR token). */
  async query(sql: string, signal: AbortSignal = new AbortController().signal): Promise<DirectResult> {
    const engine = this.instance.engine;
    const session = this.ensureSession();
    return collect(engine!.executeBatch(session, sql, signal));
  }

  async rpc(procName: string, parameters: RpcParameter[]): Promise<DirectResult> {
    const engine = this.instance.engine;
    const session = this.ensureSession();
    return collect(engine!.executeRpc(session, procName, parameters, new AbortController().signal));
  }

  /** sp_executesql with named parameters (what tedious' execSql sends). */
  async execSql(sql: string, params: Record<string, SqlValue>): Promise<DirectResult> {
    const parameters: RpcParameter[] = [
      { name: "@statement", value: sql, output: false, typeName: "nvarchar(max)" },
      { name: "@params", value: Object.keys(params).map((k) => `@${k} nvarchar(4000)`).join(","), output: false, typeName: "nvarchar(max)" },
      ...Object.entries(params).map(([k, v]) => ({ name: `@${k}`, value: v, output: false, typeName: "nvarchar(4000)" })),
    ];
    return this.rpc("sp_executesql", parameters);
  }

  /** First column of the first row of the first result set. */
  async scalar(sql: string): Promise<SqlValue> {
    const result = await this.query(sql);
    return result.recordsets[0]?.rows[0]?.[0] ?? null;
  }

  /** Rows of the first result set as objects. */
  async rows(sql: string): Promise<Record<string, SqlValue>[]> {
    const result = await this.query(sql);
    const set = result.recordsets[0];
    if (!set) return [];
    return set.rows.map((row) => Object.fromEntries(set.columns.map((c, i) => [c, row[i] ?? null])));
  }

  close(): void {
    if (this.session && this.instance.engine === this.sessionEngine) this.instance.engine?.endSession(this.session);
    this.session = null;
  }
}

async function collect(items: AsyncIterable<ResultItem>): Promise<DirectResult> {
  const result: DirectResult = { recordsets: [], infos: [], rowCounts: [] };
  let error: DirectSqlError | null = null;
  for await (const item of items) {
    if (item.kind === "rows") result.recordsets.push({ columns: item.columns.map((c) => c.name), rows: item.rows });
    else if (item.kind === "info") result.infos.push({ number: item.number, message: item.message });
    else if (item.kind === "done" && item.rowCount !== undefined) result.rowCounts.push(item.rowCount);
    else if (item.kind === "error" && !error) error = new DirectSqlError(item.number, item.message, item.severity, item.state);
  }
  if (error) throw error;
  return result;
}
