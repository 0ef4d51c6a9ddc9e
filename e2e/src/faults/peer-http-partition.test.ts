import { expect } from "chai";
import { procNetTcpEndpoint, socketInodeIn } from "./peer-http-partition.js";

describe("peer HTTP partition: /proc/net/tcp lookups", () => {
  const endpointCases: Array<{ name: string; address: string; port: number; expected: string }> = [
    { name: "loopback and the agent port", address: "127.0.0.1", port: 8080, expected: "0100007F:1F90" },
    { name: "a pod address, little-endian", address: "127.0.16.3", port: 43210, expected: "0310007F:A8CA" },
    { name: "an IPv4-mapped IPv6 address", address: "::ffff:127.0.2.1", port: 1, expected: "0102007F:0001" },
  ];
  for (const { name, address, port, expected } of endpointCases) {
    it(`spells ${name}`, () => expect(procNetTcpEndpoint({ address, port })).to.equal(expected));
  }

  it("rejects an address that is not IPv4", () => {
    expect(() => procNetTcpEndpoint({ address: "::1", port: 80 })).to.throw(RangeError);
  });

  const listing = [
    "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode",
    "   0: 0100007F:1F90 00000000:0000 0A 00000000:00000000 00:00000000 00000000  1000        0 111 1 0000000000000000 100 0 0 10 0",
    "   1: 0100007F:A8CA 0102007F:1F90 01 00000000:00000000 00:00000000 00000000  1000        0 222 1 0000000000000000 20 4 30 10 -1",
    "   2: 0102007F:1F90 0100007F:A8CA 01 00000000:00000000 00:00000000 00000000  1000        0 333 1 0000000000000000 20 4 30 10 -1",
    "   3: 0100007F:A8CB 0102007F:1F90 06 00000000:00000000 03:00000000 00000000     0        0 0 3 0000000000000000",
  ].join("\n");
  const lookupCases: Array<{ name: string; local: [string, number]; remote: [string, number]; expected: string | undefined }> = [
    { name: "the caller's end of a connection", local: ["127.0.0.1", 43210], remote: ["127.0.2.1", 8080], expected: "222" },
    { name: "the accepting end (mirror image)", local: ["127.0.2.1", 8080], remote: ["127.0.0.1", 43210], expected: "333" },
    { name: "no such connection", local: ["127.0.0.1", 1], remote: ["127.0.2.1", 8080], expected: undefined },
    { name: "a TIME_WAIT entry without an inode", local: ["127.0.0.1", 43211], remote: ["127.0.2.1", 8080], expected: undefined },
  ];
  for (const { name, local, remote, expected } of lookupCases) {
    it(`finds the inode of ${name}`, () => {
      expect(socketInodeIn(listing, { address: local[0], port: local[1] }, { address: remote[0], port: remote[1] })).to.equal(expected);
    });
  }
});
