/**
 * Test-side stand-in for the apiserver's validation of a custom resource: structural validation with ajv
 * (after the same defaulting) and evaluation of the schema's own `x-kubernetes-validations` rule strings with
 * @marcbachmann/cel-js, including transition rules (`oldSelf`) correlated the way the apiserver correlates
 * them (object properties, map values, and list-type=map items by key).
 *
 * Only tests import this module: ajv and cel-js are development dependencies.
 */
import { Ajv } from "ajv";
import type { ValidateFunction } from "ajv";
import { parse } from "@marcbachmann/cel-js";
import type { CelValidation, JsonSchemaProps } from "./openapi.js";
import { applySchemaDefaults } from "./defaulting.js";

export interface Violation {
  /** JSON-ish path of the offending field, e.g. `spec.replicas[2]` or `spec.replicas`. */
  path: string;
  message: string;
  source: "structural" | "cel";
}

export class CelRuleError extends Error {
  constructor(
    readonly rule: string,
    readonly path: string,
    options: { cause: unknown },
  ) {
    super(`CEL rule at ${path} failed to evaluate: ${rule}`, options);
    this.name = "CelRuleError";
  }
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/**
 * The schema as ajv should see it: Kubernetes extensions removed, and unknown fields rejected the way
 * `kubectl apply` (strict field validation) rejects them instead of pruning silently.
 */
function toAjvSchema(schema: JsonSchemaProps): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(schema)) {
    if (key.startsWith("x-kubernetes-") || key === "default" || key === "description") continue;
    if (key === "properties") {
      out[key] = Object.fromEntries(Object.entries(value as Record<string, JsonSchemaProps>).map(([name, child]) => [name, toAjvSchema(child)]));
    } else if (key === "items" || key === "additionalProperties") {
      out[key] = toAjvSchema(value as JsonSchemaProps);
    } else {
      out[key] = value;
    }
  }
  if (schema.properties !== undefined && schema.additionalProperties === undefined) out["additionalProperties"] = false;
  return out;
}

const ajv = new Ajv({ allErrors: true, strict: false, validateFormats: false });
const compiled = new WeakMap<JsonSchemaProps, ValidateFunction>();

export function structuralViolations(schema: JsonSchemaProps, value: unknown): Violation[] {
  let validate = compiled.get(schema);
  if (validate === undefined) {
    validate = ajv.compile(toAjvSchema(schema));
    compiled.set(schema, validate);
  }
  if (validate(value)) return [];
  return (validate.errors ?? []).map((error) => ({
    path: error.instancePath.replace(/^\//, "").replaceAll("/", "."),
    message: `${error.message ?? error.keyword}${error.params !== undefined ? ` ${JSON.stringify(error.params)}` : ""}`,
    source: "structural" as const,
  }));
}

/** CEL ints are 64-bit: JSON integers become BigInt so `a + b + 2` type-checks as in the apiserver. */
function toCel(value: unknown): unknown {
  if (typeof value === "number" && Number.isInteger(value)) return BigInt(value);
  if (Array.isArray(value)) return value.map(toCel);
  if (isPlainObject(value)) return Object.fromEntries(Object.entries(value).map(([key, child]) => [key, toCel(child)]));
  return value;
}

const parsedRules = new Map<string, ReturnType<typeof parse>>();
function evaluateCel(expression: string, context: Record<string, unknown>): unknown {
  let program = parsedRules.get(expression);
  if (program === undefined) {
    program = parse(expression);
    parsedRules.set(expression, program);
  }
  return program(context);
}

function usesOldSelf(rule: CelValidation): boolean {
  return /\boldSelf\b/.test(rule.rule);
}

function checkRules(schema: JsonSchemaProps, value: unknown, old: unknown, path: string, violations: Violation[]): void {
  for (const rule of schema["x-kubernetes-validations"] ?? []) {
    const isTransition = usesOldSelf(rule);
    if (isTransition && old === undefined) continue;
    const context = isTransition ? { self: toCel(value), oldSelf: toCel(old) } : { self: toCel(value) };
    const rulePath = path + (rule.fieldPath ?? "");
    let result: unknown;
    try {
      result = evaluateCel(rule.rule, context);
    } catch (cause) {
      throw new CelRuleError(rule.rule, rulePath, { cause });
    }
    if (result === true) continue;
    let message = rule.message;
    if (rule.messageExpression !== undefined) {
      try {
        message = String(evaluateCel(rule.messageExpression, context));
      } catch (cause) {
        throw new CelRuleError(rule.messageExpression, rulePath, { cause });
      }
    }
    violations.push({ path: rulePath, message, source: "cel" });
  }
}

function walk(schema: JsonSchemaProps, value: unknown, old: unknown, path: string, violations: Violation[]): void {
  checkRules(schema, value, old, path, violations);
  if (Array.isArray(value)) {
    const items = schema.items;
    if (items === undefined) return;
    const keys = schema["x-kubernetes-list-type"] === "map" ? (schema["x-kubernetes-list-map-keys"] ?? []) : undefined;
    value.forEach((item, index) => {
      let oldItem: unknown;
      if (keys !== undefined && Array.isArray(old) && isPlainObject(item)) {
        oldItem = old.find((candidate) => isPlainObject(candidate) && keys.every((key) => candidate[key] === item[key]));
      }
      walk(items, item, oldItem, `${path}[${index}]`, violations);
    });
    return;
  }
  if (!isPlainObject(value)) return;
  for (const [key, child] of Object.entries(value)) {
    const childSchema = schema.properties?.[key] ?? schema.additionalProperties;
    if (childSchema === undefined) continue;
    const oldChild = isPlainObject(old) ? old[key] : undefined;
    walk(childSchema, child, oldChild, path === "" ? key : `${path}.${key}`, violations);
  }
}

/** Messages of every CEL rule the (already defaulted) object violates; `old` enables transition rules. */
export function celViolations(schema: JsonSchemaProps, value: unknown, old?: unknown): Violation[] {
  const violations: Violation[] = [];
  walk(schema, value, old, "", violations);
  return violations;
}

/**
 * What the apiserver would say about a create (no `old`) or an update: defaults applied to both objects,
 * then structural and CEL violations together. CEL rules run only when the structure is valid, because
 * a rule may read fields whose type the structural check has not yet guaranteed.
 */
export function validateCustomResource(schema: JsonSchemaProps, value: unknown, old?: unknown): Violation[] {
  const defaulted = applySchemaDefaults(schema, value);
  const structural = structuralViolations(schema, defaulted);
  if (structural.length > 0) return structural;
  return celViolations(schema, defaulted, old === undefined ? undefined : applySchemaDefaults(schema, old));
}
