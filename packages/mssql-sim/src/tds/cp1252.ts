/**
 * Code page 1252, the code page of the default collation SQL_Latin1_General_CP1_CI_AS (A5). varchar values
 * travel in the collation's code page; Node has a decoder for it but no encoder.
 */

/** Bytes 0x80–0x9F of windows-1252 that differ from Latin-1, keyed by Unicode code point. */
const SPECIAL_CHARACTERS: ReadonlyMap<number, number> = new Map([
  [0x20ac, 0x80], [0x201a, 0x82], [0x0192, 0x83], [0x201e, 0x84], [0x2026, 0x85], [0x2020, 0x86],
  [0x2021, 0x87], [0x02c6, 0x88], [0x2030, 0x89], [0x0160, 0x8a], [0x2039, 0x8b], [0x0152, 0x8c],
  [0x017d, 0x8e], [0x2018, 0x91], [0x2019, 0x92], [0x201c, 0x93], [0x201d, 0x94], [0x2022, 0x95],
  [0x2013, 0x96], [0x2014, 0x97], [0x02dc, 0x98], [0x2122, 0x99], [0x0161, 0x9a], [0x203a, 0x9b],
  [0x0153, 0x9c], [0x017e, 0x9e], [0x0178, 0x9f],
]);

const QUESTION_MARK = 0x3f;
const decoder = new TextDecoder("windows-1252");

/** Characters the code page cannot represent become '?', as SQL Server does when converting to varchar. */
export function encodeCp1252(text: string): Buffer {
  const out = Buffer.allocUnsafe(text.length);
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if (code < 0x80 || (code >= 0xa0 && code <= 0xff)) out[i] = code;
    else out[i] = SPECIAL_CHARACTERS.get(code) ?? QUESTION_MARK;
  }
  return out;
}

export function decodeCp1252(bytes: Uint8Array): string {
  return decoder.decode(bytes);
}
