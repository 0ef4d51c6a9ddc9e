/**
 * A2 option 2: TDS 7.x "TLS inside PRELOGIN". After the server answers ENCRYPTION=ON, the client sends its TLS
 * handshake records as the payload of PRELOGIN (0x12) messages and expects exactly one PRELOGIN message back
 * per flight. Once the handshake completes, TLS records flow directly on TCP and the TDS packets travel inside
 * them for the rest of the session.
 *
 * Node's TLS runs over any Duplex, so a server-side `tls.TLSSocket` sits on an in-memory carrier: client
 * handshake payloads are pushed into it, and what it writes back is gathered into one PRELOGIN message. The
 * flight is complete when TLS stops writing for a turn of the event loop (OpenSSL produces a whole flight while
 * processing one input). Race (A2): the client's first application record (LOGIN7) may follow our final flight
 * immediately, so the switch to raw TLS happens before that flight is sent.
 */
import { Duplex } from "node:stream";
import tls from "node:tls";

export interface PreLoginTlsHooks {
  /** Send one PRELOGIN-wrapped handshake message (one server flight). */
  sendHandshakeFlight(records: Buffer): void;
  /** Write raw TLS bytes to TCP (after the handshake). */
  writeRaw(chunk: Buffer): void;
  /** The TLS session ended cleanly: end the TCP side. */
  endRaw(): void;
  /** Decrypted bytes from the client (TDS packets). */
  onPlaintext(data: Buffer): void;
  onEstablished(): void;
  onError(error: Error): void;
}

export class PreLoginTlsBridge {
  private readonly carrier: Duplex;
  private readonly socket: tls.TLSSocket;
  private pendingFlight: Buffer[] = [];
  private flightFlushScheduled = false;
  private established = false;

  constructor(
    secureContext: tls.SecureContext,
    private readonly hooks: PreLoginTlsHooks,
  ) {
    this.carrier = new Duplex({
      read() {},
      write: (chunk: Buffer, _encoding, callback) => {
        this.onTlsOutput(chunk);
        callback();
      },
      final: (callback) => {
        hooks.endRaw();
        callback();
      },
    });
    this.socket = new tls.TLSSocket(this.carrier, { isServer: true, secureContext });
    this.socket.on("secure", () => {
      // The final flight may still be in OpenSSL's output; let it drain into pendingFlight first.
      setImmediate(() => {
        this.flushFlight();
        this.established = true;
        hooks.onEstablished();
      });
    });
    this.socket.on("data", (data: Buffer) => hooks.onPlaintext(data));
    this.socket.on("error", (error: Error) => hooks.onError(error));
  }

  get isEstablished(): boolean {
    return this.established;
  }

  /** Negotiated protocol and cipher, for the log (e.g. "TLSv1.2 ECDHE-RSA-AES256-GCM-SHA384"). */
  get description(): string {
    return `${this.socket.getProtocol() ?? "?"} ${this.socket.getCipher()?.name ?? "?"}`;
  }

  /** Payload of a client PRELOGIN message during the handshake. */
  feedHandshake(records: Buffer): void {
    this.carrier.push(records);
  }

  /** Raw TCP bytes after the handshake. */
  feedRaw(chunk: Buffer): void {
    if (chunk.length > 0) this.carrier.push(chunk);
  }

  /** Application data (TDS packets) to encrypt and send. */
  write(data: Buffer): void {
    this.socket.write(data);
  }

  end(): void {
    this.socket.end();
  }

  destroy(): void {
    this.socket.destroy();
    this.carrier.destroy();
  }

  private onTlsOutput(chunk: Buffer): void {
    if (this.established) {
      this.hooks.writeRaw(chunk);
      return;
    }
    this.pendingFlight.push(Buffer.from(chunk));
    if (!this.flightFlushScheduled) {
      this.flightFlushScheduled = true;
      setImmediate(() => this.flushFlight());
    }
  }

  private flushFlight(): void {
    this.flightFlushScheduled = false;
    if (this.pendingFlight.length === 0) return;
    const flight = Buffer.concat(this.pendingFlight);
    this.pendingFlight = [];
    this.hooks.sendHandshakeFlight(flight);
  }
}
