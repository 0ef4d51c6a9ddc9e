/**
 * T-SQL tokenizer for the statement shapes the agent, Pacemaker's ag-helper and the workload send.
 *
 * Handles what those shapes use: case-insensitive keywords, [bracket] and "quoted" identifiers, '' and N''
 * strings with doubled quotes, 0x binary literals, integers/decimals, @variables and @@functions, line and
 * block comments, and the punctuation of DDL option lists (`=`, `(`, `)`, `,`, `;`, `::`, comparisons).
 */

export type TokenKind = "word" | "quoted" | "string" | "number" | "binary" | "variable" | "punct";

export interface Token {
  kind: TokenKind;
  /** For words: the upper-cased text; for quoted identifiers: the unquoted name; strings: the unescaped value. */
  value: string;
  /** Original spelling (words keep their case here, identifiers are compared case-insensitively). */
  raw: string;
  /** Offset into the batch text, for "does not model" messages that quote the statement. */
  offset: number;
}

export class SqlSyntaxError extends Error {
  constructor(
    message: string,
    readonly offset: number,
  ) {
    super(message);
    this.name = "SqlSyntaxError";
  }
}

const PUNCT_TWO = ["<>", "!=", "<=", ">=", "::", "+=", "-="];
const PUNCT_ONE = "(),;.=<>*+-/%";

export function tokenize(sql: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  const n = sql.length;
  while (i < n) {
    const ch = sql[i] as string;
    if (/\s/.test(ch)) {
      i++;
      continue;
    }
    if (ch === "-" && sql[i + 1] === "-") {
      while (i < n && sql[i] !== "\n") i++;
      continue;
    }
    if (ch === "/" && sql[i + 1] === "*") {
      // T-SQL block comments nest.
      let depth = 0;
      do {
        if (sql[i] === "/" && sql[i + 1] === "*") {
          depth++;
          i += 2;
        } else if (sql[i] === "*" && sql[i + 1] === "/") {
          depth--;
          i += 2;
        } else i++;
      } while (i < n && depth > 0);
      continue;
    }
    const start = i;
    if ((ch === "N" || ch === "n") && sql[i + 1] === "'") {
      i++;
      const value = readQuoted(sql, i, "'", "'");
      i = value.end;
      tokens.push({ kind: "string", value: value.text, raw: sql.slice(start, i), offset: start });
      continue;
    }
    if (ch === "'") {
      const value = readQuoted(sql, i, "'", "'");
      i = value.end;
      tokens.push({ kind: "string", value: value.text, raw: sql.slice(start, i), offset: start });
      continue;
    }
    if (ch === "[") {
      const value = readQuoted(sql, i, "[", "]");
      i = value.end;
      tokens.push({ kind: "quoted", value: value.text, raw: sql.slice(start, i), offset: start });
      continue;
    }
    if (ch === '"') {
      const value = readQuoted(sql, i, '"', '"');
      i = value.end;
      tokens.push({ kind: "quoted", value: value.text, raw: sql.slice(start, i), offset: start });
      continue;
    }
    if (ch === "0" && (sql[i + 1] === "x" || sql[i + 1] === "X")) {
      i += 2;
      while (i < n && /[0-9a-fA-F]/.test(sql[i] as string)) i++;
      tokens.push({ kind: "binary", value: sql.slice(start + 2, i), raw: sql.slice(start, i), offset: start });
      continue;
    }
    if (/[0-9]/.test(ch)) {
      while (i < n && /[0-9.]/.test(sql[i] as string)) i++;
      tokens.push({ kind: "number", value: sql.slice(start, i), raw: sql.slice(start, i), offset: start });
      continue;
    }
    if (ch === "@") {
      i++;
      if (sql[i] === "@") i++;
      while (i < n && /[A-Za-z0-9_#$@]/.test(sql[i] as string)) i++;
      const raw = sql.slice(start, i);
      tokens.push({ kind: "variable", value: raw.toUpperCase(), raw, offset: start });
      continue;
    }
    if (/[A-Za-z_#]/.test(ch)) {
      while (i < n && /[A-Za-z0-9_#$@]/.test(sql[i] as string)) i++;
      const raw = sql.slice(start, i);
      tokens.push({ kind: "word", value: raw.toUpperCase(), raw, offset: start });
      continue;
    }
    const two = sql.slice(i, i + 2);
    if (PUNCT_TWO.includes(two)) {
      tokens.push({ kind: "punct", value: two, raw: two, offset: start });
      i += 2;
      continue;
    }
    if (PUNCT_ONE.includes(ch)) {
      tokens.push({ kind: "punct", value: ch, raw: ch, offset: start });
      i++;
      continue;
    }
    throw new SqlSyntaxError(`Incorrect syntax near '${ch}'.`, start);
  }
  return tokens;
}

function readQuoted(sql: string, openAt: number, open: string, close: string): { text: string; end: number } {
  let i = openAt + open.length;
  let text = "";
  for (;;) {
    if (i >= sql.length) {
      throw new SqlSyntaxError(`Unclosed quotation mark after the character string '${text.slice(0, 40)}'.`, openAt);
    }
    const ch = sql[i] as string;
    if (ch === close) {
      if (sql[i + 1] === close) {
        text += close;
        i += 2;
        continue;
      }
      return { text, end: i + 1 };
    }
    text += ch;
    i++;
  }
}
