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

  /** The address for `owner` (a pod uid); the same owner always gets the same address until released. */
  allocate(owner: string): string {
    for (const [address, holder] of this.inUse) {
      if (holder === owner) return address;
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

  release(owner: string): void {
    for (const [address, holder] of this.inUse) {
      if (holder === owner) this.inUse.delete(address);
    }
  }

  allocated(): ReadonlyMap<string, string> {
    return this.inUse;
  }
}
