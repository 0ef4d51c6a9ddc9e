/**
 * Resource use of a local process from /proc (Linux): resident memory and CPU time. The fake kubelet runs every
 * container as a child process, so the agent's real footprint is readable here without cAdvisor.
 */
import { readFileSync } from "node:fs";

/** VmRSS of `pid` in MiB, or undefined when the process is gone. */
export function processRssMiB(pid: number): number | undefined {
  try {
    const match = /^VmRSS:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
    return match === null ? undefined : Number(match[1]) / 1024;
  } catch {
    return undefined;
  }
}

/** Clock ticks per second of /proc/<pid>/stat utime and stime (USER_HZ; 100 on every Linux build we run on). */
export const clockTicksPerSecond = 100;

/** utime + stime of `pid` in seconds (fields 14 and 15 of /proc/<pid>/stat), or undefined when it is gone. */
export function processCpuSeconds(pid: number): number | undefined {
  try {
    return parseCpuSecondsFromStat(readFileSync(`/proc/${pid}/stat`, "utf8"));
  } catch {
    return undefined;
  }
}

/** The command name (field 2) may contain spaces and parentheses, so fields are counted after its last ')'. */
export function parseCpuSecondsFromStat(stat: string): number | undefined {
  const afterName = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  // afterName[0] is field 3 (state); utime is field 14, stime field 15.
  const utime = Number(afterName[11]);
  const stime = Number(afterName[12]);
  if (!Number.isFinite(utime) || !Number.isFinite(stime)) return undefined;
  return (utime + stime) / clockTicksPerSecond;
}
