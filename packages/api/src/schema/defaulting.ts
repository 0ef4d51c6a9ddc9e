/**
 * Structural defaulting as the apiserver does it for custom resources: walking top-down, a missing property
 * with a `default` gets a copy of it, and the walk then continues into it, so nested defaults under a
 * defaulted `{}` apply too. Used by tests to see a CR exactly as CEL rules and the controller will.
 */
import type { JsonSchemaProps } from "./openapi.js";

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function defaultInPlace(value: unknown, schema: JsonSchemaProps): void {
  if (Array.isArray(value)) {
    if (schema.items !== undefined) for (const item of value) defaultInPlace(item, schema.items);
    return;
  }
  if (!isPlainObject(value)) return;
  for (const [key, property] of Object.entries(schema.properties ?? {})) {
    if (property.default !== undefined && value[key] === undefined) value[key] = structuredClone(property.default);
  }
  for (const [key, child] of Object.entries(value)) {
    const childSchema = schema.properties?.[key] ?? schema.additionalProperties;
    if (childSchema !== undefined) defaultInPlace(child, childSchema);
  }
}

/** A defaulted deep copy of `value`; the input is not modified. */
export function applySchemaDefaults<T>(schema: JsonSchemaProps, value: T): T {
  const copy = structuredClone(value);
  defaultInPlace(copy, schema);
  return copy;
}
