import { expect } from "chai";
import net from "node:net";
import { ApiServerProxy } from "./api-proxy.js";

/** An upstream that answers every line with "pong <line>". */
async function startUpstream(): Promise<{ server: net.Server; port: number }> {
  const server = net.createServer((socket) => {
    socket.on("error", () => undefined);
    socket.on("data", (chunk) => socket.write(`pong ${chunk.toString()}`));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const address = server.address();
  return { server, port: typeof address === "object" && address != null ? address.port : 0 };
}

type Outcome = "answered" | "closed" | "silent";

/** Sends one line; reports whether it was answered, the connection closed, or nothing came back in time. */
function exchange(port: number, silenceMs = 300): Promise<Outcome> {
  return new Promise((resolve) => {
    const socket = net.connect({ host: "127.0.0.1", port });
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
    socket.on("connect", () => socket.write("ping\n"));
  });
}

describe("ApiServerProxy", function () {
  this.timeout(20_000);
  let upstream: { server: net.Server; port: number };
  let proxy: ApiServerProxy;

  beforeEach(async () => {
    upstream = await startUpstream();
    proxy = new ApiServerProxy({ host: "127.0.0.1", port: upstream.port });
    await proxy.start();
  });
  afterEach(async () => {
    await proxy.stop();
    await new Promise<void>((resolve) => upstream.server.close(() => resolve()));
  });

  it("forwards bytes both ways", async () => {
    expect(await exchange(proxy.port, 5_000)).to.equal("answered");
    expect(proxy.url).to.equal(`https://127.0.0.1:${proxy.port}`);
  });

  const modes: Array<{ mode: "refuse" | "blackhole"; expected: Outcome }> = [
    { mode: "refuse", expected: "closed" },
    { mode: "blackhole", expected: "silent" },
  ];
  for (const { mode, expected } of modes) {
    it(`cut(${mode}) drops open connections, new ones are ${expected}, restore() brings service back`, async () => {
      const open = net.connect({ host: "127.0.0.1", port: proxy.port });
      await new Promise((resolve) => open.once("connect", resolve));
      const closed = new Promise((resolve) => open.once("close", resolve));
      open.on("error", () => undefined);
      proxy.cut(mode);
      await closed;
      expect(proxy.isCut).to.equal(true);
      // A blackhole never answers, so a short window suffices; a refusal gets a generous one to close.
      expect(await exchange(proxy.port, mode === "blackhole" ? 500 : 5_000)).to.equal(expected);
      proxy.restore();
      expect(await exchange(proxy.port, 5_000)).to.equal("answered");
    });
  }

  it("parses the API server URL", () => {
    expect(ApiServerProxy.targetFromServerUrl("https://127.0.0.1:6443")).to.deep.equal({ host: "127.0.0.1", port: 6443 });
  });
});
