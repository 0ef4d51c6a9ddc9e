/**
 * The contract between the TDS protocol layer (`src/tds`) and the SQL Server behaviour model (`src/engine`).
 *
 * The protocol layer turns bytes into calls on an `Engine` and the `ResultItem`s it yields back into TDS tokens;
 * it knows nothing about Availability Groups. The engine knows nothing about bytes. Keep this file stable: both
 * sides are built against it concurrently.
 */

export type SqlValue = string | number | bigint | boolean | Date | Buffer | null;

export type ColumnType =
  | { kind: "nvarchar"; length: number | "max" } // sysname = nvarchar(128)
  | { kind: "varchar"; length: number | "max" }
  | { kind: "tinyint" }
  | { kind: "smallint" }
  | { kind: "int" }
  | { kind: "bigint" }
  | { kind: "bit" }
  | { kind: "datetime" }
  | { kind: "datetime2"; scale: number }
  | { kind: "uniqueidentifier" } // value: canonical GUID string
  | { kind: "varbinary"; length: number | "max" } // value: Buffer
  | { kind: "numeric"; precision: number; scale: number } // value: bigint | number | string
  | { kind: "xml" }
  | { kind: "sql_variant" }; // sql_variant: encode number as int, string as nvarchar

export interface Column {
  name: string;
  type: ColumnType;
  nullable?: boolean;
}

export type ResultItem =
  | { kind: "rows"; columns: Column[]; rows: SqlValue[][] } // one result set
  | {
      kind: "done";
      rowCount?: number;
      error?: boolean;
      /** Optional: the statement ran inside a procedure EXECuted from a batch (e.g. `EXEC sp_server_diagnostics
       *  5`). Sent at once as DONEINPROC(MORE), as SQL Server does, instead of a held-back batch DONE; streaming
       *  clients then get `doneInProc` per result set. Ignored for RPC, where every statement is DONEINPROC. */
      inProc?: boolean;
    } // end of one statement
  | { kind: "error"; number: number; state: number; severity: number; message: string; procName?: string; lineNumber?: number }
  | { kind: "info"; number: number; state: number; severity: number; message: string }
  | { kind: "envchange-database"; newDatabase: string; oldDatabase: string }
  | { kind: "fatal" }; // severity >= 20: send what is pending, then close the connection

export interface LoginRequest {
  userName: string;
  password: string;
  database: string;
  appName: string;
  hostName: string;
  serverName: string;
  readOnlyIntent: boolean;
  tdsVersion: number;
  packetSize: number;
}

export type LoginResult =
  | { ok: true; session: EngineSession; database: string }
  | { ok: false; number: number; state: number; severity: number; message: string }; // 18456, 4060, ...

export interface RpcParameter {
  name: string;
  value: SqlValue;
  output: boolean;
  typeName: string;
}

export interface EngineSession {
  readonly id: number;
}

export interface Engine {
  readonly serverName: string; // @@SERVERNAME, used in ERROR/INFO tokens
  readonly version: { major: number; minor: number; build: number }; // e.g. 16.0.4135
  login(req: LoginRequest): LoginResult | Promise<LoginResult>;
  /** Yields items as they become available; streaming (sp_server_diagnostics repeat mode) never ends until
   *  `signal` aborts (client ATTENTION or connection close). */
  executeBatch(session: EngineSession, sql: string, signal: AbortSignal): AsyncIterable<ResultItem>;
  /** RPC: `procName` is the name form, or the well-known name for ProcIDs (10 → "sp_executesql"). For
   *  sp_executesql, parameters[0] is @statement, [1] @params, then the user parameters. */
  executeRpc(session: EngineSession, procName: string, parameters: RpcParameter[], signal: AbortSignal): AsyncIterable<ResultItem>;
  /** Connection closed or reset. */
  endSession(session: EngineSession): void;
}
