/**
 * Test-harness only (`SQLAG_FAKE_DNS_FILE`): the fake kubelet runs every pod in one network namespace and there
 * is no cluster DNS, so it publishes a JSON file {hostname: address} for pod DNS names. The agent resolves its
 * peers through it; in a real cluster this module is not used (peers are reached by pod IP from the API).
 */
import { readFileSync, statSync } from "node:fs";

export class FakeDnsTable {
  private table: Record<string, string> = {};
  private loadedMtimeMs = -1;

  constructor(private readonly file: string) {}

  resolve(hostname: string): string | undefined {
    this.reloadIfChanged();
    return this.table[hostname] ?? this.table[hostname.split(".")[0] ?? ""];
  }

  private reloadIfChanged(): void {
    try {
      const mtimeMs = statSync(this.file).mtimeMs;
      if (mtimeMs === this.loadedMtimeMs) return;
      this.table = JSON.parse(readFileSync(this.file, "utf8")) as Record<string, string>;
      this.loadedMtimeMs = mtimeMs;
    } catch {
      // The file is replaced atomically; a missing or partial read keeps the previous table.
    }
  }
}
