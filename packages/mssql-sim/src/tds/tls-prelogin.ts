/**
 * A2 option 2: TDS 7.x "TLS inside PRELOGIN". After the server answers ENCRYPTION=ON, the client sends its TLS
 * handshake records as the payload of PRELOGIN (0x12) messages and expects exactly one PRELOGIN message back
 * per flight. Once the handshake completes, TLS records flow directly on TCP and the TDS packets travel inside
 * them for the rest of the session.
 *
 * Node's TLS runs over any Duplex, so a server-side `tls.TLSSocket` sits on an in-memory carrier: client
 * handshake payloads are pushed into it, and what it writes back is gathered into one PRELOGIN message. The
 * flight is complete once TLS has written nothing for a whole turn of the event loop (OpenSSL produces a
 * flight while processing one input, but Node may hand it over in more than one write). Race (A2): the
 * client's first application record (LOGIN7) may follow our final flight immediately, so the switch to raw
 * TLS happens in the same turn as that flight is sent, before any further TCP bytes are read.
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
  private flushArmed = false;
  private outputSinceArmed = false;
  private secureSeen = false;
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
      // The final flight may still be on its way out of OpenSSL; it is sent (wrapped) before switching.
      this.secureSeen = true;
      this.armFlush();
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
    this.outputSinceArmed = true;
    this.armFlush();
  }

  private armFlush(): void {
    if (this.flushArmed) return;
    this.flushArmed = true;
    this.outputSinceArmed = false;
    setImmediate(() => this.flushWhenQuiet());
  }

  /** Sends the gathered flight once a turn passed without more output; switches to raw TLS after the last. */
  private flushWhenQuiet(): void {
    this.flushArmed = false;
    if (this.outputSinceArmed) {
      this.armFlush();
      return;
    }
    if (this.pendingFlight.length > 0) {
      const flight = Buffer.concat(this.pendingFlight);
      this.pendingFlight = [];
      this.hooks.sendHandshakeFlight(flight);
    }
    if (this.secureSeen && !this.established) {
      this.established = true;
      this.hooks.onEstablished();
    }
  }
}
