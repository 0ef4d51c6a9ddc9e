import { expect } from "chai";
import type { ResultItem, RpcParameter } from "@sqlag/mssql-sim/tds/engine-port";
import { StubEngine, TEST_PASSWORD, startStubServer } from "@sqlag/mssql-sim/tds/test-support";
import type { TdsServer } from "@sqlag/mssql-sim/tds/server";
import type { ServiceEndpoint } from "./endpoints.js";
import { unavailabilityWindows } from "./journal.js";
import { KeyWriter } from "./writer.js";

/** A stub SQL Server whose kv INSERTs succeed only while it is "primary". */
class KvInstance {
  readonly engine = new StubEngine();
  readonly keys = new Set<string>();
  primary = false;
  server: TdsServer | undefined;

  constructor(readonly podName: string) {
    this.engine.onRpc = (_procName: string, parameters: RpcParameter[]): ResultItem[] => {
      const key = parameters.find((parameter) => parameter.name.replace(/^@/, "") === "k")?.value;
      if (!this.primary) {
        // SQL Server's answer to a write on a read-only secondary database.
        return [
          { kind: "error", number: 3906, state: 1, severity: 16, message: "Failed to update database \"agdb\" because the database is read-only." },
          { kind: "done", error: true },
        ];
      }
      this.keys.add(String(key));
      return [{ kind: "done", rowCount: 1 }];
    };
  }

  async start(): Promise<ServiceEndpoint> {
    this.server = (await startStubServer(this.engine)).server;
    return { address: this.server.address.host, port: this.server.address.port, podName: this.podName, ready: true };
  }
}

async function until(what: string, predicate: () => boolean): Promise<void> {
  const giveUpAt = performance.now() + 30_000;
  while (!predicate()) {
    if (performance.now() > giveUpAt) throw new Error(`gave up waiting for: ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

describe("KeyWriter (tedious against stub TDS servers)", function () {
  this.timeout(60_000);
  const instances = [new KvInstance("ag-0"), new KvInstance("ag-1")];
  const endpoints: ServiceEndpoint[] = [];

  before(async () => {
    for (const instance of instances) endpoints.push(await instance.start());
  });
  after(async () => {
    for (const instance of instances) await instance.server?.close();
  });

  it("journals acknowledged writes, survives a failover by re-resolving, and never loses an acknowledged key", async () => {
    const [first, second] = instances as [KvInstance, KvInstance];
    let routed: ServiceEndpoint[] = [];
    first.primary = true;
    routed = [endpoints[0] as ServiceEndpoint];
    const writer = new KeyWriter({
      namespace: "ns",
      serviceName: "ag-rw",
      database: "agdb",
      password: TEST_PASSWORD,
      encrypt: false,
      keyPrefix: "run1",
      retryDelayMs: 20,
      resolveEndpoints: async () => routed,
    });
    writer.start();
    await until("writes on ag-0", () => writer.journal.acknowledged.length >= 5);
    // Failover: ag-0 turns read-only, ag-1 becomes writable, and for a moment the Service lists nobody.
    first.primary = false;
    routed = [];
    await until("a failed write and a failed resolve", () => writer.journal.failures.some((failure) => failure.stage === "resolve"));
    second.primary = true;
    routed = [endpoints[1] as ServiceEndpoint];
    await until("writes on ag-1", () => writer.journal.acknowledged.some((write) => write.podName === "ag-1" && write.key !== ""));
    await until("more writes on ag-1", () => writer.journal.acknowledged.filter((write) => write.podName === "ag-1").length >= 5);
    const journal = await writer.stop();

    const acknowledgedKeys = journal.acknowledged.map((write) => write.key);
    expect(new Set(acknowledgedKeys).size, "keys are unique").to.equal(acknowledgedKeys.length);
    for (const write of journal.acknowledged) {
      const instance = write.podName === "ag-0" ? first : second;
      expect(instance.keys.has(write.key), `${write.key} acknowledged by ${write.podName ?? "?"}`).to.equal(true);
    }
    const rejected = journal.failures.find((failure) => failure.stage === "write");
    expect(rejected).to.include({ errorNumber: 3906, ambiguous: false });
    expect(rejected?.endpoint).to.equal(`${endpoints[0]?.address ?? ""}:${endpoints[0]?.port ?? 0}`);
    expect(journal.stoppedAtMs).to.be.a("number");
    const availability = unavailabilityWindows(journal, 0);
    expect(availability.acknowledgedCount).to.equal(journal.acknowledged.length);
  });
});
