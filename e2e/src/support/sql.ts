/**
 * One tedious query against an address resolved from the cluster (a pod IP from an EndpointSlice): the client
 * side of "an application connects through the Service". Encrypted like a real client, trusting the server's
 * self-generated certificate.
 */
import { Connection, Request } from "tedious";

export interface SqlTarget {
  readonly address: string;
  readonly port: number;
  readonly userName: string;
  readonly password: string;
}

export class SqlQueryError extends Error {
  constructor(target: SqlTarget, sqlText: string, options: { cause: unknown }) {
    super(`query "${sqlText}" on ${target.address}:${target.port} failed: ${options.cause instanceof Error ? options.cause.message : String(options.cause)}`, options);
    this.name = "SqlQueryError";
  }
}

/** Connects, runs `sqlText`, returns the rows as arrays of values, and closes the connection. */
export function queryRows(target: SqlTarget, sqlText: string, timeoutMs = 10_000): Promise<unknown[][]> {
  return new Promise((resolve, reject) => {
    const connection = new Connection({
      server: target.address,
      authentication: { type: "default", options: { userName: target.userName, password: target.password } },
      options: { port: target.port, encrypt: true, trustServerCertificate: true, connectTimeout: timeoutMs, requestTimeout: timeoutMs },
    });
    const rows: unknown[][] = [];
    let settled = false;
    const finish = (error: unknown, result?: unknown[][]) => {
      if (settled) return;
      settled = true;
      connection.close();
      if (error != null) reject(new SqlQueryError(target, sqlText, { cause: error }));
      else resolve(result ?? []);
    };
    connection.on("error", (error) => finish(error));
    connection.connect((connectError) => {
      if (connectError != null) {
        finish(connectError);
        return;
      }
      const request = new Request(sqlText, (requestError) => finish(requestError ?? undefined, rows));
      request.on("row", (columns: { value: unknown }[]) => rows.push(columns.map((column) => column.value)));
      connection.execSql(request);
    });
  });
}
