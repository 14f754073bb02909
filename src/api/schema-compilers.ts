// Fastify's schema compilers, loaded the first time a route declares a JSON schema.
//
// Posthorn's routes read their input through zod contracts (dashboard.input.ts and each API's
// readers) and declare no JSON schema, yet Fastify builds its default compilers when an instance
// is made: Ajv and fast-json-stringify, about 200 files and ~90 ms of CPU, paid by every server
// start and every test that makes a server. These builders defer that to the first route that
// needs them, and then behave as Fastify's own defaults (the same packages, the same options).
import { createRequire } from "node:module";
import type { FastifyServerOptions } from "fastify";

type CompilersFactory = NonNullable<NonNullable<FastifyServerOptions["schemaController"]>["compilersFactory"]>;

// Resolved from Fastify's own location: they are its dependencies, not ours.
const fromFastify = createRequire(createRequire(import.meta.url).resolve("fastify"));

type Builder = (...args: unknown[]) => unknown;

function lazyBuilder(pkg: string): Builder {
  let built: Builder | null = null;
  return (...args) => {
    // Each package exports a factory whose result caches compiled schemas; made once, like Fastify does.
    built ??= (fromFastify(pkg) as () => Builder)();
    return built(...args);
  };
}

/** For Fastify's `schemaController.compilersFactory`. */
export function lazySchemaCompilers(): CompilersFactory {
  return {
    buildValidator: lazyBuilder("@fastify/ajv-compiler") as CompilersFactory["buildValidator"],
    buildSerializer: lazyBuilder("@fastify/fast-json-stringify-compiler") as CompilersFactory["buildSerializer"],
  };
}
