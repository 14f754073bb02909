// Removes dist/ before a build, so a deleted source or test file cannot linger as compiled output.
import { rmSync } from "node:fs";
rmSync(new URL("../dist", import.meta.url), { recursive: true, force: true });
