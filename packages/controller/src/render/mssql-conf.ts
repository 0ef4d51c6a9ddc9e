/**
 * mssql.conf rendering. The user's `mssqlConf` map uses `section.key` names (the existing operator's format);
 * the file groups them under `[section]` headers. Sections and keys are sorted so the same spec always yields
 * the same bytes: the content hash on the pod template then changes only when the configuration does, which is
 * what rolls the pods (a mounted ConfigMap is read by SQL Server at start only).
 */
import { createHash } from "node:crypto";

/** `section.key`, each part a plain INI word: anything else could inject a header or a second key. */
const MSSQL_CONF_KEY_PATTERN = /^[A-Za-z0-9_]+\.[A-Za-z0-9_]+$/;

/** The AG needs HADR on every replica; it is always written and a user value cannot turn it off. */
export const HADR_ENABLED_KEY = "hadr.hadrenabled";
export const SQL_AGENT_ENABLED_KEY = "sqlagent.enabled";

/** Settings the AG renderer forces whatever the spec says. */
export const FORCED_AG_MSSQL_CONF: Readonly<Record<string, string>> = { [HADR_ENABLED_KEY]: "1" };

/**
 * Renders `section.key → value` entries as INI text, sections sorted, keys sorted inside a section, one blank line
 * between sections and a final newline. `forced` entries override the user's. Assumes validated input.
 */
export function renderMssqlConf(userConf: Readonly<Record<string, string>>, forced: Readonly<Record<string, string>> = {}): string {
  const merged = new Map<string, Map<string, string>>();
  for (const [fullKey, value] of [...Object.entries(userConf), ...Object.entries(forced)]) {
    const dot = fullKey.indexOf(".");
    const section = fullKey.slice(0, dot);
    const key = fullKey.slice(dot + 1);
    const entries = merged.get(section) ?? new Map<string, string>();
    entries.set(key, value);
    merged.set(section, entries);
  }
  const blocks = [...merged.keys()].sort(compareCodeUnits).map((section) => {
    const entries = merged.get(section) ?? new Map<string, string>();
    const lines = [...entries.keys()].sort(compareCodeUnits).map((key) => `${key} = ${entries.get(key) ?? ""}`);
    return [`[${section}]`, ...lines].join("\n");
  });
  return `${blocks.join("\n\n")}\n`;
}

/** Locale-independent ordering, so two machines render identical bytes. */
function compareCodeUnits(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** sha256 of the rendered file, put on the pod template so a configuration change rolls the pods. */
export function mssqlConfHash(renderedConf: string): string {
  return createHash("sha256").update(renderedConf, "utf8").digest("hex");
}

/**
 * Problems with a `mssqlConf` map as full sentences. `requireHadr` is set for AGs, where HADR cannot be disabled.
 */
export function validateMssqlConf(conf: Readonly<Record<string, string>>, requireHadr: boolean): string[] {
  const problems: string[] = [];
  const seenCaseInsensitive = new Map<string, string>();
  for (const [key, value] of Object.entries(conf)) {
    if (!MSSQL_CONF_KEY_PATTERN.test(key)) {
      problems.push(
        `spec.mssqlConf key "${key}" is not of the form section.setting (letters, digits and underscores, exactly one dot); rename it, for example "memory.memorylimitmb".`,
      );
      continue;
    }
    if (/[\r\n\0]/.test(value)) {
      problems.push(`spec.mssqlConf value of "${key}" contains a line break or NUL character, which would corrupt mssql.conf; put the value on one line.`);
    }
    if (value.trim() !== value || value === "") {
      problems.push(`spec.mssqlConf value of "${key}" is empty or has leading/trailing spaces; set a plain value such as "true" or "4096".`);
    }
    const lower = key.toLowerCase();
    const earlier = seenCaseInsensitive.get(lower);
    if (earlier !== undefined) {
      problems.push(`spec.mssqlConf has both "${earlier}" and "${key}", which SQL Server reads as the same setting; keep only one of them.`);
    }
    seenCaseInsensitive.set(lower, key);
    if (requireHadr && lower === HADR_ENABLED_KEY && value !== "1") {
      problems.push(`spec.mssqlConf sets "${key}" to "${value}", but an availability group needs HADR; remove the key (sqlag always writes hadrenabled = 1).`);
    }
    if (lower === SQL_AGENT_ENABLED_KEY && value !== "true" && value !== "false") {
      problems.push(`spec.mssqlConf "${key}" must be "true" or "false", not "${value}".`);
    }
  }
  return problems;
}
