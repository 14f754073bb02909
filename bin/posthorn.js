#!/usr/bin/env node
// The package's command. It runs the compiled entry point; `npm run build` (run by `npm start`
// and `npm test`) produces it from src/.
import("../dist/src/main.js").catch((err) => {
  if (err && err.code === "ERR_MODULE_NOT_FOUND") {
    console.error("posthorn: not built yet; run `npm run build` first");
    process.exit(1);
  }
  throw err;
});
