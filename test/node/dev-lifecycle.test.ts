// `npm run dev` and the processes that launch it (scripts/launchers.ts). npm killed on its own does
// not pass SIGTERM on to its script (found by hand: `kill <npm's pid>` left dev.ts, wrangler and
// workerd running, holding the ports), so dev stops when npm is gone. But whatever started npm may
// end first on purpose (a CI step that starts the servers for later steps, nohup): dev goes on then.
//
// A shell runs `npm run dev &` and exits once dev is up; dev must keep answering. Then npm alone gets
// SIGTERM; dev must stop, and every holder of the output pipe (npm's shell, tsx, dev.ts, wrangler,
// workerd) must exit for the pipe to close.

import { spawn } from "node:child_process";
import { once } from "node:events";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as delay } from "node:timers/promises";
import { expect, it } from "vitest";

const READY = /API (http:\/\/127\.0\.0\.1:\d+)/;

it("dev outlives the shell that started npm run dev in the background, and stops, wrangler and workerd included, when npm alone is killed", async () => {
  const dir = await mkdtemp(join(tmpdir(), "cos-direct-dev-launchers-"));
  const { JWT_SECRET: _jwt, UPLOAD_TOKEN_SECRET: _upload, ...inherited } = process.env;
  // The shell waits on its stdin, so it is still there once dev is up; closing stdin ends it.
  const shell = spawn("sh", ["-c", "npm run dev & echo npm=$!; read line"], {
    detached: true,
    stdio: ["pipe", "pipe", "pipe"],
    env: { ...inherited, PORT: "0", COS_LOCAL_PORT: "0", DEMO_PORT: "0", COS_LOCAL_DATA: join(dir, "data") },
  });
  let output = "";
  const closed = Promise.all([once(shell.stdout!, "close"), once(shell.stderr!, "close")]);
  let npm = 0;
  try {
    const api = await new Promise<string>((ready, fail) => {
      const timer = setTimeout(() => fail(new Error(`dev was not ready in 60 s:\n${output}`)), 60_000);
      const read = (chunk: Buffer) => {
        output += chunk.toString();
        npm ||= Number(/npm=(\d+)/.exec(output)?.[1] ?? 0);
        const match = READY.exec(output);
        if (match) {
          clearTimeout(timer);
          ready(match[1]);
        }
      };
      shell.stdout!.on("data", read);
      shell.stderr!.on("data", read);
    });
    expect(npm).toBeGreaterThan(1);
    expect(shell.exitCode).toBeNull();
    shell.stdin!.end();
    await once(shell, "exit");
    await delay(1500); // three rounds of dev's check
    expect((await fetch(`${api}/healthz`)).status).toBe(200);
    expect(output).not.toContain("is gone");

    process.kill(npm, "SIGTERM"); // npm only: it passes nothing on
    const stopped = await Promise.race([closed.then(() => true), delay(20_000, false)]);
    expect(stopped, output).toBe(true);
    expect(output).toContain("the process that started this one is gone");
    const after = await fetch(`${api}/healthz`).then(
      (res) => `answered ${res.status}`,
      () => "refused",
    );
    expect(after).toBe("refused");
  } finally {
    for (const group of [shell.pid!, npm]) {
      try {
        if (group > 1) process.kill(-group, "SIGKILL");
      } catch {
        // the group is gone
      }
    }
    await rm(dir, { recursive: true, force: true });
  }
}, 90_000);
