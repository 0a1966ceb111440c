import { defineConfig } from "vitest/config";

// Same origin in production (the gateway serves / and /api/v1, /ws); the dev server proxies
// both to the local stack's gateway so the app never needs CORS.
const gateway = process.env.MP_GATEWAY_URL ?? "http://127.0.0.1:8080";

export default defineConfig({
  server: {
    host: "127.0.0.1",
    port: 5173,
    proxy: {
      "/api": { target: gateway, changeOrigin: false },
      "/ws": { target: gateway.replace(/^http/, "ws"), ws: true },
    },
  },
  build: { outDir: "dist", sourcemap: false, chunkSizeWarningLimit: 400 },
  test: { include: ["tests/**/*.test.ts"], environment: "node" },
});
