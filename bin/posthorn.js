#!/usr/bin/env node
// The package's command. It runs the compiled entry point as it is; `npm run build` produces it
// from src/, and `npm start` and `npm test` rebuild it when a source changed (scripts/build.js).
import("../dist/src/main.js").catch((err) => {
  if (err && err.code === "ERR_MODULE_NOT_FOUND") {
    console.error("posthorn: not built yet; run `npm run build` first");
    process.exit(1);
  }
  throw err;
});
