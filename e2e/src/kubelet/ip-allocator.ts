/**
 * Hands out one loopback address per pod (127.0.x.y). Linux routes all of 127.0.0.0/8 to the loopback
 * interface, so a process can bind its pod IP without any network setup. Allocation walks forward from the
 * last address handed out, so an address freed by a deleted pod is reused as late as possible (a client still
 * holding the old address must not reach a different pod). Several kubelets on one machine should use
 * disjoint third octets (`firstThirdOctet`/`lastThirdOctet`).
 */
export class PodIpRangeExhaustedError extends Error {
  constructor(size: number) {
    super(`all ${size} pod IPs of the fake kubelet's range are in use`);
    this.name = "PodIpRangeExhaustedError";
  }
}

export interface PodIpRange {
  readonly firstThirdOctet: number;
  readonly lastThirdOctet: number;
}

export class PodIpAllocator {
  private readonly inUse = new Map<string, string>();
  private readonly size: number;
  private cursor: number;

  constructor(
    private readonly range: PodIpRange,
    startOffset = 0,
  ) {
    if (range.firstThirdOctet < 1 || range.lastThirdOctet > 255 || range.firstThirdOctet > range.lastThirdOctet) {
      throw new RangeError(`invalid pod IP range 127.0.${range.firstThirdOctet}-${range.lastThirdOctet}.x`);
    }
    this.size = (range.lastThirdOctet - range.firstThirdOctet + 1) * 254;
    this.cursor = ((startOffset % this.size) + this.size) % this.size;
  }

  private addressAt(index: number): string {
    const third = this.range.firstThirdOctet + Math.floor(index / 254);
    const fourth = (index % 254) + 1;
    return `127.0.${third}.${fourth}`;
  }

  /**
   * The address for `owner` (a pod uid); the same owner always gets the same address until released.
   * `preferred` (e.g. the address a re-created StatefulSet pod had before) is used when it is free.
   */
  allocate(owner: string, preferred?: string): string {
    for (const [address, holder] of this.inUse) {
      if (holder === owner) return address;
    }
    if (preferred != null && !this.inUse.has(preferred) && this.contains(preferred)) {
      this.inUse.set(preferred, owner);
      return preferred;
    }
    for (let step = 0; step < this.size; step++) {
      const address = this.addressAt(this.cursor);
      this.cursor = (this.cursor + 1) % this.size;
      if (!this.inUse.has(address)) {
        this.inUse.set(address, owner);
        return address;
      }
    }
    throw new PodIpRangeExhaustedError(this.size);
  }

  private contains(address: string): boolean {
    const match = /^127\.0\.(\d+)\.(\d+)$/.exec(address);
    if (match == null) return false;
    const third = Number(match[1]);
    const fourth = Number(match[2]);
    return third >= this.range.firstThirdOctet && third <= this.range.lastThirdOctet && fourth >= 1 && fourth <= 254;
  }

  release(owner: string): void {
    for (const [address, holder] of this.inUse) {
      if (holder === owner) this.inUse.delete(address);
    }
  }

  allocated(): ReadonlyMap<string, string> {
    return this.inUse;
  }
}

/**
 * Pod addresses as the API shows them. The API server refuses loopback addresses in EndpointSlices
 * ("may not be in the loopback range"), so a pod's IP is published as its twin in 198.18.0.0/15 (RFC 2544's
 * benchmarking range, never routed) while its processes bind and are reached at 127.0.X.Y. The mapping is 1:1
 * on the last two octets: 127.0.X.Y ⇄ 198.18.X.Y. Clients that read addresses from the API (EndpointSlices,
 * pod status) translate with `reachableAddressOf` — a fixed NAT standing in for the pod network.
 */
const loopbackPattern = /^127\.0\.(\d{1,3})\.(\d{1,3})$/;
const publishedPattern = /^198\.18\.(\d{1,3})\.(\d{1,3})$/;

export function publishedAddressOf(loopbackAddress: string): string {
  const match = loopbackPattern.exec(loopbackAddress);
  if (match == null) throw new RangeError(`${loopbackAddress} is not a fake-kubelet pod address (127.0.X.Y)`);
  return `198.18.${match[1] ?? "0"}.${match[2] ?? "0"}`;
}

/** The address a process can connect to for an address read from the API; other addresses pass unchanged. */
export function reachableAddressOf(address: string): string {
  const match = publishedPattern.exec(address);
  return match == null ? address : `127.0.${match[1] ?? "0"}.${match[2] ?? "0"}`;
}
