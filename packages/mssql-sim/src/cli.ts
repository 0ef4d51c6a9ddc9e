#!/usr/bin/env node
/**
 * `mssql-sim`: run one simulated SQL Server instance (`serve`) or drive a running one through its admin HTTP API.
 * `serve` logs one JSON line per notable event on stdout and exits cleanly on SIGTERM/SIGINT.
 */
import { readFileSync } from "node:fs";
import { parseArgs } from "node:util";
import { AdminClient, type InstanceAction } from "./admin/client.js";
import { startAdminServer } from "./admin/http.js";
import { SimCluster } from "./cluster.js";
import { DEFAULT_QUIRKS, type Quirks } from "./engine/server-model.js";
import { DEFAULT_TIMINGS, scaleTimings } from "./engine/timings.js";

const HELP = `mssql-sim — a SQL Server Availability Group simulator that speaks TDS

Usage:
  mssql-sim serve --name <server> [options]        run one instance until SIGTERM
  mssql-sim <command> --admin <host:port> [--instance <name>] [options]

serve options:
  --name <name>              @@SERVERNAME and AG replica name (required)
  --host <ip>                listen address for TDS and the mirroring endpoint (default 127.0.0.1)
  --port <n>                 TDS port (default 1433)
  --endpoint-port <n>        mirroring endpoint port (default: LISTENER_PORT from CREATE ENDPOINT)
  --data-dir <dir>           data directory, kept across restarts (default: a temporary directory)
  --sa-password <pw>         sa password (default: $MSSQL_SA_PASSWORD)
  --admin-port <n>           admin HTTP port on 127.0.0.1 (default 0 = any free port, printed)
  --tls-cert <file> --tls-key <file>   TLS certificate for encrypt=true clients
  --tls-self-signed          generate a self-signed TLS certificate
  --quirks <list>            e.g. latch41104=off,bilateral=off (both on by default)
  --timings-scale <x>        scale every simulated duration (0.1 = ten times faster)
  --hosts <list>             name=ip,... to resolve ENDPOINT_URL host names

commands (against --admin):
  status                     instances, roles, sequence numbers
  start|stop|crash|restart|freeze|thaw
  partition --peer <name>    drop endpoint traffic between --instance and <name> (this side)
  heal --peer <name>
  diag --component <system|resource|query_processing|io_subsystem|events> --state <clean|warning|error|unknown>
  timings --scale <x>
  hosts --hosts name=ip,...  add ENDPOINT_URL host-name entries to a running process
  truth                      which instances accept writes now, and the writable-interval history
  keys --db <name>           committed keys of the workload table on --instance
  statements                 statement log of --instance (passwords redacted)
`;

function logLine(event: string, fields: Record<string, unknown>): void {
  process.stdout.write(`${JSON.stringify({ ts: new Date().toISOString(), event, ...fields })}\n`);
}

function parseList(text: string | undefined): Record<string, string> {
  const map: Record<string, string> = {};
  for (const item of (text ?? "").split(",").filter(Boolean)) {
    const [key, value] = item.split("=");
    if (key && value) map[key.trim().toLowerCase()] = value.trim();
  }
  return map;
}

function parseQuirks(text: string | undefined): Quirks {
  const list = parseList(text);
  const flag = (key: string, fallback: boolean): boolean => (list[key] === undefined ? fallback : !["off", "false", "0"].includes(list[key] as string));
  return {
    latch41104: flag("latch41104", DEFAULT_QUIRKS.latch41104),
    bilateralTransportCache: flag("bilateral", flag("bilateraltransportcache", DEFAULT_QUIRKS.bilateralTransportCache)),
  };
}

async function serve(values: Record<string, string | boolean | undefined>): Promise<void> {
  const name = values.name as string | undefined;
  if (!name) throw new Error("--name is required");
  const saPassword = (values["sa-password"] as string | undefined) ?? process.env.MSSQL_SA_PASSWORD;
  if (!saPassword) throw new Error("--sa-password or MSSQL_SA_PASSWORD is required");
  const scale = values["timings-scale"] ? Number(values["timings-scale"]) : 1;
  const cluster = new SimCluster({ saPassword, timings: scale === 1 ? DEFAULT_TIMINGS : scaleTimings(scale), quirks: parseQuirks(values.quirks as string | undefined), log: logLine });
  Object.assign(cluster.hosts, parseList(values.hosts as string | undefined));
  let tls: { key: string; cert: string } | "self-signed" | undefined;
  if (values["tls-self-signed"]) tls = "self-signed";
  else if (values["tls-cert"] || values["tls-key"]) {
    if (!values["tls-cert"] || !values["tls-key"]) throw new Error("--tls-cert and --tls-key go together");
    tls = { cert: readFileSync(values["tls-cert"] as string, "utf8"), key: readFileSync(values["tls-key"] as string, "utf8") };
  }
  const options: Parameters<SimCluster["add"]>[0] = { name, host: (values.host as string | undefined) ?? "127.0.0.1", port: Number(values.port ?? 1433) };
  if (values["endpoint-port"]) options.endpointPort = Number(values["endpoint-port"]);
  if (values["data-dir"]) options.dataDir = values["data-dir"] as string;
  if (tls) options.tls = tls;
  const instance = await cluster.add(options);
  const admin = await startAdminServer({ cluster, port: Number(values["admin-port"] ?? 0), log: logLine });
  logLine("serving", { instance: name, host: instance.host, port: instance.port, adminPort: admin.port, dataDir: instance.dataDir });
  let stopping = false;
  const shutdown = (signal: string): void => {
    if (stopping) return;
    stopping = true;
    logLine("shutdown", { signal });
    void (async () => {
      await cluster.close();
      await admin.close();
      logLine("exited", { code: 0 });
      process.exit(0);
    })();
  };
  process.on("SIGTERM", () => shutdown("SIGTERM"));
  process.on("SIGINT", () => shutdown("SIGINT"));
}

async function command(name: string, values: Record<string, string | boolean | undefined>): Promise<void> {
  const address = values.admin as string | undefined;
  if (!address) throw new Error("--admin <host:port> is required");
  const client = new AdminClient(address);
  let instance = values.instance as string | undefined;
  if (!instance && name !== "truth" && name !== "timings" && name !== "hosts") {
    const { instances } = await client.instances();
    if (instances.length !== 1) throw new Error("--instance is required when the process runs several instances");
    instance = String(instances[0]?.name);
  }
  const print = (value: unknown): void => console.log(JSON.stringify(value, null, 2));
  switch (name) {
    case "status":
      print(await client.instance(instance as string));
      return;
    case "start":
    case "stop":
    case "crash":
    case "restart":
    case "freeze":
    case "thaw":
      print(await client.act(instance as string, name as InstanceAction));
      return;
    case "partition":
    case "heal": {
      const peer = values.peer as string | undefined;
      if (!peer) throw new Error("--peer is required");
      print(name === "partition" ? await client.partition(instance as string, peer) : await client.heal(instance as string, peer));
      return;
    }
    case "diag":
      print(await client.setDiagnostics(instance as string, String(values.component), String(values.state)));
      return;
    case "timings":
      print(await client.setTimings({ scale: Number(values.scale ?? 1) }));
      return;
    case "hosts":
      print(await client.setHosts(parseList(values.hosts as string | undefined)));
      return;
    case "truth":
      print({ ...(await client.writableNow()), intervals: (await client.writableIntervals()).intervals });
      return;
    case "keys":
      print(await client.committedKeys(instance as string, String(values.db)));
      return;
    case "statements":
      print(await client.statements(instance as string));
      return;
    default:
      throw new Error(`unknown command '${name}' (see --help)`);
  }
}

async function main(argv: string[]): Promise<void> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      help: { type: "boolean", short: "h" },
      name: { type: "string" },
      host: { type: "string" },
      port: { type: "string" },
      "endpoint-port": { type: "string" },
      "data-dir": { type: "string" },
      "sa-password": { type: "string" },
      "admin-port": { type: "string" },
      "tls-cert": { type: "string" },
      "tls-key": { type: "string" },
      "tls-self-signed": { type: "boolean" },
      quirks: { type: "string" },
      "timings-scale": { type: "string" },
      hosts: { type: "string" },
      admin: { type: "string" },
      instance: { type: "string" },
      peer: { type: "string" },
      component: { type: "string" },
      state: { type: "string" },
      scale: { type: "string" },
      db: { type: "string" },
    },
  });
  const [name] = positionals;
  if (values.help || !name) {
    process.stdout.write(HELP);
    return;
  }
  if (name === "serve") await serve(values);
  else await command(name, values);
}

main(process.argv.slice(2)).catch((err: unknown) => {
  process.stderr.write(`mssql-sim: ${(err as Error).message}\n`);
  process.exit(2);
});
