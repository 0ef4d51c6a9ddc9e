/**
 * Cuts a pod's agent-to-agent HTTP (status polls, sequence reports, failsafe heartbeats) both ways, the e2e twin
 * of the simulator harness's `cutPeerTraffic`.
 *
 * Why it is built this way: the fake kubelet runs every pod in one network namespace, every outbound loopback
 * connection leaves from 127.0.0.1, and all agents read ONE fake DNS file (`SQLAG_FAKE_DNS_FILE`) to find their
 * peers. So neither an address rewrite (it would change every agent's view at once) nor a source-address filter
 * can isolate one pod. Instead, while any pod is cut, every pod name in the DNS file is pointed at a small TCP
 * proxy for that pod (on a spare loopback address, same port), and each proxy decides per connection:
 * - the target pod is cut → the connection is blackholed (or refused);
 * - the connecting process belongs to a cut pod → the same. The caller is identified like `ss -p` does it: the
 *   connection's socket inode from `/proc/net/tcp`, found among the cut pod's processes' `/proc/<pid>/fd`;
 * - otherwise the bytes are forwarded to the pod's real address.
 * When the last pod is healed the real table is written back and the proxies stop. The kubelet rewrites the DNS
 * file whenever a pod gets or loses an address; the partition notices and re-applies its own table.
 * Only the agents read the DNS file: probes, the workload and mssql-sim's endpoint links never pass through here.
 */
import { readFileSync, readdirSync, readlinkSync, renameSync, writeFileSync } from "node:fs";
import net from "node:net";

export type PeerCutMode = "refuse" | "blackhole";

export interface TcpEndpoint {
  readonly address: string;
  readonly port: number;
}

/** `/proc/net/tcp` spelling of an IPv4 endpoint: the address as a little-endian 32-bit hex word, then the port. */
export function procNetTcpEndpoint(endpoint: TcpEndpoint): string {
  const octets = endpoint.address.replace(/^::ffff:/, "").split(".").map(Number);
  if (octets.length !== 4 || octets.some((octet) => !Number.isInteger(octet) || octet < 0 || octet > 255)) {
    throw new RangeError(`not an IPv4 address: ${endpoint.address}`);
  }
  const hex = (value: number, width: number): string => value.toString(16).toUpperCase().padStart(width, "0");
  return `${[...octets].reverse().map((octet) => hex(octet, 2)).join("")}:${hex(endpoint.port, 4)}`;
}

/** The inode of the socket with this local and remote endpoint in a `/proc/net/tcp` listing, if any. */
export function socketInodeIn(procNetTcp: string, local: TcpEndpoint, remote: TcpEndpoint): string | undefined {
  const wantedLocal = procNetTcpEndpoint(local);
  const wantedRemote = procNetTcpEndpoint(remote);
  for (const line of procNetTcp.split("\n")) {
    // sl local_address rem_address st tx_queue:rx_queue tr:tm->when retrnsmt uid timeout inode ...
    const fields = line.trim().split(/\s+/);
    if (fields[1] === wantedLocal && fields[2] === wantedRemote && fields[9] !== undefined && fields[9] !== "0") return fields[9];
  }
  return undefined;
}

/** Whether process `pid` holds the socket `inode` (false when the process is gone or not ours to inspect). */
export function processHoldsSocket(pid: number, inode: string): boolean {
  const wanted = `socket:[${inode}]`;
  let descriptors: string[];
  try {
    descriptors = readdirSync(`/proc/${pid}/fd`);
  } catch {
    return false;
  }
  for (const descriptor of descriptors) {
    try {
      if (readlinkSync(`/proc/${pid}/fd/${descriptor}`) === wanted) return true;
    } catch {
      // The descriptor closed while we looked.
    }
  }
  return false;
}

/** Which process opened the other end of an accepted loopback connection, checked against candidate pids. */
export function connectionFromAnyOf(socket: net.Socket, pids: readonly number[]): boolean {
  if (pids.length === 0 || socket.remoteAddress == null || socket.remotePort == null || socket.localAddress == null || socket.localPort == null) return false;
  let listing: string;
  try {
    listing = readFileSync("/proc/net/tcp", "utf8");
  } catch {
    return false;
  }
  // The caller's socket is the mirror image of ours: its local end is our remote end.
  const inode = socketInodeIn(listing, { address: socket.remoteAddress, port: socket.remotePort }, { address: socket.localAddress, port: socket.localPort });
  return inode !== undefined && pids.some((pid) => processHoldsSocket(pid, inode));
}

/** A pod as the partition sees it: where its processes listen and which processes are its own. */
export interface PartitionMember {
  readonly podIp: string;
  /** The pod's current process ids (containers restart, so asked for at every connection). */
  pids(): readonly number[];
}

/** Where the partition reads and writes the DNS table the agents use to find their peers. */
export interface PeerDnsHost {
  readonly dnsFilePath: string;
  /** hostname → pod IP, the kubelet's truth. */
  dnsTable(): Record<string, string>;
}

export interface PeerHttpPartitionOptions {
  /** The agents' HTTP port (every agent listens on the same one, on its own pod IP). */
  readonly port: number;
  readonly mode?: PeerCutMode;
  /** Third octets of the spare loopback addresses for the proxies (the kubelet hands out 127.0.16.x and up). */
  readonly proxyThirdOctets?: readonly number[];
  /** How often the DNS file is checked for a kubelet rewrite while a cut is active. */
  readonly reapplyIntervalMs?: number;
}

export class PeerPartitionError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "PeerPartitionError";
  }
}

/** One pod's stand-in address: forwards, or drops connections that involve a cut pod. */
class PeerLinkProxy {
  private server: net.Server | undefined;
  private readonly sockets = new Set<net.Socket>();
  address = "";

  constructor(
    readonly targetIp: string,
    private readonly port: number,
    private readonly mode: PeerCutMode,
    private readonly isBlocked: (client: net.Socket) => boolean,
  ) {}

  /** Binds the first free candidate address (same port as the agents, since the DNS file only maps hosts). */
  async start(candidates: Iterable<string>): Promise<void> {
    for (const address of candidates) {
      const server = net.createServer((client) => this.accept(client));
      const bound = await new Promise<boolean>((resolve) => {
        server.once("error", () => resolve(false));
        server.listen(this.port, address, () => resolve(true));
      });
      if (bound) {
        server.on("error", () => undefined);
        this.server = server;
        this.address = address;
        return;
      }
    }
    throw new PeerPartitionError(`no spare loopback address with port ${this.port} free for the peer proxy of ${this.targetIp}`);
  }

  private track(socket: net.Socket): void {
    this.sockets.add(socket);
    socket.once("close", () => this.sockets.delete(socket));
    socket.on("error", () => undefined);
  }

  private accept(client: net.Socket): void {
    this.track(client);
    if (this.isBlocked(client)) {
      if (this.mode === "refuse") client.destroy();
      else client.pause(); // held open and never answered, like a dropped route; dies on the caller's timeout
      return;
    }
    const upstream = net.connect({ host: this.targetIp, port: this.port });
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

  /** Drops every connection, so the next request is judged again under the current cut. */
  dropAll(): void {
    for (const socket of this.sockets) socket.destroy();
    this.sockets.clear();
  }

  async stop(): Promise<void> {
    this.dropAll();
    const server = this.server;
    this.server = undefined;
    if (server !== undefined) await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}

export class PeerHttpPartition {
  private readonly cut = new Map<string, PartitionMember>();
  private readonly proxies = new Map<string, PeerLinkProxy>();
  private readonly usedAddresses = new Set<string>();
  private lastWritten: string | undefined;
  private reapplyTimer: NodeJS.Timeout | undefined;
  private reapplying: Promise<void> = Promise.resolve();

  constructor(
    private readonly host: PeerDnsHost,
    private readonly options: PeerHttpPartitionOptions,
  ) {}

  get active(): boolean {
    return this.cut.size > 0;
  }

  /** Cuts `member` from every other pod's agent and every other pod's agent from it, until `heal`. */
  async isolate(member: PartitionMember): Promise<void> {
    this.cut.set(member.podIp, member);
    await this.applyTable();
    // Connections opened before the cut were judged without it.
    for (const proxy of this.proxies.values()) proxy.dropAll();
    this.reapplyTimer ??= setInterval(() => {
      this.reapplying = this.reapplying.then(() => this.reapplyIfOverwritten()).catch(() => undefined);
    }, this.options.reapplyIntervalMs ?? 200);
  }

  /** Reconnects the pod at `podIp`; when nobody is cut any more the real DNS table returns and the proxies stop. */
  async heal(podIp: string): Promise<void> {
    this.cut.delete(podIp);
    if (this.cut.size > 0) {
      for (const proxy of this.proxies.values()) proxy.dropAll();
      return;
    }
    await this.stop();
  }

  /** Writes the real table back and stops every proxy (also the teardown path of a failed test). */
  async stop(): Promise<void> {
    this.cut.clear();
    if (this.reapplyTimer !== undefined) clearInterval(this.reapplyTimer);
    this.reapplyTimer = undefined;
    await this.reapplying;
    if (this.lastWritten !== undefined) this.writeDnsFile(this.host.dnsTable());
    this.lastWritten = undefined;
    const proxies = [...this.proxies.values()];
    this.proxies.clear();
    this.usedAddresses.clear();
    await Promise.all(proxies.map((proxy) => proxy.stop()));
  }

  /** The address peers are sent to for `podIp` while the partition is active (tests and diagnostics). */
  proxyAddressOf(podIp: string): string | undefined {
    return this.proxies.get(podIp)?.address;
  }

  private isBlocked(targetIp: string, client: net.Socket): boolean {
    if (this.cut.has(targetIp)) return true;
    const cutPids = [...this.cut.values()].flatMap((member) => member.pids());
    return connectionFromAnyOf(client, cutPids);
  }

  private *candidateAddresses(): Generator<string> {
    for (const third of this.options.proxyThirdOctets ?? [2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15]) {
      for (let fourth = 1; fourth <= 254; fourth++) {
        const address = `127.0.${third}.${fourth}`;
        if (!this.usedAddresses.has(address)) yield address;
      }
    }
  }

  private async proxyFor(targetIp: string): Promise<PeerLinkProxy> {
    const existing = this.proxies.get(targetIp);
    if (existing !== undefined) return existing;
    const proxy = new PeerLinkProxy(targetIp, this.options.port, this.options.mode ?? "blackhole", (client) => this.isBlocked(targetIp, client));
    await proxy.start(this.candidateAddresses());
    this.usedAddresses.add(proxy.address);
    this.proxies.set(targetIp, proxy);
    return proxy;
  }

  /** The kubelet's table with every pod address replaced by its proxy's. */
  private async applyTable(): Promise<void> {
    const real = this.host.dnsTable();
    const routed: Record<string, string> = {};
    for (const [name, ip] of Object.entries(real)) routed[name] = (await this.proxyFor(ip)).address;
    this.writeDnsFile(routed);
  }

  private async reapplyIfOverwritten(): Promise<void> {
    if (!this.active) return;
    let current: string | undefined;
    try {
      current = readFileSync(this.host.dnsFilePath, "utf8");
    } catch {
      current = undefined;
    }
    if (current !== this.lastWritten) await this.applyTable();
  }

  private writeDnsFile(table: Record<string, string>): void {
    const text = JSON.stringify(table, null, 1);
    // Atomic replace (readers never see half a file); a temporary name of our own, not the kubelet's.
    const temporary = `${this.host.dnsFilePath}.peer-partition.tmp`;
    writeFileSync(temporary, text);
    renameSync(temporary, this.host.dnsFilePath);
    this.lastWritten = text;
  }
}
