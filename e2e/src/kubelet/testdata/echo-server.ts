/**
 * The program behind the test image `sqlag.test/echo:1`: a tiny HTTP server on the pod IP that lets kubelet
 * tests drive and observe container behaviour.
 *
 * Args: `--port N` (default 18080, away from ports our real programs use), `--exit-after-ms N` + `--exit-code C` (run to completion, for init
 * containers), `--term-delay-ms N` (linger after SIGTERM), `--ignore-term` (never exit on SIGTERM).
 * Paths: /healthz (liveness; 500 after /fail-liveness), /readyz (readiness; toggled by /unready and /ready),
 * /prestop (logs "prestop called"), /env (the environment as JSON — test data only), /file?path=<container
 * path> (reads a file through SQLAG_FAKE_MOUNTS), /exit?code=N.
 */
import { readFileSync } from "node:fs";
import http from "node:http";
import { resolveFakeMountPath } from "../runtime.js";

function argValue(name: string): string | undefined {
  const index = process.argv.indexOf(name);
  return index >= 0 ? process.argv[index + 1] : undefined;
}

const port = Number(argValue("--port") ?? process.env["PORT"] ?? 18080);
const host = process.env["SQLAG_FAKE_POD_IP"] ?? "127.0.0.1";
const exitAfterMs = argValue("--exit-after-ms");
const termDelayMs = Number(argValue("--term-delay-ms") ?? 0);
const ignoreTerm = process.argv.includes("--ignore-term");
let live = true;
let ready = true;

const log = (message: string): void => {
  process.stdout.write(`${new Date().toISOString()} echo: ${message}\n`);
};

if (exitAfterMs != null) {
  const exitCode = Number(argValue("--exit-code") ?? 0);
  log(`running to completion in ${exitAfterMs} ms with exit code ${exitCode}`);
  setTimeout(() => process.exit(exitCode), Number(exitAfterMs));
} else {
  const server = http.createServer((request, response) => {
    const url = new URL(request.url ?? "/", `http://${host}`);
    const reply = (status: number, body: string): void => {
      response.writeHead(status, { "content-type": "text/plain" });
      response.end(body);
    };
    switch (url.pathname) {
      case "/healthz":
        return reply(live ? 200 : 500, live ? "ok" : "liveness failing");
      case "/readyz":
        return reply(ready ? 200 : 503, ready ? "ready" : "not ready");
      case "/fail-liveness":
        live = false;
        log("liveness will fail");
        return reply(200, "ok");
      case "/unready":
        ready = false;
        return reply(200, "ok");
      case "/ready":
        ready = true;
        return reply(200, "ok");
      case "/prestop":
        log("prestop called");
        return reply(200, "ok");
      case "/env":
        response.writeHead(200, { "content-type": "application/json" });
        return response.end(JSON.stringify(process.env));
      case "/file": {
        const mounts = JSON.parse(process.env["SQLAG_FAKE_MOUNTS"] ?? "{}") as Record<string, string>;
        const hostPath = resolveFakeMountPath(mounts, url.searchParams.get("path") ?? "");
        if (hostPath == null) return reply(404, "no mount covers that path");
        try {
          return reply(200, readFileSync(hostPath, "utf8"));
        } catch {
          return reply(404, "no such file");
        }
      }
      case "/exit":
        reply(200, "bye");
        return void setTimeout(() => process.exit(Number(url.searchParams.get("code") ?? 1)), 10);
      default:
        return reply(200, `echo ${request.method ?? ""} ${url.pathname}`);
    }
  });
  server.listen(port, host, () => log(`listening on ${host}:${port}`));
  process.on("SIGTERM", () => {
    log("SIGTERM received");
    if (ignoreTerm) return;
    setTimeout(() => {
      log("exiting after SIGTERM");
      process.exit(0);
    }, termDelayMs);
  });
}
