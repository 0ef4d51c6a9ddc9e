/**
 * The simulator's TDS listener: accepts TCP connections and runs a `TdsConnection` per client in front of one
 * `Engine` (one simulated SQL Server instance). Also the process-level faults the admin interface needs:
 * clean shutdown, crash (RST), and freeze/thaw (SIGSTOP/SIGCONT as seen from the network).
 */
import net from "node:net";
import tls from "node:tls";
import { TdsConnection } from "./connection.js";
import type { Engine } from "./engine-port.js";

export interface TdsServerOptions {
  host: string;
  /** 0 = an ephemeral port; read the chosen one from `address`. */
  port: number;
  engine: Engine;
  /**
   * PEM key and certificate. When set, PRELOGIN answers ENCRYPT_ON to clients that offer encryption and runs
   * TLS inside PRELOGIN (A2); clients that cannot encrypt stay in plaintext. When absent, PRELOGIN answers
   * NOT_SUP.
   */
  tls?: { key: string; cert: string };
  log?: (line: string) => void;
  /** How long `close()` waits for clients to close their side before destroying sockets. Default 2000. */
  closeGraceMs?: number;
}

export interface TdsServer {
  readonly address: { host: string; port: number };
  /** Stop listening and end every connection (clean shutdown). */
  close(): Promise<void>;
  /** Crash: close the listener and reset every socket (RST), without any goodbye. */
  destroyAllConnections(): void;
  /** Like SIGSTOP: sockets stay open and keep accepting, but nothing is read or answered until `thaw()`. */
  freeze(): void;
  thaw(): void;
}

export async function startTdsServer(opts: TdsServerOptions): Promise<TdsServer> {
  const log = opts.log ?? (() => {});
  const secureContext =
    opts.tls === undefined
      ? undefined
      : // A2: tedious caps TLS-in-PRELOGIN at 1.2, and so does SQL Server for TDS 7.x.
        tls.createSecureContext({ key: opts.tls.key, cert: opts.tls.cert, minVersion: "TLSv1.2", maxVersion: "TLSv1.2" });
  const freezeState = { frozen: false };
  const connections = new Set<TdsConnection>();
  let connectionCount = 0;

  const listener = net.createServer((socket) => {
    connectionCount += 1;
    const connection = new TdsConnection(socket, { engine: opts.engine, secureContext, log, freezeState }, connectionCount);
    connections.add(connection);
    void connection.closed.then(() => connections.delete(connection));
  });
  listener.on("error", (error) => log(`TDS listener error: ${error.message}`));

  await new Promise<void>((resolve, reject) => {
    listener.once("error", reject);
    listener.listen(opts.port, opts.host, () => {
      listener.off("error", reject);
      resolve();
    });
  });
  const bound = listener.address() as net.AddressInfo;
  const address = { host: opts.host, port: bound.port };
  log(`TDS listening on ${opts.host}:${bound.port}${secureContext === undefined ? "" : " (TLS available)"}`);

  const stopListening = (): Promise<void> =>
    new Promise((resolve) => {
      if (!listener.listening) {
        resolve();
        return;
      }
      listener.close(() => resolve());
    });

  return {
    address,
    async close() {
      freezeState.frozen = false;
      const listenerClosed = stopListening();
      await Promise.all([...connections].map((connection) => connection.shutdown(opts.closeGraceMs ?? 2000)));
      await listenerClosed;
      log(`TDS listener on ${opts.host}:${bound.port} closed`);
    },
    destroyAllConnections() {
      freezeState.frozen = false;
      void stopListening();
      for (const connection of connections) connection.destroyAbruptly();
      log(`TDS listener on ${opts.host}:${bound.port} crashed: all connections reset`);
    },
    freeze() {
      if (freezeState.frozen) return;
      freezeState.frozen = true;
      for (const connection of connections) connection.freeze();
    },
    thaw() {
      if (!freezeState.frozen) return;
      freezeState.frozen = false;
      for (const connection of connections) connection.thaw();
    },
  };
}
