/**
 * A2 PRELOGIN and the encryption matrix: plaintext (NOT_SUP), and TDS 7.x TLS inside PRELOGIN with tedious's
 * production settings (`encrypt: true` with `trustServerCertificate`, or with the CA and a matching name).
 */
import { expect } from "chai";
import type { Connection } from "tedious";
import type { ResultItem } from "./engine-port.js";
import type { TdsServer } from "./server.js";
import { batch, closeConnection, connect, execSql, StubEngine, startStubServer } from "./test-support.js";
import { createSelfSignedCertificate } from "./tls-cert.js";
import type { SelfSignedCertificate } from "./tls-cert.js";

const bigRows = Array.from({ length: 500 }, (_, i) => [i, "t".repeat(200)]);
const bigResult: ResultItem[] = [
  { kind: "rows", columns: [{ name: "n", type: { kind: "int" } }, { name: "s", type: { kind: "nvarchar", length: 400 } }], rows: bigRows },
  { kind: "done", rowCount: bigRows.length },
];

describe("A2 PRELOGIN and encryption", function () {
  let certificate: SelfSignedCertificate;
  let engine: StubEngine;
  let open: Connection[];
  let servers: TdsServer[];

  before(function () {
    certificate = createSelfSignedCertificate("sql-0.sqlag.test", ["sql-0.sqlag.test", "localhost", "127.0.0.1"]);
  });

  beforeEach(function () {
    engine = new StubEngine();
    engine.onBatch = (sql) => (sql.startsWith("set ") ? [{ kind: "done" }] : bigResult);
    engine.onRpc = () => bigResult;
    open = [];
    servers = [];
  });

  afterEach(async function () {
    await Promise.all(open.map(closeConnection));
    await Promise.all(servers.map((server) => server.close()));
  });

  async function start(withTls: boolean): Promise<TdsServer> {
    const { server } = await startStubServer(engine, withTls ? { tls: { key: certificate.key, cert: certificate.cert } } : {});
    servers.push(server);
    return server;
  }

  async function roundTrip(connection: Connection): Promise<void> {
    open.push(connection);
    const viaBatch = await batch(connection, "SELECT big");
    expect(viaBatch.error).to.equal(undefined);
    expect(viaBatch.rows).to.deep.equal(bigRows);
    const viaRpc = await execSql(connection, `SELECT '${"q".repeat(6000)}'`);
    expect(viaRpc.rows).to.have.length(bigRows.length);
    expect(engine.rpcs.at(-1)?.parameters[0]?.value).to.equal(`SELECT '${"q".repeat(6000)}'`);
  }

  const plaintext = [
    { name: "server without a certificate, client encrypt:false → plaintext", withTls: false },
    { name: "server with a certificate, client encrypt:false → plaintext (client cannot encrypt)", withTls: true },
  ];
  for (const c of plaintext) {
    it(c.name, async function () {
      const server = await start(c.withTls);
      await roundTrip(await connect(server.address.port, { options: { encrypt: false } }));
    });
  }

  it("server without a certificate, client encrypt:true → tedious 20.3 refuses with EENCRYPT (NOT_SUP answered)", async function () {
    const server = await start(false);
    const error = await connect(server.address.port, { options: { encrypt: true, trustServerCertificate: true } }).then(
      () => expect.fail("tedious should refuse an unencrypted server"),
      (e: Error & { code?: string }) => e,
    );
    expect(error.code).to.equal("EENCRYPT");
    expect(engine.logins).to.deep.equal([]);
  });

  it("encrypt:true + trustServerCertificate:true → TLS inside PRELOGIN, then the whole session in TLS", async function () {
    const server = await start(true);
    const connection = await connect(server.address.port, { options: { encrypt: true, trustServerCertificate: true } });
    await roundTrip(connection);
    expect(engine.logins[0]?.password).to.equal("Sim-Passw0rd!é");
  });

  const trusted = [
    { name: "the IP address in the certificate", server: "127.0.0.1", serverName: undefined },
    { name: "a DNS name in the certificate via serverName", server: "127.0.0.1", serverName: "sql-0.sqlag.test" },
    { name: "localhost", server: "localhost", serverName: undefined },
  ];
  for (const t of trusted) {
    it(`encrypt:true + the CA (trustServerCertificate:false), connecting as ${t.name}`, async function () {
      const server = await start(true);
      const connection = await connect(server.address.port, {
        server: t.server,
        options: {
          encrypt: true,
          trustServerCertificate: false,
          cryptoCredentialsDetails: { ca: certificate.ca },
          ...(t.serverName === undefined ? {} : { serverName: t.serverName }),
        },
      });
      await roundTrip(connection);
    });
  }

  it("encrypt:true + the CA but a name the certificate does not carry → the client rejects the server", async function () {
    const server = await start(true);
    const error = await connect(server.address.port, {
      options: { encrypt: true, trustServerCertificate: false, cryptoCredentialsDetails: { ca: certificate.ca }, serverName: "sql-9.elsewhere.test" },
    }).then(
      () => expect.fail("the certificate does not name sql-9.elsewhere.test"),
      (e: Error & { code?: string }) => e,
    );
    expect(error.message).to.match(/sql-9\.elsewhere\.test/);
    expect(engine.logins).to.deep.equal([]);
  });

  it("encrypt:true without trusting the self-signed certificate → the client rejects the server", async function () {
    const server = await start(true);
    const error = await connect(server.address.port, { options: { encrypt: true, trustServerCertificate: false } }).then(
      () => expect.fail("an untrusted self-signed certificate must be refused"),
      (e: Error) => e,
    );
    expect(error.message).to.match(/self[- ]signed certificate/);
  });

  it("encrypt:'strict' (TDS 8.0, TLS before PRELOGIN) is refused loudly and logged", async function () {
    const { server, logLines } = await startStubServer(engine, { tls: { key: certificate.key, cert: certificate.cert } });
    servers.push(server);
    const error = await connect(server.address.port, { options: { encrypt: "strict", cryptoCredentialsDetails: { ca: certificate.ca } } }).then(
      () => expect.fail("TDS 8.0 is not modelled"),
      (e: Error & { code?: string }) => e,
    );
    expect(error.code).to.equal("ESOCKET");
    expect(error.message).to.contain("disconnected before secure TLS connection was established");
    expect(logLines.some((line) => line.includes("mssql-sim does not model: TDS 8.0 strict encryption"))).to.equal(true);
    expect(engine.logins).to.deep.equal([]);
  });

  it("TLS keeps RESETCONNECTION, ATTENTION and clean shutdown working", async function () {
    const server = await start(true);
    const connection = await connect(server.address.port, { options: { encrypt: true, trustServerCertificate: true, requestTimeout: 100 } });
    open.push(connection);
    await new Promise<void>((resolve, reject) => connection.reset((error) => (error ? reject(error) : resolve())));
    engine.onBatch = async function* (sql, signal) {
      if (sql === "SLOW") {
        await new Promise((resolve) => signal.addEventListener("abort", resolve, { once: true }));
        return;
      }
      yield* bigResult;
    };
    expect((await batch(connection, "SLOW")).error?.code).to.equal("ETIMEOUT");
    expect((await batch(connection, "SELECT big")).rows).to.have.length(bigRows.length);
    const ended = new Promise<void>((resolve) => connection.once("end", () => resolve()));
    await server.close();
    await ended;
  });
});
