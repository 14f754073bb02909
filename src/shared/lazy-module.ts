// Packages that only some work needs, loaded the first time that work comes instead of at start.
// Every process start (a server, each of its threads, each CLI command) paid ~0.4 s of CPU to
// compile mailparser, mailauth, juice, html-to-text, selfsigned and maxmind, about a third of a
// server's start, though most processes never parse inbound mail, inline CSS or make a
// certificate; liquidjs, yaml and pg followed (templates, YAML journeys and PostgreSQL are not
// every process's work either). They are CommonJS packages, so a synchronous require loads them
// where the caller is synchronous (renderContent) as well as where it is not. The price: the first
// message that needs one waits for it to load (100–200 ms once per process), where every start
// paid it before.
import { createRequire } from "node:module";

const require = createRequire(import.meta.url);

/** A loader for `id`: the package's exports, required on the first call and kept. */
export function lazyModule<T>(id: string): () => T {
  let loaded: T | undefined;
  return () => (loaded ??= require(id) as T);
}
