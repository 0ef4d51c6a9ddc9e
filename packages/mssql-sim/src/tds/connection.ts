/**
 * One client connection: the server side of the TDS 7.4 conversation (A1–A9) in front of an `Engine`.
 *
 * States: prelogin → (tls-handshake →) login → ready. Messages other than ATTENTION are handled one at a time
 * in arrival order; ATTENTION is handled the moment it arrives because it must interrupt the request in flight
 * (A9). Every client message gets exactly one response message, and an ATTENTION gets its own DONE(ATTN)
 * message after the interrupted response has been ended.
 */
import type net from "node:net";
import type tls from "node:tls";
import type { Engine, EngineSession, LoginRequest, LoginResult, ResultItem } from "./engine-port.js";
import { NotModelledError, TdsProtocolError, ValueEncodingError } from "./errors.js";
import { parseLogin7 } from "./login7.js";
import type { Login7 } from "./login7.js";
import { MessageReassembler, MessageWriter } from "./packets.js";
import type { TdsMessage } from "./packets.js";
import { chooseEncryption, encodePreLoginResponse, parsePreLogin } from "./prelogin.js";
import {
  DEFAULT_COLLATION,
  DEFAULT_PACKET_SIZE,
  DoneStatus,
  Encryption,
  EnvChangeType,
  FeatureId,
  MAX_NEGOTIABLE_PACKET_SIZE,
  MIN_NEGOTIABLE_PACKET_SIZE,
  PacketType,
  TokenType,
} from "./protocol.js";
import { parseRpcRequest, parseSqlBatch } from "./requests.js";
import { LAYER_ERROR_NUMBER, ResponseBuilder } from "./response.js";
import type { RequestKind } from "./response.js";
import { PreLoginTlsBridge } from "./tls-prelogin.js";
import {
  writeDone,
  writeEnvChangeBytes,
  writeEnvChangeText,
  writeFeatureExtAck,
  writeLoginAck,
  writeServerMessage,
} from "./tokens.js";
import { ByteWriter } from "./wire.js";

type ConnectionState = "prelogin" | "tls-handshake" | "login" | "ready" | "login-failed" | "closed";

export interface ConnectionContext {
  engine: Engine;
  secureContext: tls.SecureContext | undefined;
  log: (line: string) => void;
  /** Shared with the server: while true nothing is read and nothing leaves (a SIGSTOPped process). */
  readonly freezeState: { frozen: boolean };
}

interface ActiveRequest {
  readonly kind: RequestKind;
  readonly abort: AbortController;
  readonly response: ResponseBuilder;
  /** Resolves when the response message has been ended, however it ended. */
  readonly settled: Promise<void>;
  settle(): void;
  flushScheduled: boolean;
}

export class TdsConnection {
  private state: ConnectionState = "prelogin";
  private reader = new MessageReassembler();
  private tlsBridge: PreLoginTlsBridge | undefined;
  private rawTls = false;
  private packetSize = DEFAULT_PACKET_SIZE;
  private session: EngineSession | undefined;
  private loginRequest: LoginRequest | undefined;
  private current: ActiveRequest | undefined;
  private work: Promise<void> = Promise.resolve();
  private frozenOutput: Buffer[] = [];
  private receivedAny = false;
  private readonly label: string;
  private readonly closedPromise: Promise<void>;

  constructor(
    private readonly socket: net.Socket,
    private readonly context: ConnectionContext,
    connectionNumber: number,
  ) {
    this.label = `connection ${connectionNumber} from ${socket.remoteAddress ?? "?"}:${socket.remotePort ?? "?"}`;
    socket.setNoDelay(true);
    if (context.freezeState.frozen) socket.pause();
    socket.on("data", (chunk: Buffer) => this.onTcpData(chunk));
    socket.on("error", (error: Error) => this.context.log(`${this.label}: socket error: ${error.message}`));
    this.closedPromise = new Promise((resolve) => socket.once("close", () => resolve()));
    socket.once("close", () => this.onClosed());
  }

  /** Resolves once the TCP socket is fully closed. */
  get closed(): Promise<void> {
    return this.closedPromise;
  }

  private get spid(): number {
    return this.session?.id ?? 0;
  }

  // ---- transport ---------------------------------------------------------------------------------------

  private onTcpData(chunk: Buffer): void {
    if (this.rawTls) {
      this.tlsBridge?.feedRaw(chunk);
      return;
    }
    if (this.state === "prelogin" && !this.receivedAny && chunk[0] === TLS_HANDSHAKE_RECORD) {
      // A2 option 3: TDS 8.0 (`encrypt: 'strict'`) opens with a TLS ClientHello instead of PRELOGIN.
      this.abandon(new NotModelledError("TDS 8.0 strict encryption (TLS before PRELOGIN); use encrypt: true"));
      return;
    }
    this.receivedAny = true;
    this.onTdsBytes(chunk);
  }

  private onTdsBytes(chunk: Buffer): void {
    let messages: TdsMessage[];
    try {
      messages = this.reader.push(chunk);
    } catch (error) {
      this.abandon(error);
      return;
    }
    for (const message of messages) this.onMessage(message);
  }

  /** Bytes to TCP, held back while frozen. */
  private writeRaw(chunk: Buffer): void {
    if (this.socket.destroyed || this.socket.writableEnded) return;
    if (this.context.freezeState.frozen) {
      this.frozenOutput.push(chunk);
      return;
    }
    this.socket.write(chunk);
  }

  /** A TDS packet, inside TLS once the session is encrypted. */
  private writePacket = (packet: Buffer): void => {
    if (this.state === "closed") return;
    if (this.tlsBridge?.isEstablished === true) this.tlsBridge.write(packet);
    else this.writeRaw(packet);
  };

  private newMessage(type: number = PacketType.TabularResult): MessageWriter {
    return new MessageWriter(this.writePacket, this.packetSize, this.spid, type);
  }

  /** Sends a complete message made of `tokens`. */
  private sendMessage(tokens: Buffer, type: number = PacketType.TabularResult): void {
    const message = this.newMessage(type);
    message.write(tokens);
    message.end();
  }

  freeze(): void {
    this.socket.pause();
  }

  thaw(): void {
    const held = this.frozenOutput;
    this.frozenOutput = [];
    for (const chunk of held) this.socket.write(chunk);
    this.socket.resume();
  }

  /** Clean shutdown: stop the work, end TLS and TCP, then force-close if the peer lingers. */
  shutdown(graceMs: number): Promise<void> {
    // A frozen connection's held output is dropped; reading resumes so the peer's FIN can be seen.
    this.frozenOutput = [];
    this.socket.resume();
    this.stopWork("server shutting down");
    if (this.tlsBridge?.isEstablished === true) this.tlsBridge.end();
    else this.socket.end();
    const timer = setTimeout(() => this.socket.destroy(), graceMs);
    return this.closedPromise.finally(() => clearTimeout(timer));
  }

  /** Crash: RST the socket, no goodbye. */
  destroyAbruptly(): void {
    this.frozenOutput = [];
    this.stopWork("server crashed");
    this.socket.resetAndDestroy();
  }

  /** A protocol violation: log it and drop the connection (a real server cannot resynchronise either). */
  private abandon(error: unknown): void {
    this.context.log(`${this.label}: closing: ${describeError(error)}`);
    this.stopWork("protocol error");
    this.tlsBridge?.destroy();
    this.socket.destroy();
  }

  private onClosed(): void {
    this.stopWork("connection closed");
    this.tlsBridge?.destroy();
    this.state = "closed";
  }

  private stopWork(reason: string): void {
    const request = this.current;
    if (request !== undefined) {
      this.current = undefined;
      request.abort.abort(new Error(reason));
      request.settle();
    }
    if (this.session !== undefined) {
      const session = this.session;
      this.session = undefined;
      this.context.engine.endSession(session);
    }
  }

  // ---- message dispatch --------------------------------------------------------------------------------

  private onMessage(message: TdsMessage): void {
    if (message.type === PacketType.Attention && this.state === "ready") {
      if (this.current !== undefined) this.onAttention();
      // Not busy right now: queue the acknowledgement behind any request still waiting to start (A9).
      else this.enqueue(async () => this.onAttention());
      return;
    }
    this.enqueue(() => this.handleMessage(message));
  }

  private enqueue(task: () => Promise<void>): void {
    this.work = this.work.then(task).catch((error: unknown) => this.abandon(error));
  }

  private async handleMessage(message: TdsMessage): Promise<void> {
    if (this.state === "closed") return;
    switch (this.state) {
      case "prelogin":
        if (message.type !== PacketType.PreLogin) {
          throw new TdsProtocolError(`expected PRELOGIN (0x12) first, got packet type 0x${hex(message.type)}`);
        }
        this.onPreLogin(message.payload);
        return;
      case "tls-handshake":
        if (message.type !== PacketType.PreLogin) {
          throw new TdsProtocolError(`expected a PRELOGIN-wrapped TLS handshake, got packet type 0x${hex(message.type)}`);
        }
        this.tlsBridge?.feedHandshake(message.payload);
        return;
      case "login":
        if (message.type !== PacketType.Login7) {
          this.sendLayerError(notModelledPacket(message.type, "before LOGIN7"), TokenType.Done);
          return;
        }
        await this.onLogin7(message.payload);
        return;
      case "login-failed":
        throw new TdsProtocolError("request after a failed login");
      case "ready":
        await this.onRequestMessage(message);
        return;
    }
  }

  // ---- A2 PRELOGIN and TLS ------------------------------------------------------------------------------

  private onPreLogin(payload: Buffer): void {
    let encryption: number;
    try {
      encryption = chooseEncryption(parsePreLogin(payload), this.context.secureContext !== undefined);
    } catch (error) {
      if (!(error instanceof NotModelledError)) throw error;
      this.context.log(`${this.label}: ${error.message}`);
      this.socket.destroy();
      return;
    }
    this.sendMessage(encodePreLoginResponse({ version: this.context.engine.version, encryption }));
    if (encryption === Encryption.On && this.context.secureContext !== undefined) {
      this.state = "tls-handshake";
      this.startTls(this.context.secureContext);
    } else {
      this.state = "login";
    }
  }

  private startTls(secureContext: tls.SecureContext): void {
    this.tlsBridge = new PreLoginTlsBridge(secureContext, {
      sendHandshakeFlight: (records) => this.sendMessage(records, PacketType.PreLogin),
      writeRaw: (chunk) => this.writeRaw(chunk),
      endRaw: () => this.socket.end(),
      onPlaintext: (data) => this.onTdsBytes(data),
      onEstablished: () => {
        // From now on TCP carries raw TLS; anything already received past the last PRELOGIN packet is TLS too.
        this.rawTls = true;
        const early = this.reader.takeUnparsed();
        this.reader = new MessageReassembler();
        this.state = "login";
        this.context.log(`${this.label}: TLS established inside PRELOGIN (${this.tlsBridge?.description ?? "?"})`);
        this.tlsBridge?.feedRaw(early);
      },
      onError: (error) => this.abandon(new TdsProtocolError(`TLS: ${error.message}`, { cause: error })),
    });
  }

  // ---- A3 LOGIN7 ---------------------------------------------------------------------------------------

  private async onLogin7(payload: Buffer): Promise<void> {
    let login: Login7;
    try {
      login = parseLogin7(payload);
    } catch (error) {
      if (!(error instanceof NotModelledError)) throw error;
      this.context.log(`${this.label}: login refused: ${error.message}`);
      this.sendLoginFailure({ number: LAYER_ERROR_NUMBER, state: 1, severity: 16, message: error.message });
      return;
    }
    const request: LoginRequest = {
      userName: login.userName,
      password: login.password,
      database: login.database,
      appName: login.appName,
      hostName: login.hostName,
      serverName: login.serverName,
      readOnlyIntent: login.readOnlyIntent,
      tdsVersion: login.tdsVersion,
      packetSize: login.packetSize,
    };
    let result: LoginResult;
    try {
      result = await this.context.engine.login(request);
    } catch (error) {
      this.context.log(`${this.label}: engine login failed: ${describeError(error)}`);
      this.sendLoginFailure({ number: LAYER_ERROR_NUMBER, state: 1, severity: 16, message: engineFailureMessage(error) });
      return;
    }
    if (this.state === "closed") {
      if (result.ok) this.context.engine.endSession(result.session);
      return;
    }
    if (!result.ok) {
      this.sendLoginFailure(result);
      return;
    }
    this.session = result.session;
    this.loginRequest = request;
    const negotiatedPacketSize = negotiatePacketSize(login.packetSize);
    this.sendLoginSuccess(result.database, negotiatedPacketSize, login);
    this.packetSize = negotiatedPacketSize;
    this.state = "ready";
  }

  /**
   * A3 realistic login sequence: ENVCHANGE database, INFO 5701, ENVCHANGE collation, ENVCHANGE language,
   * INFO 5703, LOGINACK, [FEATUREEXTACK UTF8_SUPPORT], ENVCHANGE packet size, DONE.
   */
  private sendLoginSuccess(database: string, packetSize: number, login: Login7): void {
    const serverName = this.context.engine.serverName;
    const out = new ByteWriter(512);
    writeEnvChangeText(out, EnvChangeType.Database, database, "master");
    writeServerMessage(out, TokenType.Info, {
      number: 5701,
      state: 2,
      severity: 0,
      message: `Changed database context to '${database}'.`,
      serverName,
    });
    writeEnvChangeBytes(out, EnvChangeType.SqlCollation, DEFAULT_COLLATION, Buffer.alloc(0));
    writeEnvChangeText(out, EnvChangeType.Language, "us_english", "");
    writeServerMessage(out, TokenType.Info, {
      number: 5703,
      state: 1,
      severity: 0,
      message: "Changed language setting to us_english.",
      serverName,
    });
    writeLoginAck(out, this.context.engine.version);
    // A3: acknowledge UTF8_SUPPORT only; an ack for any other feature alone breaks tedious.
    if (login.features.some((feature) => feature.id === FeatureId.Utf8Support)) {
      writeFeatureExtAck(out, [{ id: FeatureId.Utf8Support, data: Buffer.from([0x01]) }]);
    }
    writeEnvChangeText(out, EnvChangeType.PacketSize, String(packetSize), String(packetSize));
    writeDone(out, TokenType.Done, DoneStatus.Final);
    this.sendMessage(out.toBuffer());
  }

  /** A3 failure: ERROR + DONE(ERROR), no LOGINACK; tedious reports ELOGIN with the message. */
  private sendLoginFailure(error: { number: number; state: number; severity: number; message: string }): void {
    const out = new ByteWriter(256);
    writeServerMessage(out, TokenType.Error, { ...error, serverName: this.context.engine.serverName });
    writeDone(out, TokenType.Done, DoneStatus.Error);
    this.sendMessage(out.toBuffer());
    this.state = "login-failed";
  }

  // ---- A6/A7 requests ----------------------------------------------------------------------------------

  private async onRequestMessage(message: TdsMessage): Promise<void> {
    if (message.ignored) {
      // A1: the client abandoned this request mid-send (IGNORE|EOM): answer with a single DONE.
      const out = new ByteWriter(16);
      writeDone(out, TokenType.Done, DoneStatus.Final);
      this.sendMessage(out.toBuffer());
      return;
    }
    if (message.type !== PacketType.SqlBatch && message.type !== PacketType.Rpc) {
      this.sendLayerError(notModelledPacket(message.type, "after login"), TokenType.Done);
      return;
    }
    const kind: RequestKind = message.type === PacketType.SqlBatch ? "batch" : "rpc";
    const doneToken = kind === "batch" ? TokenType.Done : TokenType.DoneProc;

    let resetPrefix: Buffer | undefined;
    if (message.resetConnection) {
      resetPrefix = await this.resetSession();
      if (resetPrefix === undefined) return;
    }
    const session = this.session;
    if (session === undefined) return; // closed meanwhile

    let start: (signal: AbortSignal) => AsyncIterable<ResultItem>;
    try {
      if (kind === "batch") {
        const sql = parseSqlBatch(message.payload);
        start = (signal) => this.context.engine.executeBatch(session, sql, signal);
      } else {
        const rpc = parseRpcRequest(message.payload);
        start = (signal) => this.context.engine.executeRpc(session, rpc.procName, rpc.parameters, signal);
      }
    } catch (error) {
      if (!(error instanceof NotModelledError)) throw error;
      this.sendLayerError(error.message, doneToken, resetPrefix);
      return;
    }
    const abort = new AbortController();
    let items: AsyncIterable<ResultItem>;
    try {
      items = start(abort.signal);
    } catch (error) {
      this.sendLayerError(engineFailureMessage(error), doneToken, resetPrefix);
      return;
    }

    let settle!: () => void;
    const settled = new Promise<void>((resolve) => (settle = resolve));
    const request: ActiveRequest = {
      kind,
      abort,
      response: new ResponseBuilder(kind, this.newMessage(), this.context.engine.serverName),
      settled,
      settle,
      flushScheduled: false,
    };
    if (resetPrefix !== undefined) request.response.writeRaw(resetPrefix);
    this.current = request;
    void this.pump(request, items);
    // The next message waits for this response message to end, not for the engine to finish (A9: after
    // ATTENTION the engine may still be unwinding while the client already sends its next request).
    await settled;
  }

  /** Streams the engine's items into the response until it ends, ATTENTION arrives, or the socket closes. */
  private async pump(request: ActiveRequest, items: AsyncIterable<ResultItem>): Promise<void> {
    const isLive = (): boolean => this.current === request && !request.response.isEnded;
    try {
      for await (const item of items) {
        if (!isLive()) break;
        if (item.kind === "fatal") {
          request.response.finishFatal();
          this.endRequest(request);
          this.context.log(`${this.label}: fatal error (severity >= 20): closing the connection`);
          this.closeAfterFatal();
          return;
        }
        try {
          request.response.add(item);
        } catch (error) {
          if (!(error instanceof ValueEncodingError)) throw error;
          const message = `mssql-sim internal error: ${error.message}`;
          this.context.log(`${this.label}: ${message}`);
          request.response.addLayerError(message);
        }
        this.scheduleFlush(request);
      }
    } catch (error) {
      if (isLive()) {
        const message = engineFailureMessage(error);
        this.context.log(`${this.label}: engine failed: ${describeError(error)}`);
        request.response.addLayerError(message);
      }
    }
    if (isLive()) {
      request.response.finish();
      this.endRequest(request);
    }
  }

  private endRequest(request: ActiveRequest): void {
    if (this.current === request) this.current = undefined;
    request.settle();
  }

  /** Sends what is ready once the engine pauses, so streaming clients get rows as they are produced (A1). */
  private scheduleFlush(request: ActiveRequest): void {
    if (request.flushScheduled) return;
    request.flushScheduled = true;
    setImmediate(() => {
      request.flushScheduled = false;
      request.response.flush();
    });
  }

  /**
   * A9: stop the engine, end the interrupted response (DONE FINAL + EOM) if it is still open, and only then
   * acknowledge in a separate message with DONE(ATTN). Results the engine produces later are dropped.
   */
  private onAttention(): void {
    const request = this.current;
    if (request !== undefined) {
      request.abort.abort(new Error("client sent ATTENTION"));
      request.response.finishForAttention();
      this.endRequest(request);
    }
    const out = new ByteWriter(16);
    writeDone(out, TokenType.Done, DoneStatus.Attention);
    this.sendMessage(out.toBuffer());
  }

  /** A1 RESETCONNECTION: end the engine session and start a fresh one with the same credentials. */
  private async resetSession(): Promise<Buffer | undefined> {
    const loginRequest = this.loginRequest;
    if (this.session !== undefined) this.context.engine.endSession(this.session);
    this.session = undefined;
    if (loginRequest === undefined) return undefined;
    let result: LoginResult;
    try {
      result = await this.context.engine.login(loginRequest);
    } catch (error) {
      result = { ok: false, number: LAYER_ERROR_NUMBER, state: 1, severity: 16, message: engineFailureMessage(error) };
    }
    if (this.state === "closed") {
      if (result.ok) this.context.engine.endSession(result.session);
      return undefined;
    }
    if (!result.ok) {
      this.context.log(`${this.label}: session reset refused by the engine (${result.number}); closing`);
      const out = new ByteWriter(256);
      writeServerMessage(out, TokenType.Error, { ...result, serverName: this.context.engine.serverName });
      writeDone(out, TokenType.Done, DoneStatus.Error);
      this.sendMessage(out.toBuffer());
      this.closeAfterFatal();
      return undefined;
    }
    this.session = result.session;
    const out = new ByteWriter(16);
    writeEnvChangeBytes(out, EnvChangeType.ResetConnection, Buffer.alloc(0), Buffer.alloc(0));
    return out.toBuffer();
  }

  /** One-message answer carrying an ERROR the TDS layer raised (not modelled), ended with a DONE(ERROR). */
  private sendLayerError(
    message: string,
    doneToken: typeof TokenType.Done | typeof TokenType.DoneProc,
    prefix?: Buffer,
  ): void {
    if (!message.startsWith("mssql-sim")) message = `mssql-sim internal error: ${message}`;
    this.context.log(`${this.label}: ${message}`);
    const out = new ByteWriter(256);
    if (prefix !== undefined) out.bytes(prefix);
    writeServerMessage(out, TokenType.Error, {
      number: LAYER_ERROR_NUMBER,
      state: 1,
      severity: 16,
      message,
      serverName: this.context.engine.serverName,
    });
    writeDone(out, doneToken, DoneStatus.Error);
    this.sendMessage(out.toBuffer());
  }

  /** A8: a severity >= 20 error ends the session after the pending response has gone out. */
  private closeAfterFatal(): void {
    this.stopWork("fatal error");
    this.state = "closed";
    if (this.tlsBridge?.isEstablished === true) this.tlsBridge.end();
    else this.socket.end();
  }
}

/** TLS record type of a handshake (ClientHello); never a valid first byte of a TDS packet type. */
const TLS_HANDSHAKE_RECORD = 0x16;

function negotiatePacketSize(requested: number): number {
  if (requested === 0) return DEFAULT_PACKET_SIZE;
  return Math.min(Math.max(requested, MIN_NEGOTIABLE_PACKET_SIZE), MAX_NEGOTIABLE_PACKET_SIZE);
}

const PACKET_TYPE_NAMES: ReadonlyMap<number, string> = new Map([
  [PacketType.BulkLoad, "bulk load"],
  [PacketType.TransactionManager, "transaction manager request (beginTransaction/commit/rollback)"],
  [PacketType.Sspi, "SSPI/NTLM authentication"],
  [PacketType.FedAuthToken, "federated authentication token"],
  [PacketType.PreLogin, "PRELOGIN"],
  [PacketType.Login7, "LOGIN7"],
]);

function notModelledPacket(type: number, when: string): string {
  const name = PACKET_TYPE_NAMES.get(type) ?? "unknown";
  return new NotModelledError(`packet type 0x${hex(type)} (${name}) ${when}`).message;
}

/** What the client sees when the engine throws instead of yielding an error item. */
function engineFailureMessage(error: unknown): string {
  return error instanceof NotModelledError ? error.message : `mssql-sim internal error: ${describeError(error)}`;
}

function hex(value: number): string {
  return value.toString(16).padStart(2, "0");
}

function describeError(error: unknown): string {
  return error instanceof Error ? `${error.name}: ${error.message}` : String(error);
}
