// One `vitest run` runs every project: "node" (protocol core, cos-local, official-SDK oracles)
// and "workerd" (the same code inside the Workers runtime, talking HTTP to cos-local).
import { cloudflareTest } from "@cloudflare/vitest-pool-workers";
import { defineConfig } from "vitest/config";

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
              },
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
    ],
  },
});
