import type { Clock } from "@sqlag/api";
import { setTimeout as sleepTimer } from "node:timers/promises";

/** The production Clock: performance.now() for judging durations, Date for timestamps others read. */
export const systemClock: Clock = {
  nowMs: () => performance.now(),
  wallNow: () => new Date(),
  sleep: (ms, signal) => sleepTimer(Math.max(0, ms), undefined, signal === undefined ? undefined : { signal }),
};
