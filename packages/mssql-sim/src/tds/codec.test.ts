/** Unit tests for the byte-level pieces of the TDS layer (no sockets). */
import { expect } from "chai";
import { decodeCp1252, encodeCp1252 } from "./cp1252.js";
import { decodeLoginPassword, encodeLoginPassword } from "./login7.js";
import { MessageReassembler, MessageWriter } from "./packets.js";
import { chooseEncryption, encodePreLoginResponse, parsePreLogin } from "./prelogin.js";
import { Encryption, PacketStatus, PacketType } from "./protocol.js";
import { guidFromWire, guidToWire, toDateTime2Parts, toDateTimeParts, toScaledInteger } from "./values.js";
import { ByteWriter } from "./wire.js";

const never = (why: string): never => {
  throw new Error(why);
};

describe("TDS codec units", function () {
  it("ByteWriter grows across many writes without losing bytes", function () {
    const out = new ByteWriter(2);
    for (let i = 0; i < 1000; i++) out.u8(i & 0xff).u16le(i).u32le(i);
    const bytes = out.view();
    expect(bytes.length).to.equal(7000);
    for (let i = 0; i < 1000; i++) {
      expect(bytes[i * 7]).to.equal(i & 0xff);
      expect(bytes.readUInt16LE(i * 7 + 1)).to.equal(i);
      expect(bytes.readUInt32LE(i * 7 + 3)).to.equal(i);
    }
  });

  const passwords = ["", "a", "Sim-Passw0rd!é", "✓ unicode ✓"];
  for (const password of passwords) {
    it(`A3 password obfuscation round trip: ${JSON.stringify(password)}`, function () {
      expect(decodeLoginPassword(encodeLoginPassword(password))).to.equal(password);
    });
  }

  it("A3 password obfuscation matches the documented byte transform (swap nibbles, XOR 0xA5)", function () {
    // 'a' = 0x61 0x00 → swap → 0x16 0x00 → XOR → 0xB3 0xA5
    expect([...encodeLoginPassword("a")]).to.deep.equal([0xb3, 0xa5]);
  });

  it("A1 MessageWriter splits at the packet size, EOM only on the last packet, ids increment", function () {
    const packets: Buffer[] = [];
    const writer = new MessageWriter((p) => packets.push(p), 512, 51);
    writer.write(Buffer.alloc(1200, 1));
    writer.end();
    expect(packets.map((p) => p.readUInt16BE(2))).to.deep.equal([512, 512, 200]);
    expect(packets.map((p) => p[1])).to.deep.equal([0, 0, PacketStatus.EndOfMessage]);
    expect(packets.map((p) => p[6])).to.deep.equal([1, 2, 3]);
    expect(packets.every((p) => p.readUInt16BE(4) === 51 && p[0] === PacketType.TabularResult)).to.equal(true);
  });

  it("A1 MessageWriter flush sends a partial packet without EOM; an empty message is one header-only EOM packet", function () {
    const packets: Buffer[] = [];
    const writer = new MessageWriter((p) => packets.push(p), 4096, 0);
    writer.write(Buffer.from([1, 2, 3]));
    writer.flush();
    writer.end();
    expect(packets.map((p) => [p.length, p[1]])).to.deep.equal([
      [11, 0],
      [8, 1],
    ]);
  });

  it("A1 MessageReassembler joins packets until EOM and reports RESETCONNECTION and IGNORE", function () {
    const packet = (status: number, body: number[]): Buffer => {
      const header = Buffer.from([PacketType.SqlBatch, status, 0, 8 + body.length, 0, 0, 1, 0]);
      return Buffer.concat([header, Buffer.from(body)]);
    };
    const reader = new MessageReassembler();
    const wire = Buffer.concat([
      packet(PacketStatus.ResetConnection, [1, 2]),
      packet(PacketStatus.EndOfMessage, [3]),
      packet(PacketStatus.EndOfMessage | PacketStatus.Ignore, [9]),
    ]);
    const messages = [...wire].flatMap((byte) => reader.push(Buffer.from([byte])));
    expect(messages.map((m) => [[...m.payload], m.resetConnection, m.ignored])).to.deep.equal([
      [[1, 2, 3], true, false],
      [[9], false, true],
    ]);
  });

  it("A2 PRELOGIN response round-trips through the option-table parser", function () {
    const response = encodePreLoginResponse({ version: { major: 16, minor: 0, build: 4135 }, encryption: Encryption.On });
    expect(parsePreLogin(response).encryption).to.equal(Encryption.On);
    expect([...response.subarray(0, 5)]).to.deep.equal([0x00, 0x00, 26, 0x00, 6]);
  });

  const matrix = [
    { client: Encryption.On, certificate: true, answer: Encryption.On },
    { client: Encryption.Off, certificate: true, answer: Encryption.On },
    { client: Encryption.Required, certificate: true, answer: Encryption.On },
    { client: Encryption.NotSupported, certificate: true, answer: Encryption.NotSupported },
    { client: Encryption.On, certificate: false, answer: Encryption.NotSupported },
    { client: Encryption.NotSupported, certificate: false, answer: Encryption.NotSupported },
  ];
  for (const m of matrix) {
    it(`A2 encryption matrix: client ${m.client}, certificate ${m.certificate} → ${m.answer}`, function () {
      expect(chooseEncryption({ encryption: m.client, mars: false }, m.certificate)).to.equal(m.answer);
    });
  }

  it("A5 GUID byte order: first three groups little-endian, the rest as written", function () {
    const wire = guidToWire("00112233-4455-6677-8899-aabbccddeeff", never);
    expect(wire.toString("hex")).to.equal("33221100554477668899aabbccddeeff");
    expect(guidFromWire(wire)).to.equal("00112233-4455-6677-8899-AABBCCDDEEFF");
  });

  const scaled = [
    { value: "12345.67" as const, scale: 2, expected: 1234567n },
    { value: "-0.005" as const, scale: 2, expected: -1n },
    { value: "7" as const, scale: 3, expected: 7000n },
    { value: 1.5, scale: 0, expected: 2n },
    { value: 38000000012300001n, scale: 0, expected: 38000000012300001n },
  ];
  for (const s of scaled) {
    it(`A5 numeric scaling: ${String(s.value)} at scale ${s.scale}`, function () {
      expect(toScaledInteger(s.value, s.scale, never)).to.equal(s.expected);
    });
  }

  it("A5 DATETIME: days since 1900 and 1/300 s ticks; DATETIME2: 10^-s units and days since 0001", function () {
    expect(toDateTimeParts(new Date("1900-01-02T00:00:01.000Z"))).to.deep.equal({ days: 1, ticks: 300 });
    expect(toDateTime2Parts(new Date("0001-01-02T00:00:00.001Z"), 7)).to.deep.equal({ days: 1, timeUnits: 10_000n });
    expect(toDateTime2Parts(new Date("2000-01-01T23:59:59.999Z"), 0).timeUnits).to.equal(0n);
  });

  it("code page 1252: the euro sign and friends, '?' for what it cannot hold", function () {
    expect([...encodeCp1252("é€’✓")]).to.deep.equal([0xe9, 0x80, 0x92, 0x3f]);
    expect(decodeCp1252(Buffer.from([0xe9, 0x80, 0x92]))).to.equal("é€’");
  });
});
