/**
 * A1 (MS-TDS 2.2.3.1): packet framing. Incoming bytes are reassembled into messages (packets up to and
 * including one with EOM); outgoing messages are split into packets no larger than the negotiated size.
 */
import { TdsProtocolError } from "./errors.js";
import { MAX_PACKET_LENGTH, PACKET_HEADER_LENGTH, PacketStatus, PacketType } from "./protocol.js";

export interface TdsMessage {
  /** Type of the first packet (A1: clients do not mix types within a message). */
  type: number;
  /** A1: RESETCONNECTION or RESETCONNECTIONSKIPTRAN on the first packet, i.e. tedious `connection.reset()`. */
  resetConnection: boolean;
  /** A1: the last packet carried IGNORE|EOM: the client abandoned this request mid-send. */
  ignored: boolean;
  payload: Buffer;
}

/** A request bigger than this is refused rather than buffered without bound. */
const MAX_MESSAGE_BYTES = 64 * 1024 * 1024;

/** Turns a byte stream into complete TDS messages. */
export class MessageReassembler {
  private unparsed: Buffer = Buffer.alloc(0);
  private parts: Buffer[] = [];
  private partsLength = 0;
  private messageType = -1;
  private messageResets = false;

  /** Feeds received bytes; returns the messages they completed, in order. */
  push(chunk: Buffer): TdsMessage[] {
    this.unparsed = this.unparsed.length === 0 ? chunk : Buffer.concat([this.unparsed, chunk]);
    const completed: TdsMessage[] = [];
    while (this.unparsed.length >= PACKET_HEADER_LENGTH) {
      const packetLength = this.unparsed.readUInt16BE(2);
      if (packetLength < PACKET_HEADER_LENGTH) {
        throw new TdsProtocolError(`packet length ${packetLength} is shorter than the 8-byte header (A1)`);
      }
      if (this.unparsed.length < packetLength) break;
      const type = this.unparsed[0] as number;
      const status = this.unparsed[1] as number;
      const body = this.unparsed.subarray(PACKET_HEADER_LENGTH, packetLength);
      this.unparsed = this.unparsed.subarray(packetLength);

      if (this.messageType < 0) {
        this.messageType = type;
        this.messageResets =
          (status & (PacketStatus.ResetConnection | PacketStatus.ResetConnectionSkipTransaction)) !== 0;
      }
      this.parts.push(body);
      this.partsLength += body.length;
      if (this.partsLength > MAX_MESSAGE_BYTES) {
        throw new TdsProtocolError(`message exceeds ${MAX_MESSAGE_BYTES} bytes`);
      }
      if ((status & PacketStatus.EndOfMessage) !== 0) {
        completed.push({
          type: this.messageType,
          resetConnection: this.messageResets,
          ignored: (status & PacketStatus.Ignore) !== 0,
          payload: this.parts.length === 1 ? (this.parts[0] as Buffer) : Buffer.concat(this.parts, this.partsLength),
        });
        this.parts = [];
        this.partsLength = 0;
        this.messageType = -1;
        this.messageResets = false;
      }
    }
    return completed;
  }

  /** Bytes received after the last complete packet (used when the transport switches to raw TLS, A2). */
  takeUnparsed(): Buffer {
    const rest = this.unparsed;
    this.unparsed = Buffer.alloc(0);
    return rest;
  }
}

/**
 * Writes one response message as packets of at most `packetSize` bytes. Full packets go out as soon as they
 * fill; `flush()` sends a partial packet without EOM so a streaming client sees rows before the message ends
 * (A1 "Streaming results"); `end()` sends the rest with EOM.
 */
export class MessageWriter {
  private pending: Buffer[] = [];
  private pendingLength = 0;
  private packetId = 1;
  private ended = false;
  private readonly maxPayload: number;

  constructor(
    private readonly sink: (packet: Buffer) => void,
    packetSize: number,
    private readonly spid: number,
    private readonly type: number = PacketType.TabularResult,
  ) {
    this.maxPayload = Math.min(packetSize, MAX_PACKET_LENGTH) - PACKET_HEADER_LENGTH;
  }

  get isEnded(): boolean {
    return this.ended;
  }

  write(data: Buffer): void {
    if (this.ended) throw new Error("write after the response message ended");
    if (data.length === 0) return;
    this.pending.push(data);
    this.pendingLength += data.length;
    // Keep at least one byte back so the EOM packet is never empty unless the whole message is.
    while (this.pendingLength > this.maxPayload) this.emit(this.maxPayload, PacketStatus.Normal);
  }

  flush(): void {
    if (this.ended || this.pendingLength === 0) return;
    this.emit(this.pendingLength, PacketStatus.Normal);
  }

  end(): void {
    if (this.ended) return;
    this.emit(this.pendingLength, PacketStatus.EndOfMessage);
    this.ended = true;
  }

  private emit(payloadLength: number, status: number): void {
    const packet = Buffer.allocUnsafe(PACKET_HEADER_LENGTH + payloadLength);
    packet[0] = this.type;
    packet[1] = status;
    packet.writeUInt16BE(PACKET_HEADER_LENGTH + payloadLength, 2);
    packet.writeUInt16BE(this.spid & 0xffff, 4);
    packet[6] = this.packetId;
    packet[7] = 0;
    this.packetId = (this.packetId + 1) & 0xff;

    let copied = 0;
    while (copied < payloadLength) {
      const head = this.pending[0] as Buffer;
      const take = Math.min(head.length, payloadLength - copied);
      head.copy(packet, PACKET_HEADER_LENGTH + copied, 0, take);
      copied += take;
      if (take === head.length) this.pending.shift();
      else this.pending[0] = head.subarray(take);
    }
    this.pendingLength -= payloadLength;
    this.sink(packet);
  }
}
