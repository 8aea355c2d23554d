// One `vitest run` runs every project: "node" (protocol core, cos-local, official-SDK oracles),
// "workerd" (the same code inside the Workers runtime, talking HTTP to cos-local), "browser" (the
// client and the demo page in Debian Chromium, test/browser/harness.ts) and
// "vercel-edge" (the Vercel Edge entry inside Vercel's Edge VM, @edge-runtime/vm).
import { cloudflareTest } from "@cloudflare/vitest-pool-workers";
import { defineConfig } from "vitest/config";

/** The API's configuration besides cos-local's address and credentials, the same for both runtimes. */
const API_VARS = {
  UPLOAD_TOKEN_SECRET: "workerd-test-upload-token-secret-0123456789",
  JWT_SECRET: "workerd-test-jwt-secret-0123456789abcdef",
  MAX_UPLOAD_BYTES: String(100 * 1024 * 1024),
  ALLOWED_CONTENT_TYPES: "image/*,video/*,text/plain,application/pdf,application/octet-stream",
  CORS_ORIGINS: "http://app.example",
  PART_SIZE: String(1024 * 1024),
  SINGLE_PUT_THRESHOLD: String(1024 * 1024),
};

export default defineConfig({
  test: {
    projects: [
      {
        test: {
          name: "node",
          include: ["test/node/**/*.test.ts"],
          environment: "node",
          testTimeout: 60_000,
          hookTimeout: 60_000,
        },
      },
      {
        plugins: [
          cloudflareTest(({ inject }) => ({
            main: "./functions/index.ts",
            wrangler: { configPath: "./wrangler.toml" },
            miniflare: {
              bindings: {
                COS_ENDPOINT: inject("cosLocalUrl"),
                COS_SECRET_ID: inject("cosLocalSecretId"),
                COS_SECRET_KEY: inject("cosLocalSecretKey"),
                COS_BUCKET: inject("cosLocalBucket"),
                COS_REGION: inject("cosLocalRegion"),
                ...API_VARS,
                // test/workerd/fuzz.test.ts: 1,000 cases in `npm test`, more from the soak's environment.
                FUZZ_RUNS: process.env.FUZZ_RUNS ?? "1000",
              },
              // test/workerd/ratelimit.test.ts: real miniflare rate limiters with limits small enough to reach.
              ratelimits: { TEST_RATE_LIMITER_CREATE: { simple: { limit: 3, period: 60 } }, TEST_RATE_LIMITER_SIGN: { simple: { limit: 4, period: 60 } } },
            },
          })),
        ],
        test: {
          name: "workerd",
          include: ["test/workerd/**/*.test.ts"],
          globalSetup: ["./test/workerd/global-setup.ts"],
          testTimeout: 60_000,
        },
      },
      {
        test: {
          name: "browser",
          // Debian Chromium through playwright-core (test/browser/harness.ts); each file starts its own rig.
          include: ["test/browser/**/*.test.ts"],
          environment: "node",
          testTimeout: 120_000,
          hookTimeout: 120_000,
        },
      },
      {
        test: {
          name: "vercel-edge",
          include: ["test/edge/**/*.test.ts"],
          environment: "edge-runtime",
          // The same cos-local setup as workerd (its own instance): URL and credentials by `inject`.
          globalSetup: ["./test/workerd/global-setup.ts"],
          provide: { apiVars: API_VARS },
          testTimeout: 60_000,
        },
      },
    ],
  },
});
