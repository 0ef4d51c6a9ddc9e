/**
 * One TCP connection between two instances' mirroring endpoints, framed as JSON lines. The simulator's own
 * wire format (SQL Server's is proprietary): what matters is that replication only travels over real sockets,
 * so instances can live in different processes and a SIGSTOP/partition silences them for real.
 */
import type { Socket } from "node:net";
import type { AgConfig, LogEntry, Role } from "./model.js";

export type LinkMessage =
  | { t: "hello"; ag: string; from: string; fromReplicaId: string; seq: string; thumbprint: string | null; promotedAgeMs: number; clusterType: string }
  | { t: "welcome"; from: string; thumbprint: string | null }
  | { t: "reject"; from: string; reason: "auth" | "stale-transport" | "not-a-replica" | "stale-primary" | "i-am-primary" | "endpoint-stopped"; errorNumber: number; seq?: string }
  | { t: "config"; config: AgConfig }
  | { t: "configAck"; seq: string }
  | { t: "status"; role: Role | "NOT_JOINED"; joined: boolean; createDbGranted: boolean; dbs: DbStatus[] }
  | { t: "log"; db: string; entries: LogEntry[] }
  | { t: "reset"; db: string; groupDatabaseId: string; entries: LogEntry[] }
  | { t: "seed"; db: string; groupDatabaseId: string; entries: LogEntry[] }
  | { t: "seedResult"; db: string; ok: boolean; failureState?: number; failureDesc?: string }
  | { t: "ack"; db: string; lsn: number }
  | { t: "syncState"; db: string; state: string }
  | { t: "failoverRequest"; from: string }
  | { t: "removed" }
  | { t: "ping" }
  | { t: "pong" };

export interface DbStatus {
  name: string;
  exists: boolean;
  inAg: boolean;
  suspended: boolean;
  lastLsn: number;
  lastTerm: string;
}

export class Link {
  peerServer: string | null = null;
  closed = false;
  private buffer = "";

  constructor(
    readonly socket: Socket,
    private readonly isSilenced: (peer: string | null) => boolean,
    private readonly onMessage: (link: Link, message: LinkMessage) => void,
    private readonly onClose: (link: Link) => void,
  ) {
    socket.setEncoding("utf8");
    socket.setNoDelay(true);
    socket.on("data", (chunk: string) => this.receive(chunk));
    socket.on("error", () => undefined);
    socket.on("close", () => {
      if (this.closed) return;
      this.closed = true;
      this.onClose(this);
    });
  }

  send(message: LinkMessage): void {
    if (this.closed || this.isSilenced(this.peerServer)) return;
    this.socket.write(`${JSON.stringify(message)}\n`);
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.socket.destroy();
    this.onClose(this);
  }

  private receive(chunk: string): void {
    this.buffer += chunk;
    let newline = this.buffer.indexOf("\n");
    while (newline >= 0) {
      const line = this.buffer.slice(0, newline);
      this.buffer = this.buffer.slice(newline + 1);
      newline = this.buffer.indexOf("\n");
      if (this.closed) return;
      let message: LinkMessage;
      try {
        message = JSON.parse(line) as LinkMessage;
      } catch {
        this.close();
        return;
      }
      // A partitioned peer's packets are dropped, not refused (brief: partition = silence).
      const from = message.t === "hello" ? message.from : this.peerServer;
      if (this.isSilenced(from)) continue;
      this.onMessage(this, message);
    }
  }
}
