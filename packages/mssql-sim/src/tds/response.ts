/**
 * A7: turns the engine's `ResultItem`s for one request into the token stream SQL Server would send, written
 * as it arrives (A1 streaming) into one response message.
 *
 * Batch (A7): one DONE per statement, MORE on all but the last, COUNT when a row count is known, ERROR when an
 * error was raised since the previous DONE. Because a statement's DONE can only be marked "last" once the
 * engine's iterable ends, the most recent DONE is held back until the next item or the end.
 * RPC (A7): DONEINPROC (MORE) per statement, then RETURNSTATUS (0, or 1 after an error) and a final DONEPROC.
 * A batch statement the engine marks `inProc` (a procedure EXECuted from the batch) is a DONEINPROC sent at once.
 */
import type { ResultItem } from "./engine-port.js";
import type { MessageWriter } from "./packets.js";
import { DoneStatus, EnvChangeType, TokenType } from "./protocol.js";
import { writeColMetadata, writeDone, writeEnvChangeText, writeReturnStatus, writeRow, writeServerMessage } from "./tokens.js";
import { ByteWriter } from "./wire.js";

/** Errors above this severity are errors; 10 and below are informational (ERROR vs INFO semantics). */
const MAX_INFORMATIONAL_SEVERITY = 10;

export type RequestKind = "batch" | "rpc";

interface HeldDone {
  status: number;
  rowCount: number;
}

export class ResponseBuilder {
  private readonly tokens = new ByteWriter(1024);
  private heldDone: HeldDone | null = null;
  /** Rows of a result set not yet closed by a DONE (the engine may omit the `done`). */
  private openResultRows: number | null = null;
  private errorSinceDone = false;
  private anyError = false;
  private ended = false;

  constructor(
    private readonly kind: RequestKind,
    private readonly message: MessageWriter,
    private readonly serverName: string,
  ) {}

  get isEnded(): boolean {
    return this.ended;
  }

  /** Appends prepared tokens (e.g. ENVCHANGE RESET_CONNECTION) ahead of the results. */
  writeRaw(tokens: Buffer): void {
    this.message.write(tokens);
  }

  /** Encodes one item. Throws ValueEncodingError for values that do not fit their columns. */
  add(item: ResultItem): void {
    const out = this.tokens;
    out.clear();
    switch (item.kind) {
      case "rows": {
        // Encode first: a value that does not fit its column must not leave half a token or lose a held DONE.
        const resultSet = new ByteWriter(256 + item.rows.length * 32);
        writeColMetadata(resultSet, item.columns);
        for (const row of item.rows) writeRow(resultSet, item.columns, row);
        this.releaseHeldDone(out);
        if (this.openResultRows !== null) this.closeStatement(out, this.openResultRows, false);
        out.bytes(resultSet.view());
        this.openResultRows = item.rows.length;
        break;
      }
      case "done":
        this.releaseHeldDone(out);
        this.closeStatement(out, item.rowCount ?? this.openResultRows ?? undefined, item.error === true, item.inProc === true);
        break;
      case "error":
        this.releaseHeldDone(out);
        writeServerMessage(out, TokenType.Error, { ...item, serverName: this.serverName });
        if (item.severity > MAX_INFORMATIONAL_SEVERITY) {
          this.errorSinceDone = true;
          this.anyError = true;
        }
        break;
      case "info":
        this.releaseHeldDone(out);
        writeServerMessage(out, TokenType.Info, { ...item, serverName: this.serverName });
        break;
      case "envchange-database":
        this.releaseHeldDone(out);
        writeEnvChangeText(out, EnvChangeType.Database, item.newDatabase, item.oldDatabase);
        break;
      case "fatal":
        throw new Error("fatal items are handled by the connection");
    }
    this.message.write(out.toBuffer());
  }

  /** Reports an error the TDS layer raised itself (not-modelled request, bad engine value, engine crash). */
  addLayerError(message: string): void {
    this.add({ kind: "error", number: LAYER_ERROR_NUMBER, state: 1, severity: 16, message });
  }

  /** Sends a partial packet so a streaming client sees what is ready (A1). */
  flush(): void {
    if (!this.ended) this.message.flush();
  }

  /** Ends the response normally: closes the open statement and writes the final DONE / DONEPROC (A7). */
  finish(): void {
    if (this.ended) return;
    const out = this.tokens;
    out.clear();
    if (this.kind === "batch") {
      if (this.openResultRows !== null) {
        this.releaseHeldDone(out);
        this.closeStatement(out, this.openResultRows, false);
      }
      if (this.heldDone !== null) {
        writeDone(out, TokenType.Done, this.heldDone.status, this.heldDone.rowCount);
        this.heldDone = null;
      } else {
        writeDone(out, TokenType.Done, this.errorSinceDone ? DoneStatus.Error : DoneStatus.Final);
      }
    } else {
      if (this.openResultRows !== null || this.errorSinceDone) this.closeStatement(out, this.openResultRows ?? undefined, false);
      writeReturnStatus(out, this.anyError ? 1 : 0);
      writeDone(out, TokenType.DoneProc, this.anyError ? DoneStatus.Error : DoneStatus.Final);
    }
    this.end(out);
  }

  /** A9: the client sent ATTENTION: end the message now with a plain final DONE, dropping held tokens. */
  finishForAttention(): void {
    if (this.ended) return;
    const out = this.tokens;
    out.clear();
    this.heldDone = null;
    writeDone(out, this.kind === "batch" ? TokenType.Done : TokenType.DoneProc, DoneStatus.Final);
    this.end(out);
  }

  /** A8: severity >= 20 ends the session: ERROR tokens were sent; DONE(ERROR|SRVERROR) closes the message. */
  finishFatal(): void {
    if (this.ended) return;
    const out = this.tokens;
    out.clear();
    this.releaseHeldDone(out);
    writeDone(out, TokenType.Done, DoneStatus.Error | DoneStatus.ServerError);
    this.end(out);
  }

  private end(out: ByteWriter): void {
    this.message.write(out.toBuffer());
    this.message.end();
    this.ended = true;
  }

  /** Emits (RPC, or a procedure's statement inside a batch) or holds (batch) the DONE that ends one statement. */
  private closeStatement(out: ByteWriter, rowCount: number | undefined, error: boolean, inProc = false): void {
    let status = rowCount !== undefined ? DoneStatus.Count : DoneStatus.Final;
    if (error || this.errorSinceDone) status |= DoneStatus.Error;
    if (error) this.anyError = true;
    this.openResultRows = null;
    this.errorSinceDone = false;
    if (this.kind === "rpc" || inProc) {
      writeDone(out, TokenType.DoneInProc, status | DoneStatus.More, rowCount ?? 0);
    } else {
      this.heldDone = { status, rowCount: rowCount ?? 0 };
    }
  }

  /** A later item exists, so the held DONE was not the last: send it with MORE. */
  private releaseHeldDone(out: ByteWriter): void {
    if (this.heldDone === null) return;
    writeDone(out, TokenType.Done, this.heldDone.status | DoneStatus.More, this.heldDone.rowCount);
    this.heldDone = null;
  }
}

/** Error number for errors the TDS layer raises itself (RAISERROR's user-error number: no SQL Server meaning). */
export const LAYER_ERROR_NUMBER = 50000;
