// Cloudflare Workers entry: `fetch` is the app, `scheduled` the stale-upload sweeper
// (wrangler.toml [triggers]). Configuration comes from [vars] and secrets.

import { createApp } from "./app";
import { CosClient } from "./cos/client";
import { configFromEnv } from "./config";
import { abortStaleUploads, SWEEP_SKIPPED, sweepPrefix } from "./sweeper";

const app = createApp();

export default {
  fetch: app.fetch,
  async scheduled(_controller: unknown, env: Record<string, unknown>, ctx: { waitUntil(p: Promise<unknown>): void }): Promise<void> {
    const config = configFromEnv(env);
    const prefix = sweepPrefix(config.keyPrefix);
    if (prefix === null) {
      console.log(SWEEP_SKIPPED);
      return;
    }
    const cos = new CosClient({ credentials: config.cos.credentials, target: config.cos.target });
    ctx.waitUntil(
      abortStaleUploads(cos, config.staleUploadHours, Date.now(), prefix).then(({ aborted, failed }) => {
        console.log(`sweeper: aborted ${aborted.length} stale upload(s), ${failed.length} failed`);
      }),
    );
  },
};
