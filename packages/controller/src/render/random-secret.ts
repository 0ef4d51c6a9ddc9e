/**
 * Secret generation for the `<ag>-hadr` passwords and peer token. The renderers only call
 * `RenderContext.randomSecret()`; this is the production implementation the controller wires in.
 */
import { randomBytes } from "node:crypto";

const UPPER = "ABCDEFGHJKLMNPQRSTUVWXYZ";
const LOWER = "abcdefghijkmnopqrstuvwxyz";
const DIGITS = "23456789";
/** Symbols that need no quoting in T-SQL string literals, shells, URLs or YAML. */
const SYMBOLS = "-_.+";
const ALPHABET = UPPER + LOWER + DIGITS + SYMBOLS;

export const GENERATED_SECRET_LENGTH = 32;

/**
 * A password that meets SQL Server's complexity policy (all four character classes) with ~190 bits of entropy.
 * `random(n)` returns n random bytes; injectable so tests are deterministic.
 */
export function generateSqlPassword(random: (size: number) => Uint8Array = randomBytes, length = GENERATED_SECRET_LENGTH): string {
  const classes = [UPPER, LOWER, DIGITS, SYMBOLS];
  if (length < classes.length) throw new RangeError(`a generated password needs at least ${classes.length} characters`);
  for (;;) {
    const bytes = random(length);
    // Rejection sampling: bytes above the last full multiple of the alphabet size are dropped, so no character is favoured.
    const limit = 256 - (256 % ALPHABET.length);
    const characters: string[] = [];
    for (const byte of bytes) if (byte < limit) characters.push(ALPHABET[byte % ALPHABET.length] ?? "");
    if (characters.length < length) continue;
    const candidate = characters.join("");
    if (classes.every((set) => [...candidate].some((character) => set.includes(character)))) return candidate;
  }
}
