/**
 * Test support: a byte-level TDS client for what tedious cannot be made to send on purpose (odd packet splits,
 * IGNORE, an ATTENTION while idle, unknown packet types). Builds PRELOGIN and LOGIN7 by hand from A2/A3.
 */
import net from "node:net";
import { encodeLoginPassword } from "./login7.js";
import { MessageReassembler } from "./packets.js";
import type { TdsMessage } from "./packets.js";
import { PacketStatus, PacketType, TDS_VERSION_7_4 } from "./protocol.js";
import { ByteWriter } from "./wire.js";

export class RawTdsClient {
  private readonly reader = new MessageReassembler();
  private readonly received: TdsMessage[] = [];
  private waiter: (() => void) | undefined;
  private ended = false;

  private constructor(readonly socket: net.Socket) {
    socket.on("data", (chunk: Buffer) => {
      this.received.push(...this.reader.push(chunk));
      this.waiter?.();
    });
    socket.on("close", () => {
      this.ended = true;
      this.waiter?.();
    });
    socket.on("error", () => {});
  }

  static connect(port: number): Promise<RawTdsClient> {
    return new Promise((resolve, reject) => {
      const socket = net.connect(port, "127.0.0.1", () => resolve(new RawTdsClient(socket)));
      socket.once("error", reject);
    });
  }

  /** Sends `payload` as one message split into packets carrying at most `chunkBytes` of payload each. */
  send(type: number, payload: Buffer, options: { chunkBytes?: number; lastStatus?: number; firstStatus?: number } = {}): void {
    const chunkBytes = options.chunkBytes ?? 4088;
    let offset = 0;
    let packetId = 1;
    do {
      const body = payload.subarray(offset, offset + chunkBytes);
      offset += body.length;
      const last = offset >= payload.length;
      let status = last ? (options.lastStatus ?? PacketStatus.EndOfMessage) : PacketStatus.Normal;
      if (packetId === 1) status |= options.firstStatus ?? 0;
      const header = Buffer.from([type, status, 0, 0, 0, 0, packetId++ & 0xff, 0]);
      header.writeUInt16BE(8 + body.length, 2);
      this.socket.write(Buffer.concat([header, body]));
    } while (offset < payload.length);
  }

  /** Writes raw bytes, e.g. a packet cut in the middle of its header. */
  writeBytes(bytes: Buffer): void {
    this.socket.write(bytes);
  }

  /** Resolves with the next complete response message, or rejects when the socket closes first. */
  async nextMessage(timeoutMs = 5000): Promise<TdsMessage> {
    const deadline = Date.now() + timeoutMs;
    while (this.received.length === 0) {
      if (this.ended) throw new Error("connection closed before a response message arrived");
      const remaining = deadline - Date.now();
      if (remaining <= 0) throw new Error(`no response message within ${timeoutMs} ms`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, remaining);
        this.waiter = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      this.waiter = undefined;
    }
    return this.received.shift() as TdsMessage;
  }

  /** PRELOGIN (encryption NOT_SUP) + LOGIN7; resolves with the login response message. */
  async login(userName: string, password: string, database: string): Promise<TdsMessage> {
    this.send(PacketType.PreLogin, buildPreLogin());
    await this.nextMessage();
    this.send(PacketType.Login7, buildLogin7({ userName, password, database }));
    return this.nextMessage();
  }

  close(): void {
    this.socket.destroy();
  }
}

/** A2: VERSION, ENCRYPTION = NOT_SUP, terminator. */
export function buildPreLogin(encryption = 0x02): Buffer {
  const out = new ByteWriter(32);
  out.u8(0x00).u16be(11).u16be(6);
  out.u8(0x01).u16be(17).u16be(1);
  out.u8(0xff);
  out.bytes(Buffer.from([1, 0, 0, 0, 0, 0]));
  out.u8(encryption);
  return out.toBuffer();
}

/** A3: a minimal LOGIN7 (SQL authentication, TDS 7.4, no FeatureExt). */
export function buildLogin7(fields: { userName: string; password: string; database: string; tdsVersion?: number }): Buffer {
  const strings: Array<[string | Buffer, "text" | "password" | "bytes"]> = [
    ["raw-client-host", "text"],
    [fields.userName, "text"],
    [fields.password, "password"],
    ["raw-client", "text"],
    ["127.0.0.1", "text"],
  ];
  const header = new ByteWriter(94);
  const data = new ByteWriter(256);
  const fixedLength = 94;
  header.u32le(0); // patched below
  header.u32le(fields.tdsVersion ?? TDS_VERSION_7_4).u32le(4096).u32le(0).u32le(process.pid).u32le(0);
  header.u8(0xe0).u8(0x03).u8(0x00).u8(0x00).i32le(0).u32le(0x0409);
  const field = (value: string | Buffer, kind: "text" | "password" | "bytes"): void => {
    const bytes = kind === "password" ? encodeLoginPassword(value as string) : Buffer.from(value as string, "utf16le");
    header.u16le(fixedLength + data.length).u16le(bytes.length / 2);
    data.bytes(bytes);
  };
  for (const [value, kind] of strings) field(value, kind);
  header.u16le(fixedLength + data.length).u16le(0); // extension: none
  field("raw-client-lib", "text");
  field("", "text"); // language
  field(fields.database, "text");
  header.bytes(Buffer.from([1, 2, 3, 4, 5, 6]));
  header.u16le(0).u16le(0); // SSPI
  header.u16le(0).u16le(0); // AtchDBFile
  header.u16le(0).u16le(0); // ChangePassword
  header.u32le(0); // cbSSPILong
  const payload = Buffer.concat([header.view(), data.view()]);
  payload.writeUInt32LE(payload.length, 0);
  return payload;
}

/** A6: ALL_HEADERS with one transaction descriptor header, then the UCS-2 batch text. */
export function buildSqlBatch(sql: string): Buffer {
  const out = new ByteWriter(64 + sql.length * 2);
  out.u32le(22).u32le(18).u16le(2).bytes(Buffer.alloc(8)).u32le(1);
  out.ucs2(sql);
  return out.toBuffer();
}

/** Reads the token types and DONE statuses of a response, for assertions on simple token streams. */
export function doneStatuses(payload: Buffer): number[] {
  const statuses: number[] = [];
  for (let offset = 0; offset < payload.length; ) {
    const token = payload[offset] as number;
    if (token === 0xfd || token === 0xfe || token === 0xff) {
      statuses.push(payload.readUInt16LE(offset + 1));
      offset += 13;
    } else if (token === 0xaa || token === 0xab || token === 0xe3 || token === 0xad) {
      offset += 3 + payload.readUInt16LE(offset + 1);
    } else {
      throw new Error(`doneStatuses: token 0x${token.toString(16)} not handled`);
    }
  }
  return statuses;
}

/** The ERROR token messages in a response (token 0xAA). */
export function errorMessages(payload: Buffer): string[] {
  const messages: string[] = [];
  for (let offset = 0; offset < payload.length; ) {
    const token = payload[offset] as number;
    if (token === 0xfd || token === 0xfe || token === 0xff) {
      offset += 13;
      continue;
    }
    const length = payload.readUInt16LE(offset + 1);
    if (token === 0xaa) {
      const charCount = payload.readUInt16LE(offset + 9);
      messages.push(payload.toString("utf16le", offset + 11, offset + 11 + charCount * 2));
    }
    offset += 3 + length;
  }
  return messages;
}
