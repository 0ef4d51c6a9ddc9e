/**
 * A per-pod TCP proxy in front of the API server, so a test can cut one pod off the control plane while the
 * rest of the cluster keeps working. TLS passes through untouched: the pod's kubeconfig points at
 * `https://127.0.0.1:<proxyPort>` and trusts the API server's CA; the server certificate is valid for
 * 127.0.0.1, so hostname checks still pass.
 *
 * Cut modes:
 * - "refuse": existing connections are destroyed (the client sees a reset) and new connections are accepted
 *   and closed at once — fails fast, like a rejecting firewall.
 * - "blackhole": existing connections are destroyed and new ones are accepted but never answered — requests
 *   hang until the client's own timeout, like a dropped route. This is the harsher and more realistic case.
 */
import net from "node:net";

export type ApiCutMode = "refuse" | "blackhole";

export interface ApiProxyTarget {
  readonly host: string;
  readonly port: number;
}

export class ApiServerProxy {
  private server: net.Server | undefined;
  private readonly sockets = new Set<net.Socket>();
  private cutMode: ApiCutMode | undefined;
  private listeningPort = 0;

  constructor(
    private readonly target: ApiProxyTarget,
    private readonly listenHost = "127.0.0.1",
  ) {}

  /** Parses `https://host:port` into a proxy target. */
  static targetFromServerUrl(server: string): ApiProxyTarget {
    const url = new URL(server);
    return { host: url.hostname.replace(/^\[|\]$/g, ""), port: Number(url.port || (url.protocol === "https:" ? 443 : 80)) };
  }

  get port(): number {
    return this.listeningPort;
  }

  get url(): string {
    return `https://${this.listenHost}:${this.listeningPort}`;
  }

  get isCut(): boolean {
    return this.cutMode != null;
  }

  async start(): Promise<void> {
    const server = net.createServer((client) => this.accept(client));
    this.server = server;
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(0, this.listenHost, () => {
        server.off("error", reject);
        resolve();
      });
    });
    const address = server.address();
    if (address == null || typeof address === "string") throw new Error("API proxy has no TCP address");
    this.listeningPort = address.port;
  }

  private track(socket: net.Socket): void {
    this.sockets.add(socket);
    socket.once("close", () => this.sockets.delete(socket));
    socket.on("error", () => undefined);
  }

  private accept(client: net.Socket): void {
    this.track(client);
    if (this.cutMode === "refuse") {
      client.destroy();
      return;
    }
    if (this.cutMode === "blackhole") {
      // Keep the socket open and read nothing into the upstream; it dies on restore or on the client's timeout.
      client.pause();
      return;
    }
    const upstream = net.connect({ host: this.target.host, port: this.target.port });
    this.track(upstream);
    client.pipe(upstream);
    upstream.pipe(client);
    const closeBoth = (): void => {
      client.destroy();
      upstream.destroy();
    };
    client.once("close", closeBoth);
    upstream.once("close", closeBoth);
  }

  /** Cuts the pod off: drops every open connection and refuses or blackholes new ones. */
  cut(mode: ApiCutMode = "blackhole"): void {
    this.cutMode = mode;
    this.dropAll();
  }

  /** Restores access; connections held open by the blackhole are dropped so clients reconnect promptly. */
  restore(): void {
    const wasBlackholed = this.cutMode === "blackhole";
    this.cutMode = undefined;
    if (wasBlackholed) this.dropAll();
  }

  private dropAll(): void {
    for (const socket of this.sockets) socket.destroy();
    this.sockets.clear();
  }

  async stop(): Promise<void> {
    this.dropAll();
    const server = this.server;
    this.server = undefined;
    if (server == null) return;
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}
