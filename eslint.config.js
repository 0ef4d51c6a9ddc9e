// @ts-check
import js from "@eslint/js";
import tseslint from "typescript-eslint";

/** I/O libraries that the pure decision core must never import (ARCHITECTURE §2, CONVENTIONS 2). */
const ioLibraries = ["@kubernetes/client-node", "tedious", "winston", "prom-client", "express", "node-forge"];

export default tseslint.config(
  { ignores: ["**/dist/**", "**/node_modules/**", "**/*.d.ts"] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    files: ["**/*.ts"],
    rules: {
      "@typescript-eslint/no-unused-vars": ["error", { argsIgnorePattern: "^_", varsIgnorePattern: "^_" }],
      "@typescript-eslint/consistent-type-imports": "error",
      "no-console": "off",
      eqeqeq: ["error", "always", { null: "ignore" }],
    },
  },
  {
    files: ["packages/agent/src/core/**/*.ts"],
    rules: {
      "no-restricted-imports": [
        "error",
        {
          paths: ioLibraries.map((name) => ({ name, message: "agent/src/core is pure: no I/O libraries (CONVENTIONS 2)." })),
          patterns: [
            { group: ["node:*"], message: "agent/src/core is pure: no Node built-ins (CONVENTIONS 2)." },
            { group: ["@kubernetes/*", "tedious/*", "winston/*", "prom-client/*", "express/*"], message: "agent/src/core is pure." },
            { group: ["../sql/*", "../http/*", "../kube/*", "../*/adapters/*"], message: "agent/src/core must not reach into adapters." },
          ],
        },
      ],
      "no-restricted-globals": [
        "error",
        { name: "process", message: "Pass configuration in; core reads no environment." },
        { name: "setTimeout", message: "Inject a Clock; core has no timers." },
        { name: "setInterval", message: "Inject a Clock; core has no timers." },
        { name: "fetch", message: "core does no I/O." },
      ],
    },
  },
);
