// The dashboard's build: web/ into web/dist/, which the server serves at / (src/api/dashboard/web-files.ts).
// Every page is its own chunk (React.lazy in routes.tsx), so the activity page loads only what it
// draws; the charting library reaches the browser only with the stats page.
import { defineConfig } from "vite";
import react from "@vitejs/plugin-react";
import { fileURLToPath } from "node:url";

export default defineConfig({
  root: fileURLToPath(new URL(".", import.meta.url)),
  base: "/",
  plugins: [react()],
  // The API's request and answer types live beside its routes (src/api/dashboard/*.contract.ts).
  resolve: { alias: { "@contract": fileURLToPath(new URL("../src/api/dashboard", import.meta.url)) } },
  // No request may leave the machine: nothing is fetched from a CDN, fonts are the system's.
  build: {
    outDir: "dist",
    emptyOutDir: true,
    target: "es2022",
    sourcemap: false,
    reportCompressedSize: false,
    chunkSizeWarningLimit: 400,
  },
  logLevel: "warn",
});
