/**
 * HTTP client for the other agents of the same AG (ARCHITECTURE §4.5, §4.9). Peers are addressed by pod IP
 * when the pod informer knows it (no dependency on cluster DNS during an incident) and by the headless-Service
 * name otherwise. Every call is bounded by the caller's signal; failures are returned, never thrown, because a
 * missing peer report is an expected input of the promotion gate and the failsafe rule.
 */
import {
  agentPaths,
  PEER_TOKEN_HEADER,
  type AgentStatus,
  type FailsafeAck,
  type FailsafeHeartbeat,
  type SequenceReport,
  type SequenceReportRequest,
} from "@sqlag/api";

export type PeerResult<T> = { ok: true; value: T } | { ok: false; error: string };

export interface PeerAddressBook {
  /** Base URL (scheme://host:port) of a peer agent, or undefined when it cannot be addressed yet. */
  baseUrl(pod: string): string | undefined;
  peerToken(): string | undefined;
}

async function call<T>(url: string, init: RequestInit, signal: AbortSignal): Promise<PeerResult<T>> {
  try {
    const res = await fetch(url, { ...init, signal });
    if (!res.ok) return { ok: false, error: `HTTP ${res.status}` };
    return { ok: true, value: (await res.json()) as T };
  } catch (e) {
    const err = e as { name?: string; message?: string; cause?: { code?: string } };
    return { ok: false, error: err.cause?.code ?? err.name ?? err.message ?? "unreachable" };
  }
}

export class PeerClient {
  constructor(private readonly addresses: PeerAddressBook) {}

  status(pod: string, signal: AbortSignal): Promise<PeerResult<AgentStatus>> {
    const base = this.addresses.baseUrl(pod);
    if (base === undefined) return Promise.resolve({ ok: false, error: "no address" });
    return call<AgentStatus>(base + agentPaths.status, { method: "GET" }, signal);
  }

  sequence(pod: string, request: SequenceReportRequest, signal: AbortSignal): Promise<PeerResult<SequenceReport>> {
    return this.post<SequenceReport>(pod, agentPaths.sequence, request, signal);
  }

  failsafe(pod: string, heartbeat: FailsafeHeartbeat, signal: AbortSignal): Promise<PeerResult<FailsafeAck>> {
    return this.post<FailsafeAck>(pod, agentPaths.failsafe, heartbeat, signal);
  }

  private post<T>(pod: string, path: string, body: unknown, signal: AbortSignal): Promise<PeerResult<T>> {
    const base = this.addresses.baseUrl(pod);
    const token = this.addresses.peerToken();
    if (base === undefined) return Promise.resolve({ ok: false, error: "no address" });
    if (token === undefined) return Promise.resolve({ ok: false, error: "no peer token yet" });
    return call<T>(base + path, { method: "POST", headers: { "content-type": "application/json", [PEER_TOKEN_HEADER]: token }, body: JSON.stringify(body) }, signal);
  }

  /** Asks every pod in parallel; each answer (or failure) keyed by pod. */
  async statusOfAll(pods: readonly string[], timeoutMs: number): Promise<Map<string, PeerResult<AgentStatus>>> {
    const signal = AbortSignal.timeout(timeoutMs);
    const results = await Promise.all(pods.map(async (pod) => [pod, await this.status(pod, signal)] as const));
    return new Map(results);
  }
}
