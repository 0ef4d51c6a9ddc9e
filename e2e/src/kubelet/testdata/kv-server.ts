/**
 * The program behind the test image `sqlag.test/kv:1`: a tiny key-value "SQL Server" for workload and
 * checker tests that need no AG. It speaks real TDS (mssql-sim's protocol layer) on the pod IP, accepts
 * `INSERT INTO kv (k, v) VALUES (@k, @v)` only while it is primary (3906 otherwise), and serves the subset of
 * mssql-sim's admin API the harness uses (`/v1/truth/intervals`, `/v1/instances/<name>/{keys,partition,heal}`),
 * plus `POST /role {"primary": bool}` so a test can play failover.
 *
 * Args: --name N --host IP --port P --admin-port A --sa-password PW [--primary]
 */
import http from "node:http";
import type { Engine, EngineSession, LoginRequest, LoginResult, ResultItem, RpcParameter } from "@sqlag/mssql-sim/tds/engine-port";
import { startTdsServer } from "@sqlag/mssql-sim/tds/server";
import { createSelfSignedCertificate } from "@sqlag/mssql-sim/tds/tls-cert";

function argValue(name: string): string | undefined {
  const index = process.argv.indexOf(name);
  return index >= 0 ? process.argv[index + 1] : undefined;
}

const name = argValue("--name") ?? "kv";
const host = argValue("--host") ?? "127.0.0.1";
const port = Number(argValue("--port") ?? 1433);
const adminPort = Number(argValue("--admin-port") ?? 0);
const password = argValue("--sa-password") ?? "";

const keys = new Set<string>();
const intervals: Array<{ server: string; fromMs: number; toMs: number | null }> = [];
let primary = false;

function setPrimary(next: boolean): void {
  if (next === primary) return;
  primary = next;
  const now = Date.now();
  if (next) intervals.push({ server: name, fromMs: now, toMs: null });
  else {
    const open = intervals.at(-1);
    if (open != null && open.toMs == null) open.toMs = now;
  }
  process.stdout.write(`${new Date().toISOString()} kv: ${name} is ${next ? "primary" : "secondary"}\n`);
}

async function* items(list: ResultItem[]): AsyncIterable<ResultItem> {
  yield* list;
}

let nextSession = 51;
const engine: Engine = {
  serverName: name,
  version: { major: 16, minor: 0, build: 4135 },
  login(request: LoginRequest): LoginResult {
    if (request.userName !== "sa" || request.password !== password) {
      return { ok: false, number: 18456, state: 1, severity: 14, message: `Login failed for user '${request.userName}'.` };
    }
    return { ok: true, session: { id: nextSession++ }, database: request.database === "" ? "master" : request.database };
  },
  executeBatch(_session: EngineSession, sql: string): AsyncIterable<ResultItem> {
    if (/^\s*select\s+count\(\*\)\s+from\s+kv/i.test(sql)) {
      return items([{ kind: "rows", columns: [{ name: "", type: { kind: "int" } }], rows: [[keys.size]] }, { kind: "done", rowCount: 1 }]);
    }
    return items([{ kind: "done" }]);
  },
  executeRpc(_session: EngineSession, _procName: string, parameters: RpcParameter[]): AsyncIterable<ResultItem> {
    const statement = String(parameters[0]?.value ?? "");
    if (!/insert\s+into\s+kv/i.test(statement)) return items([{ kind: "done" }]);
    if (!primary) {
      return items([
        { kind: "error", number: 3906, state: 1, severity: 16, message: `Failed to update database "kv" because the database is read-only.` },
        { kind: "done", error: true },
      ]);
    }
    const key = parameters.find((parameter) => parameter.name.replace(/^@/, "") === "k")?.value;
    keys.add(String(key));
    return items([{ kind: "done", rowCount: 1 }]);
  },
  endSession: () => undefined,
};

const reply = (response: http.ServerResponse, status: number, body: unknown): void => {
  response.writeHead(status, { "content-type": "application/json" });
  response.end(JSON.stringify(body));
};

async function main(): Promise<void> {
  setPrimary(process.argv.includes("--primary"));
  // TLS like SQL Server's self-signed default, so clients can keep encrypt: true with trustServerCertificate.
  const tds = await startTdsServer({ host, port, engine, tls: createSelfSignedCertificate(name, [host]) });
  const admin = http.createServer((request, response) => {
    const url = new URL(request.url ?? "/", "http://127.0.0.1");
    let body = "";
    request.on("data", (chunk: Buffer) => (body += chunk.toString()));
    request.on("end", () => {
      const instancePath = `/v1/instances/${name}`;
      if (request.method === "GET" && url.pathname === "/v1/truth/intervals") return reply(response, 200, { nowMs: Date.now(), intervals });
      if (request.method === "GET" && url.pathname === `${instancePath}/keys`) return reply(response, 200, { instance: name, db: url.searchParams.get("db"), keys: [...keys] });
      if (request.method === "POST" && url.pathname === "/role") {
        setPrimary((JSON.parse(body || "{}") as { primary?: boolean }).primary === true);
        return reply(response, 200, { primary });
      }
      if (request.method === "POST" && (url.pathname === `${instancePath}/partition` || url.pathname === `${instancePath}/heal`)) return reply(response, 200, {});
      return reply(response, 404, { error: `kv test server has no ${request.method ?? ""} ${url.pathname}` });
    });
  });
  admin.listen(adminPort, "127.0.0.1");
  process.stdout.write(`${new Date().toISOString()} kv: ${name} serving TDS on ${host}:${port}, admin on 127.0.0.1:${adminPort}\n`);
  process.on("SIGTERM", () => {
    admin.close();
    void tds.close().then(() => process.exit(0));
  });
}

void main();
