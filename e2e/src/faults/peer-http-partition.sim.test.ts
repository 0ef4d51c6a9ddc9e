import { expect } from "chai";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { PeerHttpPartition, type PartitionMember, type PeerCutMode } from "./peer-http-partition.js";

/** An agent stand-in that answers every chunk with "pong". */
async function startUpstream(): Promise<{ server: net.Server; port: number }> {
  const server = net.createServer((socket) => {
    socket.on("error", () => undefined);
    socket.on("data", () => socket.write("pong"));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const address = server.address();
  return { server, port: typeof address === "object" && address != null ? address.port : 0 };
}

type Outcome = "answered" | "closed" | "silent";

function exchange(host: string, port: number, silenceMs = 400): Promise<Outcome> {
  return new Promise((resolve) => {
    const socket = net.connect({ host, port });
    let settled = false;
    const finish = (outcome: Outcome): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.destroy();
      resolve(outcome);
    };
    const timer = setTimeout(() => finish("silent"), silenceMs);
    socket.on("error", () => finish("closed"));
    socket.on("close", () => finish("closed"));
    socket.on("data", () => finish("answered"));
    socket.on("connect", () => socket.write("ping"));
  });
}

describe("PeerHttpPartition (real sockets, /proc caller lookup)", function () {
  this.timeout(20_000);
  const realTable = { "pod-a.svc": "127.0.0.1", "pod-a": "127.0.0.1" };
  let dir: string;
  let dnsFilePath: string;
  let upstream: { server: net.Server; port: number };
  let partition: PeerHttpPartition | undefined;
  const resolveA = (): string => (JSON.parse(readFileSync(dnsFilePath, "utf8")) as Record<string, string>)["pod-a"] ?? "";

  beforeEach(async () => {
    dir = mkdtempSync(path.join(os.tmpdir(), "peer-partition-"));
    dnsFilePath = path.join(dir, "fake-dns.json");
    writeFileSync(dnsFilePath, JSON.stringify(realTable));
    upstream = await startUpstream();
  });
  afterEach(async () => {
    await partition?.stop();
    partition = undefined;
    await new Promise<void>((resolve) => upstream.server.close(() => resolve()));
    rmSync(dir, { recursive: true, force: true });
  });

  const start = (mode: PeerCutMode = "blackhole"): PeerHttpPartition => {
    partition = new PeerHttpPartition({ dnsFilePath, dnsTable: () => ({ ...realTable }) }, { port: upstream.port, mode, reapplyIntervalMs: 50 });
    return partition;
  };
  const otherPod = (pids: readonly number[]): PartitionMember => ({ podIp: "127.0.0.250", pids: () => pids });

  const cases: Array<{ name: string; member: () => PartitionMember; mode: PeerCutMode; expected: Outcome }> = [
    { name: "a caller that is not in the cut pod reaches an uncut pod", member: () => otherPod([]), mode: "blackhole", expected: "answered" },
    { name: "a caller whose process is not the cut pod's (another pid) gets through", member: () => otherPod([process.ppid]), mode: "blackhole", expected: "answered" },
    { name: "a caller whose process is in the cut pod is blackholed", member: () => otherPod([process.pid]), mode: "blackhole", expected: "silent" },
    { name: "a caller whose process is in the cut pod is refused", member: () => otherPod([process.pid]), mode: "refuse", expected: "closed" },
    { name: "every caller of the cut pod is blackholed", member: () => ({ podIp: "127.0.0.1", pids: () => [] }), mode: "blackhole", expected: "silent" },
  ];
  for (const { name, member, mode, expected } of cases) {
    it(name, async () => {
      const cut = start(mode);
      await cut.isolate(member());
      const routed = resolveA();
      expect(routed, "pod names point at the proxy").to.equal(cut.proxyAddressOf("127.0.0.1"));
      expect(routed).to.not.equal("127.0.0.1");
      expect(await exchange(routed, upstream.port)).to.equal(expected);
    });
  }

  it("writes the real table back and stops the proxies once the last pod is healed", async () => {
    const cut = start();
    await cut.isolate(otherPod([process.pid]));
    const routed = resolveA();
    await cut.heal("127.0.0.250");
    expect(JSON.parse(readFileSync(dnsFilePath, "utf8"))).to.deep.equal(realTable);
    expect(await exchange(routed, upstream.port)).to.equal("closed");
    expect(await exchange("127.0.0.1", upstream.port)).to.equal("answered");
  });

  it("re-applies its table when the kubelet rewrites the DNS file during a cut", async () => {
    const cut = start();
    await cut.isolate(otherPod([]));
    writeFileSync(dnsFilePath, JSON.stringify(realTable));
    const deadline = Date.now() + 5_000;
    while (resolveA() === "127.0.0.1" && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20));
    expect(resolveA()).to.equal(cut.proxyAddressOf("127.0.0.1"));
  });
});
