/**
 * A2 (MS-TDS 2.2.6.5): PRELOGIN. The payload is an option table of 5-byte entries (token, USHORT offset BE,
 * USHORT length BE; offsets from the payload start) ended by 0xFF, followed by the option data.
 */
import { NotModelledError, TdsProtocolError } from "./errors.js";
import { Encryption, PreLoginOption } from "./protocol.js";
import { ByteReader, ByteWriter } from "./wire.js";

export interface ClientPreLogin {
  /** A2 ENCRYPTION value the client sent (Encryption.NotSupported when absent). */
  encryption: number;
  mars: boolean;
}

export function parsePreLogin(payload: Buffer): ClientPreLogin {
  const table = new ByteReader(payload, 0, "PRELOGIN");
  const result: ClientPreLogin = { encryption: Encryption.NotSupported, mars: false };
  for (;;) {
    const option = table.u8();
    if (option === PreLoginOption.Terminator) break;
    const offset = table.u16be();
    const length = table.u16be();
    if (offset + length > payload.length) {
      throw new TdsProtocolError(`PRELOGIN option 0x${option.toString(16)} points outside the payload`);
    }
    const data = payload.subarray(offset, offset + length);
    if (option === PreLoginOption.Encryption && length >= 1) result.encryption = data[0] as number;
    if (option === PreLoginOption.Mars && length >= 1) result.mars = data[0] === 1;
  }
  if ((result.encryption & Encryption.ClientCertificateBit) !== 0) {
    throw new NotModelledError("PRELOGIN ENCRYPT_CLIENT_CERT (certificate-based client authentication)");
  }
  return result;
}

/**
 * A2 encryption matrix, server side. Without a certificate we never encrypt (NOT_SUP; tedious 20.3 then
 * refuses `encrypt:true` with EENCRYPT, as against a real server without TLS). With one, a client that offers
 * or wants encryption (OFF, ON, REQ) gets ON, i.e. TLS for the whole session; OFF's "encrypt the login only"
 * is deliberately not offered. A client that cannot encrypt (NOT_SUP) stays in plaintext.
 */
export function chooseEncryption(client: ClientPreLogin, serverHasCertificate: boolean): number {
  if (!serverHasCertificate) return Encryption.NotSupported;
  return client.encryption === Encryption.NotSupported ? Encryption.NotSupported : Encryption.On;
}

export interface ServerPreLogin {
  version: { major: number; minor: number; build: number };
  encryption: number;
}

/** A2: the server's answer: VERSION, ENCRYPTION, INSTOPT (0 = instance OK), THREADID (empty), MARS (off). */
export function encodePreLoginResponse(answer: ServerPreLogin): Buffer {
  const versionData = new ByteWriter(6)
    .u8(answer.version.major)
    .u8(answer.version.minor)
    .u16be(answer.version.build)
    .u16be(0)
    .toBuffer();
  const options: Array<[number, Buffer]> = [
    [PreLoginOption.Version, versionData],
    [PreLoginOption.Encryption, Buffer.from([answer.encryption])],
    [PreLoginOption.InstOpt, Buffer.from([0x00])],
    [PreLoginOption.ThreadId, Buffer.alloc(0)],
    [PreLoginOption.Mars, Buffer.from([0x00])],
  ];
  const out = new ByteWriter(64);
  let dataOffset = options.length * 5 + 1;
  for (const [option, data] of options) {
    out.u8(option).u16be(dataOffset).u16be(data.length);
    dataOffset += data.length;
  }
  out.u8(PreLoginOption.Terminator);
  for (const [, data] of options) out.bytes(data);
  return out.toBuffer();
}
