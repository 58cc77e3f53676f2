/// <reference types="vitest" />
import { defineConfig } from "vite";
import react from "@vitejs/plugin-react";

// The portal is served by nginx at `/`; the API lives on the same origin under /api/, so the
// session cookies ride along and no CORS is involved. `npm run dev` proxies /api to a local stack.
export default defineConfig({
  plugins: [react()],
  base: "/",
  build: { outDir: "dist", sourcemap: false, assetsDir: "assets" },
  server: {
    proxy: { "/api": process.env.NEURONOVA_URL ?? "http://127.0.0.1:8080" },
  },
  test: {
    environment: "jsdom",
    globals: true,
    setupFiles: ["src/test-setup.ts"],
    css: false,
  },
});
