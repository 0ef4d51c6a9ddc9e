/** Exhaustiveness check for switches over discriminated unions: a new variant becomes a compile error. */
export function assertNever(value: never, what = "value"): never {
  throw new Error(`unexpected ${what}: ${JSON.stringify(value)}`);
}
