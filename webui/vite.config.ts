/// <reference types="vitest/config" />
import { fileURLToPath } from "node:url";
import react from "@vitejs/plugin-react";
import { defineConfig } from "vite";

// The build lands inside the Python package, which serves it at `/` (otelguard.webui.static).
const outDir = fileURLToPath(new URL("../src/otelguard/webui/static", import.meta.url));
const api = process.env.OTELGUARD_API_URL ?? "http://127.0.0.1:8080";

export default defineConfig({
  plugins: [react()],
  build: {
    outDir,
    emptyOutDir: true,
    assetsDir: "assets",
    sourcemap: false,
    chunkSizeWarningLimit: 400,
  },
  server: {
    proxy: { "/api": api, "/healthz": api },
  },
  test: {
    environment: "node",
    include: ["src/**/*.test.ts"],
  },
});
