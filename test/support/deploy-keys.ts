// What the deployment files (deploy/) may set in Posthorn's environment: the names src/config/
// reads (CONFIG_KEYS, from every fragment), so a misspelt or removed setting in a Dockerfile, the
// compose file or the Helm chart fails a test instead of being silently ignored at start.
import { CONFIG_KEYS } from "../../src/config/config.schema.js";

/** Read by Node itself, not by src/config. */
const NODE_KEYS = new Set(["NODE_ENV", "NODE_OPTIONS"]);

/** The names among `names` that nothing reads. */
export function unreadKeys(names: Iterable<string>): string[] {
  return [...names].filter((name) => !CONFIG_KEYS.has(name) && !NODE_KEYS.has(name));
}
