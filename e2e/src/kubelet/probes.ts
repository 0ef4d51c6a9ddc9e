/**
 * Probe and lifecycle-hook execution against a pod's loopback IP: httpGet (2xx/3xx passes), tcpSocket
 * (connect passes), and exec for the few commands our own manifests use (there is no shell in a pod here, so
 * each known command has a handler that checks the same thing over the network). An unknown exec command
 * fails with a message naming it, so a manifest change shows up as a clear probe failure event.
 */
import net from "node:net";
import type { V1Container, V1ExecAction, V1HTTPGetAction, V1Probe, V1TCPSocketAction } from "@kubernetes/client-node";

export interface ProbeOutcome {
  readonly ok: boolean;
  readonly message: string;
}

export interface ProbeTarget {
  readonly podIp: string;
  readonly container: V1Container;
}

export interface ExecProbeHandler {
  readonly description: string;
  matches(command: readonly string[]): boolean;
  run(target: ProbeTarget, timeoutMs: number): Promise<ProbeOutcome>;
}

export function resolvePort(port: number | string | undefined, container: V1Container): number {
  if (typeof port === "number") return port;
  if (port == null) throw new Error("probe has no port");
  if (/^\d+$/.test(port)) return Number(port);
  const named = (container.ports ?? []).find((candidate) => candidate.name === port);
  if (named == null) throw new Error(`container ${container.name} has no port named "${port}"`);
  return named.containerPort;
}

export async function httpGet(action: V1HTTPGetAction, target: ProbeTarget, timeoutMs: number): Promise<ProbeOutcome> {
  const host = action.host != null && action.host !== "" ? action.host : target.podIp;
  const scheme = (action.scheme ?? "HTTP").toLowerCase();
  const port = resolvePort(action.port as number | string, target.container);
  const url = `${scheme}://${host}:${port}${action.path ?? "/"}`;
  const headers: Record<string, string> = { "User-Agent": "kube-probe/fake" };
  for (const header of action.httpHeaders ?? []) headers[header.name] = header.value;
  try {
    const response = await fetch(url, { headers, signal: AbortSignal.timeout(Math.max(1, Math.ceil(timeoutMs))), redirect: "manual" });
    await response.body?.cancel();
    const ok = response.status >= 200 && response.status < 400;
    return { ok, message: ok ? "" : `HTTP probe failed with statuscode: ${response.status}` };
  } catch (error) {
    return { ok: false, message: `Get "${url}": ${describe(error)}` };
  }
}

export function tcpConnect(host: string, port: number, timeoutMs: number): Promise<ProbeOutcome> {
  return new Promise((resolve) => {
    const socket = net.connect({ host, port });
    const finish = (outcome: ProbeOutcome): void => {
      socket.destroy();
      resolve(outcome);
    };
    socket.setTimeout(Math.max(1, Math.ceil(timeoutMs)), () => finish({ ok: false, message: `dial tcp ${host}:${port}: i/o timeout` }));
    socket.once("connect", () => finish({ ok: true, message: "" }));
    socket.once("error", (error) => finish({ ok: false, message: `dial tcp ${host}:${port}: ${describe(error)}` }));
  });
}

export function tcpSocket(action: V1TCPSocketAction, target: ProbeTarget, timeoutMs: number): Promise<ProbeOutcome> {
  const host = action.host != null && action.host !== "" ? action.host : target.podIp;
  return tcpConnect(host, resolvePort(action.port as number | string, target.container), timeoutMs);
}

/** `sqlcmd … -Q "SELECT 1"`-style liveness checks: the closest network equivalent is reaching port 1433. */
export const sqlcmdExecHandler: ExecProbeHandler = {
  description: "sqlcmd query → TCP connect to the pod's SQL port",
  matches: (command) => command.some((part) => /(^|\/)sqlcmd$/.test(part) || /\bsqlcmd\b/.test(part)),
  run: (target, timeoutMs) => {
    const port = (target.container.ports ?? []).find((candidate) => candidate.name === "mssql" || candidate.containerPort === 1433)?.containerPort ?? 1433;
    return tcpConnect(target.podIp, port, timeoutMs);
  },
};

export const defaultExecHandlers: readonly ExecProbeHandler[] = [sqlcmdExecHandler];

export async function exec(action: V1ExecAction, target: ProbeTarget, timeoutMs: number, handlers: readonly ExecProbeHandler[]): Promise<ProbeOutcome> {
  const command = action.command ?? [];
  const handler = handlers.find((candidate) => candidate.matches(command));
  if (handler == null) {
    return { ok: false, message: `exec probe command ${JSON.stringify(command)} is not supported by the fake kubelet (no process exec; add an ExecProbeHandler)` };
  }
  return handler.run(target, timeoutMs);
}

export async function runProbe(probe: V1Probe, target: ProbeTarget, timeoutMs: number, handlers: readonly ExecProbeHandler[]): Promise<ProbeOutcome> {
  if (probe.httpGet != null) return httpGet(probe.httpGet, target, timeoutMs);
  if (probe.tcpSocket != null) return tcpSocket(probe.tcpSocket, target, timeoutMs);
  if (probe.exec != null) return exec(probe.exec, target, timeoutMs, handlers);
  if (probe.grpc != null) return tcpConnect(target.podIp, probe.grpc.port, timeoutMs);
  return { ok: false, message: "probe has no handler" };
}

function describe(error: unknown): string {
  if (error instanceof Error) {
    const cause = (error as Error & { cause?: unknown }).cause;
    return cause instanceof Error ? `${error.message}: ${cause.message}` : error.message;
  }
  return String(error);
}
