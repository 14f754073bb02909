// Lint: the recommended rules of ESLint and typescript-eslint (the type checker does the rest), and
// the dependency rule of DESIGN.md: domains never import the edges (api/, smtp/), the wiring
// (app/, cli/) or the libraries that only edges use (Fastify, smtp-server); edges never touch
// repositories or the store; shared/ knows no domain. Tests and test helpers (testing/) may
// reach anywhere. ESLint's own no-restricted-imports does it: no plugin needed for path rules.
import js from "@eslint/js";
import tseslint from "typescript-eslint";
import reactHooks from "eslint-plugin-react-hooks";

// config/ is not among them: like app/, it composes what every part declares (edges included).
const DOMAINS = ["bounces", "broadcasts", "bulk", "channels", "compose", "data-removals", "events", "inbound", "journeys", "messages", "mta", "people", "segments", "senders", "sending-domains", "stats", "store", "suppressions", "templates", "tracking", "webhooks", "workspaces"];
const TESTS = ["**/*.test.ts", "**/testing/**"];

const edgeLibraries = [
  { name: "fastify", message: "Domains are transport-free: HTTP belongs to src/api/." },
  { name: "smtp-server", message: "Domains are transport-free: SMTP listeners belong to src/smtp/." },
];
const outerLayers = [
  { group: ["**/api/**", "**/smtp/**"], message: "Domains never import the edges (DESIGN.md): an edge calls the domain, and maps its errors." },
  { group: ["**/app/**", "**/cli/**"], message: "Only src/app/ builds and wires objects; domains receive what they use." },
];

export default tseslint.config(
  { ignores: ["dist/", "node_modules/", "data/", "web/dist/"] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: { globals: { process: "readonly", console: "readonly", Buffer: "readonly", setTimeout: "readonly", clearTimeout: "readonly", setImmediate: "readonly", URL: "readonly", fetch: "readonly" } },
    rules: {
      "@typescript-eslint/no-unused-vars": ["error", { argsIgnorePattern: "^_", varsIgnorePattern: "^_" }],
    },
  },
  // The dashboard (web/): React's rules of hooks, which the type checker cannot see.
  {
    files: ["web/src/**/*.{ts,tsx}"],
    plugins: { "react-hooks": reactHooks },
    rules: { "react-hooks/rules-of-hooks": "error", "react-hooks/exhaustive-deps": "warn" },
  },
  {
    files: DOMAINS.map((d) => `src/${d}/**/*.ts`),
    ignores: TESTS,
    rules: { "no-restricted-imports": ["error", { paths: edgeLibraries, patterns: outerLayers }] },
  },
  {
    files: ["src/api/**/*.ts", "src/smtp/**/*.ts"],
    ignores: TESTS,
    rules: {
      "no-restricted-imports": [
        "error",
        {
          patterns: [
            { group: ["**/*.repository.js", "**/store/store.js"], message: "Edges call domain services, never repositories or the store (DESIGN.md)." },
            { group: ["**/app/**", "**/cli/**"], message: "Only src/app/ builds and wires objects." },
          ],
        },
      ],
    },
  },
  {
    files: ["src/shared/**/*.ts"],
    ignores: TESTS,
    rules: { "no-restricted-imports": ["error", { patterns: [{ group: ["../*", "!../shared/**"], message: "shared/ holds no domain knowledge: it imports nothing outside itself." }] }] },
  },
  // Kysely's values come through src/store/kysely.ts (its CommonJS build, cheaper to load): a value
  // imported from "kysely" itself would load its ES module build as a second copy. Types are erased.
  {
    files: ["src/**/*.ts", "test/**/*.ts", "bench/**/*.ts"],
    ignores: ["src/store/kysely.ts"],
    rules: {
      "@typescript-eslint/no-restricted-imports": [
        "error",
        { paths: [{ name: "kysely", allowTypeImports: true, message: "Import Kysely's values from src/store/kysely.ts (one copy, its CommonJS build); types may come from \"kysely\"." }] },
      ],
    },
  },
);
