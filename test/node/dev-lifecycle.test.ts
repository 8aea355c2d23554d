// `npm run dev` stops when the process that started it is killed on its own: npm does not pass
// SIGTERM on to its script (found by hand: `kill <npm's pid>` left dev.ts, wrangler and workerd
// running, holding the ports). Here a shell stands in for npm: it starts scripts/dev.ts in the
// background and is then killed with SIGKILL, so it can pass nothing on. Every process that holds
// the output pipe (dev.ts, wrangler, workerd) must be gone for it to close.

import { spawn } from "node:child_process";
import { once } from "node:events";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as delay } from "node:timers/promises";
import { expect, it } from "vitest";

const READY = /API (http:\/\/127\.0\.0\.1:\d+)/;

it("dev stops, wrangler and workerd included, when its parent dies without a word", async () => {
  const dir = await mkdtemp(join(tmpdir(), "cos-direct-dev-parent-"));
  const { JWT_SECRET: _jwt, UPLOAD_TOKEN_SECRET: _upload, ...inherited } = process.env;
  const parent = spawn("sh", ["-c", `"${process.execPath}" --import tsx scripts/dev.ts & wait`], {
    detached: true,
    stdio: ["ignore", "pipe", "pipe"],
    env: { ...inherited, PORT: "0", COS_LOCAL_PORT: "0", DEMO_PORT: "0", COS_LOCAL_DATA: join(dir, "data") },
  });
  let output = "";
  const closed = Promise.all([once(parent.stdout!, "close"), once(parent.stderr!, "close")]);
  try {
    const api = await new Promise<string>((ready, fail) => {
      const timer = setTimeout(() => fail(new Error(`dev was not ready in 60 s:\n${output}`)), 60_000);
      const read = (chunk: Buffer) => {
        output += chunk.toString();
        const match = READY.exec(output);
        if (match) {
          clearTimeout(timer);
          ready(match[1]);
        }
      };
      parent.stdout!.on("data", read);
      parent.stderr!.on("data", read);
    });
    expect((await fetch(`${api}/healthz`)).status).toBe(200);

    parent.kill("SIGKILL"); // the shell only: dev.ts and wrangler's group get no signal
    const gone = await Promise.race([closed.then(() => true), delay(20_000, false)]);
    expect(gone, output).toBe(true);
    expect(output).toContain("the process that started this one is gone");
    const after = await fetch(`${api}/healthz`).then(
      (res) => `answered ${res.status}`,
      () => "refused",
    );
    expect(after).toBe("refused");
  } finally {
    try {
      process.kill(-parent.pid!, "SIGKILL");
    } catch {
      // the group is gone
    }
    await rm(dir, { recursive: true, force: true });
  }
}, 90_000);
