#!/usr/bin/env node
// The package's command. It runs the compiled entry point as it is: the bundled server
// (dist/bundle/, scripts/bundle-server.js) when the build made one, else dist/src/main.js (an
// install without development dependencies has no bundler). `npm run build` produces both from
// src/, and `npm start` and `npm test` rebuild them when a source changed (scripts/build.js).
import { existsSync } from "node:fs";

const bundled = new URL("../dist/bundle/main.js", import.meta.url);
const entry = existsSync(bundled) ? bundled : new URL("../dist/src/main.js", import.meta.url);
import(entry.href).catch((err) => {
  if (err && err.code === "ERR_MODULE_NOT_FOUND" && !existsSync(entry)) {
    console.error("posthorn: not built yet; run `npm run build` first");
    process.exit(1);
  }
  throw err;
});
