/**
 * `SimEngine`: the `Engine` port (tds/engine-port.ts) implemented over a `ServerModel`. Sessions, batches, RPC,
 * scalar built-ins (B2 "Scalars"), the workload key-value table, and dispatch to the DDL modules.
 *
 * Error policy: an error ends the batch after reporting ERROR + DONE(error) — the agent sends one statement (or
 * one context+statement pair, pacemaker §1.1) per batch, so statement- vs batch-abort differences do not arise.
 * Anything outside the modelled grammar answers "mssql-sim does not model: …" (class 16) and is logged.
 */
import { randomUUID } from "node:crypto";
import type { ColumnType, Engine, EngineSession, LoginRequest, LoginResult, ResultItem, RpcParameter, SqlValue } from "../tds/engine-port.js";
import type { Statement } from "./ast.js";
import { encryptPrivateKey } from "./certs.js";
import { executeAgStatement } from "./ddl-ag.js";
import { executeSecurityStatement } from "./ddl-security.js";
import { runDiagnostics } from "./diagnostics.js";
import { Errors, SqlError } from "./errors.js";
import { ensureSqlError, Evaluator, inferLiteralType, typeFromName, convertValue, type EvalHost, type Variable } from "./evaluator.js";
import { sameName, SYSTEM_DATABASES } from "./model.js";
import { NotModelledError, parseBatch } from "./parser.js";
import type { DbRuntime, ServerModel } from "./server-model.js";
import { SqlSyntaxError } from "./tokenizer.js";
import { databaseId, resolveView, type SessionSummary, type View } from "./views.js";

export class SimSession implements EngineSession {
  database: string;
  readonly context = new Map<string, SqlValue>();
  nocount = false;
  rowCount = 0;
  lastError = 0;
  constructor(
    readonly id: number,
    readonly login: string,
    database: string,
    readonly appName: string,
    readonly hostName: string,
  ) {
    this.database = database;
  }
}

export interface ExecContext {
  engine: SimEngine;
  model: ServerModel;
  session: SimSession;
  signal: AbortSignal;
  variables: Map<string, Variable>;
  evaluator: Evaluator;
  statement: Statement;
}

const VERSION = { major: 16, minor: 0, build: 4135 };
const PRODUCT_VERSION = "16.0.4135.4";
const KV_COLUMNS = [
  { name: "k", type: { kind: "nvarchar", length: 64 } as ColumnType, nullable: false },
  { name: "v", type: { kind: "nvarchar", length: 4000 } as ColumnType, nullable: true },
];

/** Passwords and private keys never reach logs (CONVENTIONS: no secrets in logs). */
export function redactSql(text: string): string {
  return text
    .replace(/(PASSWORD\s*=\s*)N?'(?:[^']|'')*'/gi, "$1'***'")
    .replace(/(PRIVATE\s+KEY\s*\(\s*BINARY\s*=\s*)0x[0-9a-f]+/gi, "$10x***")
    .replace(/(CERTPRIVATEKEY\s*\([^,]*,\s*)N?'(?:[^']|'')*'/gi, "$1'***'");
}

export class SimEngine implements Engine {
  readonly version = VERSION;
  private nextSessionId = 51;
  readonly sessions = new Map<number, SimSession>();
  private readonly parseCache = new Map<string, Statement[]>();

  constructor(readonly model: ServerModel) {}

  get serverName(): string {
    return this.model.serverName;
  }

  login(req: LoginRequest): LoginResult {
    const catalog = this.model.catalog;
    const login = catalog.logins.find((l) => sameName(l.name, req.userName));
    const expected = login && sameName(login.name, "sa") ? catalog.saPassword : login?.password;
    // 18456 state 1 is what clients see for every login failure reason (B6.1 / A-appendix).
    if (!login || login.type !== "SQL_LOGIN" || login.disabled || expected == null || expected !== req.password) {
      this.model.log("login_failed", { server: this.serverName, user: req.userName });
      const e = Errors.loginFailed(req.userName);
      return { ok: false, number: e.number, state: e.state, severity: e.severity, message: e.message };
    }
    const database = req.database || "master";
    if (!this.databaseExists(database)) {
      const e = Errors.cannotOpenDatabase(database);
      return { ok: false, number: e.number, state: e.state, severity: e.severity, message: e.message };
    }
    const session = new SimSession(this.nextSessionId++, login.name, this.canonicalDatabaseName(database), req.appName, req.hostName);
    this.sessions.set(session.id, session);
    return { ok: true, session, database: session.database };
  }

  endSession(session: EngineSession): void {
    this.sessions.delete(session.id);
  }

  databaseExists(name: string): boolean {
    return SYSTEM_DATABASES.includes(name.toLowerCase()) || this.model.dbs.has(name.toLowerCase());
  }

  canonicalDatabaseName(name: string): string {
    return SYSTEM_DATABASES.find((d) => sameName(d, name)) ?? this.model.dbs.get(name.toLowerCase())?.record.name ?? name;
  }

  private sessionOf(session: EngineSession): SimSession {
    const s = this.sessions.get(session.id);
    if (!s) throw new SqlError(233, "The session is closed.", 20, 0);
    return s;
  }

  private parse(sql: string): Statement[] {
    const cached = this.parseCache.get(sql);
    if (cached) return cached;
    const statements = parseBatch(sql);
    if (this.parseCache.size > 500) this.parseCache.clear();
    this.parseCache.set(sql, statements);
    return statements;
  }

  async *executeBatch(session: EngineSession, sql: string, signal: AbortSignal): AsyncIterable<ResultItem> {
    yield* this.runBatch(this.sessionOf(session), sql, signal, new Map());
  }

  async *runBatch(session: SimSession, sql: string, signal: AbortSignal, variables: Map<string, Variable>): AsyncGenerator<ResultItem> {
    let statements: Statement[];
    try {
      statements = this.parse(sql);
    } catch (err) {
      yield* this.reportParseError(session, sql, err);
      return;
    }
    for (const statement of statements) {
      if (signal.aborted) return;
      const ok = yield* this.runStatement(session, statement, signal, variables);
      if (!ok) return;
    }
  }

  private *reportParseError(session: SimSession, sql: string, err: unknown): Generator<ResultItem> {
    let error: SqlError;
    if (err instanceof SqlSyntaxError) error = Errors.syntax(err.message);
    else if (err instanceof NotModelledError) error = Errors.notModelled(err.message);
    else error = ensureSqlError(err, sql);
    this.recordStatement(session, sql, error);
    yield { kind: "error", number: error.number, state: error.state, severity: error.severity, message: error.message, lineNumber: 1 };
    yield { kind: "done", error: true };
  }

  private recordStatement(session: SimSession, text: string, error?: SqlError): void {
    const entry: { atMs: number; session: number; text: string; error?: number } = { atMs: this.model.now(), session: session.id, text: redactSql(text).slice(0, 500) };
    if (error) entry.error = error.number;
    this.model.statementLog.push(entry);
    if (this.model.statementLog.length > 5000) this.model.statementLog.splice(0, 1000);
    if (error?.number === 50000) this.model.log("not_modelled", { server: this.serverName, statement: entry.text.slice(0, 200) });
  }

  /** Run one statement; returns false when it failed (the batch stops). */
  async *runStatement(session: SimSession, statement: Statement, signal: AbortSignal, variables: Map<string, Variable>): AsyncGenerator<ResultItem, boolean> {
    const ctx: ExecContext = {
      engine: this,
      model: this.model,
      session,
      signal,
      variables,
      evaluator: new Evaluator(this.host(session, variables, statement.text)),
      statement,
    };
    try {
      if (statement.type !== "if" && statement.type !== "block") this.recordStatement(session, statement.text);
      yield* this.execute(ctx, statement);
      session.lastError = 0;
      return true;
    } catch (err) {
      if (err instanceof StopBatch) return false;
      const error = ensureSqlError(err, statement.text);
      if (error.number === 50000) this.recordStatement(session, statement.text, error);
      session.lastError = error.number;
      yield { kind: "error", number: error.number, state: error.state, severity: error.severity, message: error.message, lineNumber: statement.line };
      if (error.severity >= 20) yield { kind: "fatal" };
      else yield { kind: "done", error: true };
      return false;
    }
  }

  private async *execute(ctx: ExecContext, statement: Statement): AsyncGenerator<ResultItem> {
    const { session, evaluator } = ctx;
    switch (statement.type) {
      case "select": {
        const result = evaluator.select(statement.select);
        if (!result.assigned) {
          yield { kind: "rows", columns: result.columns, rows: result.rows };
          session.rowCount = result.rows.length;
          yield session.nocount ? { kind: "done" } : { kind: "done", rowCount: result.rows.length };
        }
        return;
      }
      case "setOption":
        if (/^NOCOUNT (ON|OFF)$/.test(statement.option)) session.nocount = statement.option.endsWith("ON");
        return;
      case "declare":
        for (const v of statement.variables) {
          const type = typeFromName(v.typeName);
          ctx.variables.set(v.name, { type, value: v.initial ? convertValue(evaluator.evaluate(v.initial), type) : null });
        }
        return;
      case "setVariable": {
        const variable = ctx.variables.get(statement.variable);
        if (!variable) throw Errors.mustDeclare(statement.variable);
        variable.value = convertValue(evaluator.evaluate(statement.value), variable.type);
        return;
      }
      case "if": {
        const condition = evaluator.evaluate(statement.condition);
        const branch = condition === true || (typeof condition === "number" && condition !== 0) ? statement.then : statement.otherwise;
        if (branch) {
          const ok = yield* this.runStatement(session, branch, ctx.signal, ctx.variables);
          if (!ok) throw new StopBatch();
        }
        return;
      }
      case "block":
        for (const inner of statement.body) {
          const ok = yield* this.runStatement(session, inner, ctx.signal, ctx.variables);
          if (!ok) throw new StopBatch();
        }
        return;
      case "use": {
        if (!this.databaseExists(statement.database)) throw Errors.databaseDoesNotExist(statement.database);
        const old = session.database;
        session.database = this.canonicalDatabaseName(statement.database);
        yield { kind: "envchange-database", newDatabase: session.database, oldDatabase: old };
        yield { kind: "info", number: 5701, state: 2, severity: 0, message: `Changed database context to '${session.database}'.` };
        return;
      }
      case "print":
        yield { kind: "info", number: 0, state: 1, severity: 0, message: String(evaluator.evaluate(statement.value) ?? "") };
        return;
      case "waitfor": {
        const text = String(evaluator.evaluate(statement.delay) ?? "0");
        const [h, m, s] = text.split(":").map(Number);
        // WAITFOR is the client's own wall-clock wait, not a simulated duration: never scaled.
        await this.model.sleep(((h ?? 0) * 3600 + (m ?? 0) * 60 + (s ?? 0)) * 1000, ctx.signal);
        return;
      }
      case "exec":
        yield* this.execProcedure(ctx, statement.procedure, statement.args.map((a) => {
          const arg: { name?: string; value: SqlValue } = { value: evaluator.evaluate(a.value) };
          if (a.name) arg.name = a.name;
          return arg;
        }));
        return;
      case "execDynamic": {
        const sql = String(evaluator.evaluate(statement.sql) ?? "");
        yield* this.runScoped(session, sql, ctx.signal, new Map());
        return;
      }
      case "createTable":
        yield* this.createTable(ctx, statement);
        return;
      case "insert":
        yield* this.insert(ctx, statement);
        return;
      case "update":
      case "delete":
        throw new NotModelledError(statement.text);
      case "createAg":
      case "alterAg":
      case "dropAg":
        yield* executeAgStatement(ctx, statement);
        return;
      default:
        yield* executeSecurityStatement(ctx, statement);
    }
  }

  /** Dynamic SQL and sp_executesql: a USE inside only lasts until the inner batch ends (T-SQL scoping rule). */
  private async *runScoped(session: SimSession, sql: string, signal: AbortSignal, variables: Map<string, Variable>): AsyncGenerator<ResultItem> {
    const database = session.database;
    let ok = true;
    try {
      for await (const item of this.runBatch(session, sql, signal, variables)) {
        if (item.kind === "error") ok = false;
        if (item.kind === "envchange-database" || (item.kind === "info" && item.number === 5701)) continue;
        yield item;
      }
    } finally {
      session.database = database;
    }
    if (!ok) throw new StopBatch();
  }

  // ---- procedures ---------------------------------------------------------------------------------------------

  async *execProcedure(ctx: ExecContext, procedure: string[], args: { name?: string; value: SqlValue }[]): AsyncGenerator<ResultItem> {
    const name = (procedure[procedure.length - 1] as string).toLowerCase();
    const arg = (key: string, position: number): SqlValue | undefined => {
      const named = args.find((a) => a.name?.toUpperCase() === key.toUpperCase());
      if (named) return named.value;
      const positional = args[position];
      return positional && !positional.name ? positional.value : undefined;
    };
    switch (name) {
      case "sp_set_session_context": {
        // B3: FAILOVER on an EXTERNAL AG requires N'external_cluster' = N'yes' in the same session.
        const key = arg("@KEY", 0);
        if (key == null) throw new SqlError(201, "Procedure or function 'sp_set_session_context' expects parameter '@key', which was not supplied.", 16, 4);
        ctx.session.context.set(String(key).toLowerCase(), arg("@VALUE", 1) ?? null);
        yield { kind: "done" };
        return;
      }
      case "sp_server_diagnostics": {
        // Documented permission: VIEW SERVER STATE (B1 docs page).
        if (!this.hasServerPermission(ctx.session.login, "VIEW SERVER STATE")) throw new SqlError(297, "The user does not have permission to perform this action.", 16, 1);
        const interval = arg("@REPEAT_INTERVAL", 0);
        yield* runDiagnostics(ctx, interval == null ? 0 : Number(interval));
        return;
      }
      case "sp_executesql": {
        const statement = arg("@STATEMENT", 0);
        const variables = new Map<string, Variable>();
        for (const a of args.slice(2)) {
          if (a.name) variables.set(a.name.toUpperCase(), { type: inferLiteralType(a.value), value: a.value });
        }
        yield* this.runScoped(ctx.session, String(statement ?? ""), ctx.signal, variables);
        return;
      }
      case "sp_dropserver":
      case "sp_addserver":
        throw new NotModelledError(`EXEC ${name} (rename the instance with mssql-sim serve --name)`);
      default:
        throw Errors.unknownProcedure(procedure.join("."));
    }
  }

  async *executeRpc(session: EngineSession, procName: string, parameters: RpcParameter[], signal: AbortSignal): AsyncIterable<ResultItem> {
    const s = this.sessionOf(session);
    const name = procName.toLowerCase().replace(/^(master\.)?(sys|dbo)?\.?/, "");
    if (name === "sp_executesql") {
      const statement = String(parameters[0]?.value ?? "");
      const variables = new Map<string, Variable>();
      for (const p of parameters.slice(2)) {
        const key = (p.name.startsWith("@") ? p.name : `@${p.name}`).toUpperCase();
        variables.set(key, { type: typeFromTypeName(p.typeName, p.value), value: p.value });
      }
      try {
        yield* this.runScoped(s, statement, signal, variables);
      } catch (err) {
        if (!(err instanceof StopBatch)) throw err;
      }
      return;
    }
    const statement: Statement = { type: "exec", procedure: [name], args: [], text: `EXEC ${procName}`, line: 1 };
    const ctx: ExecContext = {
      engine: this,
      model: this.model,
      session: s,
      signal,
      variables: new Map(),
      evaluator: new Evaluator(this.host(s, new Map(), statement.text)),
      statement,
    };
    this.recordStatement(s, statement.text);
    try {
      const args = parameters.map((p) => {
        const a: { name?: string; value: SqlValue } = { value: p.value };
        if (p.name) a.name = (p.name.startsWith("@") ? p.name : `@${p.name}`).toUpperCase();
        return a;
      });
      yield* this.execProcedure(ctx, [name], args);
    } catch (err) {
      if (err instanceof StopBatch) return;
      const error = ensureSqlError(err, statement.text);
      if (error.number === 50000) this.recordStatement(s, statement.text, error);
      yield { kind: "error", number: error.number, state: error.state, severity: error.severity, message: error.message, procName, lineNumber: 1 };
      yield { kind: "done", error: true };
    }
  }

  // ---- workload key-value table -------------------------------------------------------------------------------

  /** The current database's runtime, for the workload table (user databases only). */
  currentUserDb(session: SimSession, tableParts: string[]): DbRuntime {
    const dbName = tableParts.length >= 3 ? (tableParts[tableParts.length - 3] as string) : session.database;
    const db = this.model.dbs.get(dbName.toLowerCase());
    if (!db) throw Errors.invalidObject(tableParts.join("."));
    return db;
  }

  private async *createTable(ctx: ExecContext, statement: Extract<Statement, { type: "createTable" }>): AsyncGenerator<ResultItem> {
    const tableName = (statement.table[statement.table.length - 1] as string).toLowerCase();
    const names = statement.columns.map((c) => c.name).join(",");
    // Only the workload's key-value table is modelled (brief: CREATE TABLE kv (k nvarchar(64) PRIMARY KEY, v nvarchar(4000))).
    if (tableName !== "kv" || names !== "k,v") throw new NotModelledError(statement.text);
    const db = this.currentUserDb(ctx.session, statement.table);
    if (db.record.hasKvTable) throw Errors.objectExists("kv");
    this.model.checkWritable(db);
    db.record.hasKvTable = true;
    this.model.saveCatalog();
    yield { kind: "done" };
  }

  private async *insert(ctx: ExecContext, statement: Extract<Statement, { type: "insert" }>): AsyncGenerator<ResultItem> {
    const tableName = (statement.table[statement.table.length - 1] as string).toLowerCase();
    if (tableName !== "kv") throw new NotModelledError(statement.text);
    const db = this.currentUserDb(ctx.session, statement.table);
    if (!db.record.hasKvTable) throw Errors.invalidObject(statement.table.join("."));
    const columns = statement.columns.length > 0 ? statement.columns : ["k", "v"];
    const values = statement.values.map((v) => ctx.evaluator.evaluate(v));
    const key = values[columns.indexOf("k")];
    const valueIndex = columns.indexOf("v");
    const value = valueIndex >= 0 ? (values[valueIndex] ?? null) : null;
    if (key == null) throw new SqlError(515, "Cannot insert the value NULL into column 'k', table 'kv'; column does not allow nulls. INSERT fails.", 16, 2);
    this.model.checkWritable(db);
    if (db.kv.has(String(key))) throw Errors.duplicateKey("kv", String(key));
    await this.model.commitWrite(db, String(key), value === null ? null : String(value));
    ctx.session.rowCount = 1;
    yield ctx.session.nocount ? { kind: "done" } : { kind: "done", rowCount: 1 };
  }

  // ---- evaluation host ----------------------------------------------------------------------------------------

  host(session: SimSession, variables: Map<string, Variable>, statementText: string): EvalHost {
    return {
      variables,
      statementText,
      resolveTable: (parts) => this.resolveTable(session, parts),
      lookupByKey: (parts, column, value) => {
        if (!this.isKvTable(parts) || column !== "k" || value === null) return undefined;
        const db = this.readableKv(session, parts);
        const key = String(value);
        return { columns: KV_COLUMNS, rows: db.kv.has(key) ? [{ k: key, v: db.kv.get(key) ?? null }] : [] };
      },
      callBuiltin: (name, args) => this.builtin(session, name, args),
    };
  }

  sessionSummaries(): SessionSummary[] {
    return [...this.sessions.values()].map((s) => ({ id: s.id, login: s.login, appName: s.appName, hostName: s.hostName, database: s.database }));
  }

  private isKvTable(parts: string[]): boolean {
    const last = (parts[parts.length - 1] as string).toLowerCase();
    return last === "kv" && (parts.length === 1 || (parts[parts.length - 2] as string).toLowerCase() === "dbo");
  }

  private readableKv(session: SimSession, parts: string[]): DbRuntime {
    const db = this.currentUserDb(session, parts);
    if (!db.record.hasKvTable) throw Errors.invalidObject(parts.join("."));
    this.model.checkReadable(db);
    return db;
  }

  private resolveTable(session: SimSession, parts: string[]): View {
    const last = (parts[parts.length - 1] as string).toLowerCase();
    if (this.isKvTable(parts)) {
      const db = this.readableKv(session, parts);
      return { columns: KV_COLUMNS, rows: [...db.kv].map(([k, v]) => ({ k, v })) };
    }
    const dbPart = parts.length >= 3 ? (parts[parts.length - 3] as string) : session.database;
    const view = resolveView(this.model, parts, dbPart, this.sessionSummaries());
    if (!view) throw Errors.invalidObject(parts.join("."));
    return this.applyPermissions(session, last, view);
  }

  /** Non-sysadmin logins see DMVs only with VIEW SERVER STATE and AG rows only with a permission on the AG (pacemaker §1.1). */
  private applyPermissions(session: SimSession, viewName: string, view: View): View {
    if (this.isSysadmin(session.login)) return view;
    if (viewName.startsWith("dm_") && !this.hasServerPermission(session.login, "VIEW SERVER STATE")) {
      throw new SqlError(300, "VIEW SERVER STATE permission was denied on object 'server', database 'master'.", 14, 1);
    }
    if (viewName === "availability_groups") return { columns: view.columns, rows: view.rows.filter((r) => this.hasAgPermission(session.login, String(r.name))) };
    return view;
  }

  isSysadmin(login: string): boolean {
    return this.model.catalog.serverRoleMembers.some((m) => sameName(m.role, "sysadmin") && sameName(m.member, login));
  }

  hasServerPermission(login: string, permission: string): boolean {
    return (
      this.isSysadmin(login) ||
      this.model.catalog.permissions.some((p) => p.state === "GRANT" && sameName(p.grantee, login) && p.securableClass === "SERVER" && (p.permission === permission || p.permission === "CONTROL SERVER"))
    );
  }

  hasAgPermission(login: string, ag: string, needAlter = false): boolean {
    if (this.hasServerPermission(login, "ALTER ANY AVAILABILITY GROUP")) return true;
    return this.model.catalog.permissions.some(
      (p) =>
        p.state === "GRANT" &&
        sameName(p.grantee, login) &&
        p.securableClass === "AVAILABILITY GROUP" &&
        sameName(p.securable, ag) &&
        (needAlter ? p.permission === "ALTER" || p.permission === "CONTROL" : ["ALTER", "CONTROL", "VIEW DEFINITION"].includes(p.permission)),
    );
  }

  private builtin(session: SimSession, name: string, args: SqlValue[]): { value: SqlValue; type: ColumnType } | undefined {
    const model = this.model;
    const sysname: ColumnType = { kind: "nvarchar", length: 128 };
    const variant: ColumnType = { kind: "sql_variant" };
    const varbinaryMax: ColumnType = { kind: "varbinary", length: "max" };
    const cert = (id: SqlValue) => model.catalog.certificates.find((c) => c.certificateId === Number(id));
    switch (name) {
      case "@@SERVERNAME":
        return { value: model.serverName, type: sysname };
      case "@@SPID":
        return { value: session.id, type: { kind: "smallint" } };
      case "@@VERSION":
        return { value: `Microsoft SQL Server 2022 (RTM-CU${VERSION.build}) - ${PRODUCT_VERSION} (X64) mssql-sim Developer Edition (64-bit) on Linux`, type: { kind: "nvarchar", length: 300 } };
      case "@@ROWCOUNT":
        return { value: session.rowCount, type: { kind: "int" } };
      case "@@TRANCOUNT":
        return { value: 0, type: { kind: "int" } };
      case "@@ERROR":
        return { value: session.lastError, type: { kind: "int" } };
      case "SERVERPROPERTY": {
        // B2 "Scalars": sql_variant; NULL for unknown property names.
        const property = String(args[0] ?? "").toLowerCase();
        const values: Record<string, SqlValue> = {
          servername: model.serverName,
          machinename: model.serverName,
          ishadrenabled: 1,
          hadrmanagerstatus: 1,
          productversion: PRODUCT_VERSION,
          productmajorversion: String(VERSION.major),
          productminorversion: String(VERSION.minor),
          productlevel: "RTM",
          edition: "Developer Edition (64-bit)",
          engineedition: 3,
          instancename: null,
          isclustered: 0,
          collation: "SQL_Latin1_General_CP1_CI_AS",
        };
        return { value: property in values ? (values[property] as SqlValue) : null, type: variant };
      }
      case "SESSION_CONTEXT":
        return { value: session.context.get(String(args[0] ?? "").toLowerCase()) ?? null, type: variant };
      case "DB_NAME": {
        if (args.length === 0 || args[0] === null) return { value: session.database, type: sysname };
        const id = Number(args[0]);
        const system = SYSTEM_DATABASES[id - 1];
        const value = system ?? [...model.dbs.values()].find((d) => d.record.databaseId === id)?.record.name ?? null;
        return { value, type: sysname };
      }
      case "DB_ID":
        return { value: databaseId(model, args.length === 0 || args[0] === null ? session.database : String(args[0])), type: { kind: "int" } };
      case "OBJECT_ID": {
        const parts = String(args[0] ?? "").split(".").map((p) => p.replace(/^\[|\]$/g, ""));
        if ((parts[parts.length - 1] ?? "").toLowerCase() !== "kv") return { value: null, type: { kind: "int" } };
        const db = model.dbs.get((parts.length >= 3 ? (parts[0] as string) : session.database).toLowerCase());
        return { value: db?.record.hasKvTable ? 1_000_000 + db.record.databaseId : null, type: { kind: "int" } };
      }
      case "CERT_ID": {
        // B4: certificates live in master in this model.
        const found = sameName(session.database, "master") ? model.catalog.certificates.find((c) => sameName(c.name, String(args[0] ?? ""))) : undefined;
        return { value: found?.certificateId ?? null, type: { kind: "int" } };
      }
      case "CERTENCODED": {
        const found = cert(args[0] ?? null);
        return { value: found ? Buffer.from(found.derBase64, "base64") : null, type: varbinaryMax };
      }
      case "CERTPRIVATEKEY": {
        const found = cert(args[0] ?? null);
        if (!found?.privateKeyPem || args[1] == null) return { value: null, type: varbinaryMax };
        return { value: encryptPrivateKey(found.privateKeyPem, String(args[1])), type: varbinaryMax };
      }
      case "GETDATE":
      case "GETUTCDATE":
      case "CURRENT_TIMESTAMP":
        return { value: new Date(model.now()), type: { kind: "datetime" } };
      case "SYSDATETIME":
      case "SYSUTCDATETIME":
        return { value: new Date(model.now()), type: { kind: "datetime2", scale: 7 } };
      case "SUSER_NAME":
      case "SUSER_SNAME":
      case "ORIGINAL_LOGIN":
        return { value: session.login, type: sysname };
      case "USER_NAME":
        return { value: "dbo", type: sysname };
      case "IS_SRVROLEMEMBER":
        return { value: this.model.catalog.serverRoleMembers.some((m) => sameName(m.role, String(args[0])) && sameName(m.member, args[1] == null ? session.login : String(args[1]))) ? 1 : 0, type: { kind: "int" } };
      case "NEWID":
        return { value: randomUUID().toUpperCase(), type: { kind: "uniqueidentifier" } };
      default:
        return undefined;
    }
  }
}

/** Thrown after an inner statement already reported its error, to stop the batch without a second report. */
export class StopBatch extends SqlError {
  constructor() {
    super(0, "batch stopped", 0, 0);
  }
}

function typeFromTypeName(typeName: string, value: SqlValue): ColumnType {
  const match = /^(\w+)(?:\((\d+|max)(?:,\s*(\d+))?\))?/i.exec(typeName);
  if (!match) return inferLiteralType(value);
  try {
    const args: (number | "max")[] = [];
    if (match[2]) args.push(match[2].toLowerCase() === "max" ? "max" : Number(match[2]));
    if (match[3]) args.push(Number(match[3]));
    return typeFromName({ name: (match[1] as string).toUpperCase(), args });
  } catch {
    return inferLiteralType(value);
  }
}
