/** A3 LOGIN7 and the login response, through real tedious over TCP. */
import { expect } from "chai";
import type { Connection } from "tedious";
import type { TdsServer } from "./server.js";
import { closeConnection, connect, StubEngine, startStubServer, TEST_PASSWORD, TEST_USER } from "./test-support.js";

describe("A3 LOGIN7", function () {
  let engine: StubEngine;
  let server: TdsServer;
  let open: Connection[];

  beforeEach(async function () {
    engine = new StubEngine();
    ({ server } = await startStubServer(engine));
    open = [];
  });

  afterEach(async function () {
    await Promise.all(open.map(closeConnection));
    await server.close();
  });

  it("logs in with SQL authentication and passes every LOGIN7 field the engine needs", async function () {
    const infos: Array<{ number: number; message: string }> = [];
    const connection = await new Promise<Connection>((resolve, reject) => {
      void import("tedious").then(({ Connection }) => {
        const c = new Connection({
          server: "127.0.0.1",
          authentication: { type: "default", options: { userName: TEST_USER, password: TEST_PASSWORD } },
          options: { port: server.address.port, encrypt: false, database: "agdb", appName: "sqlag-agent", readOnlyIntent: true },
        });
        c.on("infoMessage", (info: { number: number; message: string }) => infos.push(info));
        c.connect((error) => (error === undefined ? resolve(c) : reject(error)));
      });
    });
    open.push(connection);

    expect(engine.logins).to.have.length(1);
    const login = engine.logins[0];
    expect(login).to.include({
      userName: TEST_USER,
      password: TEST_PASSWORD,
      database: "agdb",
      appName: "sqlag-agent",
      serverName: "127.0.0.1",
      readOnlyIntent: true,
      tdsVersion: 0x74000004,
      packetSize: 4096,
    });
    expect(infos.map((info) => info.number)).to.deep.equal([5701, 5703]);
    expect(infos[0]?.message).to.equal("Changed database context to 'agdb'.");
    // ENVCHANGE 7 (A3): without it tedious leaves databaseCollation undefined.
    expect(connection.databaseCollation?.codepage).to.equal("CP1252");
    // The initial SET batch reached the engine as an ordinary batch.
    expect(engine.batches).to.have.length(1);
    expect(engine.batches[0]).to.match(/^set textsize 2147483647/m);
  });

  const failures = [
    {
      name: "a bad password → ELOGIN with the 18456 text",
      overrides: { password: "wrong" },
      message: `Login failed for user '${TEST_USER}'.`,
      attempts: 1,
    },
    {
      name: "an unknown user → ELOGIN with the 18456 text",
      overrides: { userName: "nobody" },
      message: "Login failed for user 'nobody'.",
      attempts: 1,
    },
    {
      name: "an unknown database → 4060, which tedious treats as transient and retries",
      overrides: { database: "nosuchdb", options: { maxRetriesOnTransientErrors: 2, connectionRetryInterval: 50 } },
      message: 'Cannot open database "nosuchdb" requested by the login. The login failed.',
      attempts: 3,
    },
  ];
  for (const failure of failures) {
    it(failure.name, async function () {
      const error = await connect(server.address.port, failure.overrides).then(
        () => expect.fail("login should have failed"),
        (e: Error & { code?: string }) => e,
      );
      expect(error.code).to.equal("ELOGIN");
      expect(error.message).to.equal(failure.message);
      expect(engine.logins).to.have.length(failure.attempts);
      expect(engine.batches).to.deep.equal([]);
    });
  }

  const unsupportedAuthentication = [
    {
      name: "Entra ID access token (FEDAUTH feature)",
      authentication: { type: "azure-active-directory-access-token" as const, options: { token: "not-a-real-token" } },
      message: "mssql-sim does not model: federated (Microsoft Entra / Azure AD) authentication; use SQL authentication",
    },
    {
      name: "NTLM (integrated security)",
      authentication: { type: "ntlm" as const, options: { userName: "u", password: "p", domain: "D" } },
      message: "mssql-sim does not model: integrated (SSPI/NTLM/Kerberos) authentication; use SQL authentication",
    },
  ];
  for (const u of unsupportedAuthentication) {
    it(`refuses ${u.name} loudly at login, without asking the engine`, async function () {
      const { Connection } = await import("tedious");
      const error = await new Promise<Error & { code?: string }>((resolve) => {
        const c = new Connection({ server: "127.0.0.1", authentication: u.authentication, options: { port: server.address.port, encrypt: false } });
        c.on("error", () => {});
        c.connect((e) => {
          c.close();
          resolve(e as Error & { code?: string });
        });
      });
      expect(error.code).to.equal("ELOGIN");
      expect(error.message).to.equal(u.message);
      expect(engine.logins).to.deep.equal([]);
    });
  }

  it("an engine whose login throws → ELOGIN with 'mssql-sim internal error', never a silent hang", async function () {
    engine.login = () => {
      throw new Error("model not loaded");
    };
    const error = await connect(server.address.port).then(
      () => expect.fail("login should have failed"),
      (e: Error & { code?: string }) => e,
    );
    expect(error.code).to.equal("ELOGIN");
    expect(error.message).to.equal("mssql-sim internal error: Error: model not loaded");
  });

  it("ends the engine session when the client closes the connection", async function () {
    const connection = await connect(server.address.port);
    await closeConnection(connection);
    for (let i = 0; i < 50 && engine.endedSessions.length === 0; i++) await new Promise((r) => setTimeout(r, 10));
    expect(engine.endedSessions).to.deep.equal([51]);
  });

  it("answers the default database when LOGIN7 names none", async function () {
    const databases: string[] = [];
    const connection = await new Promise<Connection>((resolve, reject) => {
      void import("tedious").then(({ Connection }) => {
        const c = new Connection({
          server: "127.0.0.1",
          authentication: { type: "default", options: { userName: TEST_USER, password: TEST_PASSWORD } },
          options: { port: server.address.port, encrypt: false },
        });
        c.on("databaseChange", (name: string) => databases.push(name));
        c.connect((error) => (error === undefined ? resolve(c) : reject(error)));
      });
    });
    open.push(connection);
    expect(engine.logins[0]?.database).to.equal("");
    expect(databases).to.deep.equal(["master"]);
  });
});
