/**
 * Promise wrappers around `tedious` for the simulator's own sim-tier tests and the multi-process test: connect with
 * TLS inside PRELOGIN (trustServerCertificate), run a batch or a parameterised sp_executesql, collect result sets.
 */
import { Connection, Request, TYPES } from "tedious";

export interface Outcome {
  sets: { columns: string[]; rows: unknown[][] }[];
  infos: { number: number; message: string }[];
  databaseChanges: string[];
}

export interface SqlFailure extends Error {
  number?: number;
  class?: number;
  state?: number;
  code?: string;
}

export function connectTo(host: string, port: number, login: { user?: string; password: string; database?: string }): Promise<Connection> {
  return new Promise((resolve, reject) => {
    const connection = new Connection({
      server: host,
      authentication: { type: "default", options: { userName: login.user ?? "sa", password: login.password } },
      options: { port, encrypt: true, trustServerCertificate: true, database: login.database ?? "master", connectTimeout: 10000, requestTimeout: 15000 },
    });
    connection.on("error", () => undefined);
    connection.connect((err) => (err ? reject(err) : resolve(connection)));
  });
}

export function run(connection: Connection, sql: string, params?: Record<string, string>): Promise<Outcome> {
  return new Promise((resolve, reject) => {
    const outcome: Outcome = { sets: [], infos: [], databaseChanges: [] };
    const onInfo = (info: { number: number; message: string }): void => void outcome.infos.push({ number: info.number, message: info.message });
    const onDb = (db: string): void => void outcome.databaseChanges.push(db);
    connection.on("infoMessage", onInfo);
    connection.on("databaseChange", onDb);
    const request = new Request(sql, (err) => {
      connection.off("infoMessage", onInfo);
      connection.off("databaseChange", onDb);
      if (err) reject(err);
      else resolve(outcome);
    });
    request.on("columnMetadata", (columns) => {
      const list = Array.isArray(columns) ? columns : Object.values(columns);
      outcome.sets.push({ columns: list.map((c) => c.colName), rows: [] });
    });
    request.on("row", (columns) => {
      const list = Array.isArray(columns) ? columns : Object.values(columns);
      outcome.sets[outcome.sets.length - 1]?.rows.push(list.map((c) => c.value));
    });
    if (params) {
      for (const [name, value] of Object.entries(params)) request.addParameter(name, TYPES.NVarChar, value);
      connection.execSql(request);
    } else connection.execSqlBatch(request);
  });
}

/** Resolves with the error the promise rejected with; fails the test if it succeeded. */
export async function failure(promise: Promise<unknown>): Promise<SqlFailure> {
  try {
    await promise;
  } catch (err) {
    return err as SqlFailure;
  }
  throw new Error("expected the request to fail");
}
