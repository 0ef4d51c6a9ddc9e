/**
 * Temp dirs owned by one Node process. A run that dies without stop() (SIGKILL, a crash in the exit path) leaves
 * its dirs behind, and the etcd dir lives on tmpfs, i.e. in RAM (~120 MB each: etcd preallocates a 64 MB WAL
 * segment). Each dir records its owner's pid; the next start removes dirs whose owner no longer runs. A dir whose
 * owner is alive is never touched, so concurrent runs by other people are safe.
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";

const ownerFileName = "owner.pid";

export function createOwnedDir(parent: string, prefix: string): string {
  const dir = mkdtempSync(join(parent, prefix));
  writeFileSync(join(dir, ownerFileName), `${process.pid}\n`);
  return dir;
}

function processIsAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: it exists but belongs to someone else.
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
}

/** Removes `<parent>/<prefix>*` dirs whose recorded owner has exited. Returns the removed paths. */
export function reapAbandonedDirs(parent: string, prefix: string): string[] {
  const removed: string[] = [];
  let names: string[];
  try {
    names = readdirSync(parent).filter((name) => name.startsWith(prefix));
  } catch {
    return removed;
  }
  for (const name of names) {
    const dir = join(parent, name);
    let ownerPid: number;
    try {
      ownerPid = Number.parseInt(readFileSync(join(dir, ownerFileName), "utf8"), 10);
    } catch {
      continue; // no owner file: not ours to judge (or still being created)
    }
    if (Number.isInteger(ownerPid) && ownerPid > 0 && !processIsAlive(ownerPid)) {
      rmSync(dir, { recursive: true, force: true });
      removed.push(dir);
    }
  }
  return removed;
}
