/**
 * Data directory of one instance: `catalog.json` (written atomically: temp file + rename on every DDL) and one
 * append-only `db-<id>.log` (JSON lines) per database. A write is "hardened" once its line is appended with a
 * synchronous write, so a crash keeps every acknowledged commit and nothing else (brief: Persistence).
 */
import { appendFileSync, existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { Catalog, LogEntry } from "./model.js";

export class DataStore {
  constructor(readonly dir: string | null) {
    if (dir) mkdirSync(dir, { recursive: true });
  }

  loadCatalog(): Catalog | null {
    if (!this.dir) return null;
    const path = join(this.dir, "catalog.json");
    if (!existsSync(path)) return null;
    return JSON.parse(readFileSync(path, "utf8")) as Catalog;
  }

  saveCatalog(catalog: Catalog): void {
    if (!this.dir) return;
    const path = join(this.dir, "catalog.json");
    const temp = `${path}.tmp`;
    writeFileSync(temp, JSON.stringify(catalog, null, 1));
    renameSync(temp, path);
  }

  appendLog(databaseId: number, entries: LogEntry[]): void {
    if (!this.dir || entries.length === 0) return;
    appendFileSync(join(this.dir, `db-${databaseId}.log`), entries.map((entry) => `${JSON.stringify(entry)}\n`).join(""));
  }

  readLog(databaseId: number): LogEntry[] {
    if (!this.dir) return [];
    const path = join(this.dir, `db-${databaseId}.log`);
    if (!existsSync(path)) return [];
    const entries: LogEntry[] = [];
    for (const line of readFileSync(path, "utf8").split("\n")) {
      if (!line) continue;
      try {
        entries.push(JSON.parse(line) as LogEntry);
      } catch {
        // A torn last line from a crash mid-append was never acknowledged: drop it.
      }
    }
    return entries;
  }

  replaceLog(databaseId: number, entries: LogEntry[]): void {
    if (!this.dir) return;
    const path = join(this.dir, `db-${databaseId}.log`);
    writeFileSync(`${path}.tmp`, entries.map((entry) => `${JSON.stringify(entry)}\n`).join(""));
    renameSync(`${path}.tmp`, path);
  }

  deleteLog(databaseId: number): void {
    if (!this.dir) return;
    rmSync(join(this.dir, `db-${databaseId}.log`), { force: true });
  }
}
