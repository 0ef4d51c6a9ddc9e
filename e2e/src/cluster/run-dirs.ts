/**
 * Temp dirs owned by one Node process. A run that dies without stop() (SIGKILL, a crash in the exit path) leaves
 * its dirs behind, and the etcd dir lives on tmpfs, i.e. in RAM (~120 MB each: etcd preallocates a 64 MB WAL
 * segment), and its children running. Each dir records its owner's pid and its children's pids; the next start
 * removes dirs whose owner no longer runs, after killing the recorded children that still name the dir on their
 * command line (a recycled pid never does). A dir whose owner is alive is never touched, so concurrent runs by
 * other people are safe.
 */
import { appendFileSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";

const ownerFileName = "owner.pid";
const childrenFileName = "children.pid";

/** Makes a dir permanent: reaping skips dirs without an owner file. */
export function disownDir(dir: string): void {
  rmSync(join(dir, ownerFileName), { force: true });
  rmSync(join(dir, childrenFileName), { force: true });
}

/** Remembers a child process (by process group leader pid) that works with files in `dir`. */
export function recordChildPid(dir: string, pid: number): void {
  appendFileSync(join(dir, childrenFileName), `${pid}\n`);
}

function killOrphanedChildren(dir: string): void {
  let pids: number[];
  try {
    pids = readFileSync(join(dir, childrenFileName), "utf8")
      .split("\n")
      .filter((line) => line.trim() !== "")
      .map((line) => Number.parseInt(line, 10));
  } catch {
    return;
  }
  for (const pid of pids) {
    let commandLine: string;
    try {
      commandLine = readFileSync(`/proc/${pid}/cmdline`, "utf8");
    } catch {
      continue; // gone
    }
    if (!commandLine.includes(dir)) continue; // the pid was recycled by an unrelated process
    try {
      process.kill(-pid, "SIGKILL");
    } catch {
      // already gone, or not ours to signal
    }
  }
}

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
      killOrphanedChildren(dir);
      rmSync(dir, { recursive: true, force: true });
      removed.push(dir);
    }
  }
  return removed;
}
