/**
 * Replays validation-cases.ts against a real kube-apiserver that has the CRDs installed, with server-side
 * dry-run, and reports every case whose outcome differs from the unit tests' expectation. It checks the one
 * thing the unit tests cannot: that the apiserver (cel-go, its defaulting and its cost limits) agrees with
 * the ajv + cel-js harness.
 *
 *   node packages/api/dist/schema/replay-apiserver.js --kubeconfig <path> [--kubectl <path>] [--namespace default]
 *
 * Update cases create the stored object for real, replay the update as a dry-run, then delete it.
 * Not exported from the package index: it runs kubectl.
 */
import { spawnSync } from "node:child_process";
import { resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import {
  acceptedAvailabilityGroupUpdates,
  invalidAvailabilityGroups,
  rejectedAvailabilityGroupUpdates,
  rejectedInstances,
  structurallyInvalidAvailabilityGroups,
  validAvailabilityGroups,
} from "./validation-cases.js";
import { minimalInstance } from "./fixtures.js";

interface Kubectl {
  run(args: string[], object?: unknown): { ok: boolean; output: string };
}

function kubectl(binary: string, kubeconfig: string, namespace: string): Kubectl {
  return {
    run(args, object) {
      const result = spawnSync(binary, ["--kubeconfig", kubeconfig, "--namespace", namespace, ...args], {
        input: object === undefined ? undefined : JSON.stringify(object),
        encoding: "utf8",
      });
      return { ok: result.status === 0, output: `${result.stdout}${result.stderr}` };
    },
  };
}

interface Outcome {
  name: string;
  problem?: string;
}

/**
 * The object with the namespace stripped (kubectl supplies it) and a name unique to the case; a name that is
 * itself under test (too long) is kept as it is.
 */
function forCase<T extends { metadata: { name: string; namespace?: string } }>(object: T, index: number): T {
  const copy = structuredClone(object);
  delete copy.metadata.namespace;
  if (copy.metadata.name.length <= 40) copy.metadata.name = `${copy.metadata.name}-case${index}`;
  return copy;
}

function expectAccepted(k: Kubectl, name: string, verb: string[], object: unknown): Outcome {
  const { ok, output } = k.run([...verb, "--dry-run=server", "-f", "-"], object);
  return ok ? { name } : { name, problem: `expected acceptance, got: ${output.trim()}` };
}

function expectRejected(k: Kubectl, name: string, verb: string[], object: unknown, messages: string[]): Outcome {
  const { ok, output } = k.run([...verb, "--dry-run=server", "-f", "-"], object);
  if (ok) return { name, problem: "expected rejection, the apiserver accepted it" };
  const missing = messages.filter((message) => !output.includes(message));
  return missing.length === 0 ? { name } : { name, problem: `missing ${JSON.stringify(missing)} in: ${output.trim()}` };
}

function withStored<T extends { metadata: { name: string } }>(k: Kubectl, old: T, check: () => Outcome): Outcome {
  const created = k.run(["create", "-f", "-"], old);
  if (!created.ok) return { name: old.metadata.name, problem: `could not create the stored object: ${created.output.trim()}` };
  try {
    return check();
  } finally {
    k.run(["delete", "--wait=false", "-f", "-"], old);
  }
}

export function replay(k: Kubectl): Outcome[] {
  const outcomes: Outcome[] = [];
  let index = 0;
  for (const c of validAvailabilityGroups) outcomes.push(expectAccepted(k, c.name, ["create"], forCase(c.object, index++)));
  outcomes.push(expectAccepted(k, "minimal instance", ["create"], forCase(minimalInstance(), index++)));
  for (const c of invalidAvailabilityGroups) outcomes.push(expectRejected(k, c.name, ["create"], forCase(c.object, index++), c.messages));
  for (const c of structurallyInvalidAvailabilityGroups) {
    // The apiserver words schema errors its own way; what must agree is that it rejects them.
    const object = forCase(c.object as { metadata: { name: string } }, index++);
    outcomes.push(expectRejected(k, `structural: ${c.name}`, ["create", "--validate=strict"], object, []));
  }
  for (const c of rejectedInstances) {
    const i = index++;
    if (c.old === undefined) outcomes.push(expectRejected(k, `instance: ${c.name}`, ["create"], forCase(c.object, i), c.messages));
    else outcomes.push(withStored(k, forCase(c.old, i), () => expectRejected(k, `instance update: ${c.name}`, ["replace"], forCase(c.object, i), c.messages)));
  }
  for (const c of rejectedAvailabilityGroupUpdates) {
    const i = index++;
    const old = c.old;
    if (old === undefined) continue;
    outcomes.push(withStored(k, forCase(old, i), () => expectRejected(k, `update: ${c.name}`, ["replace"], forCase(c.object, i), c.messages)));
  }
  for (const c of acceptedAvailabilityGroupUpdates) {
    const i = index++;
    outcomes.push(withStored(k, forCase(c.old, i), () => expectAccepted(k, `update: ${c.name}`, ["replace"], forCase(c.object, i))));
  }
  return outcomes;
}

function main(): number {
  const { values } = parseArgs({
    options: { kubeconfig: { type: "string" }, kubectl: { type: "string", default: "kubectl" }, namespace: { type: "string", default: "default" } },
  });
  if (values.kubeconfig === undefined) {
    console.error("usage: replay-apiserver.js --kubeconfig <path> [--kubectl <path>] [--namespace <ns>]");
    return 2;
  }
  const outcomes = replay(kubectl(values.kubectl, values.kubeconfig, values.namespace));
  const failed = outcomes.filter((o) => o.problem !== undefined);
  for (const o of failed) console.log(`FAIL ${o.name}: ${o.problem}`);
  console.log(`${outcomes.length - failed.length}/${outcomes.length} cases agree with the apiserver`);
  return failed.length === 0 ? 0 : 1;
}

if (process.argv[1] !== undefined && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  process.exitCode = main();
}
