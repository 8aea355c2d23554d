// Starts `npm run dev` (scripts/dev.ts) as a child process, for tests and benchmarks that need the
// real thing: cos-local plus the functions in `wrangler dev`. The child leads a process group of
// its own and stops wrangler's group itself on SIGTERM; if it does not exit, its group is killed.

import { spawn } from "node:child_process";
import { once } from "node:events";
import { resolve } from "node:path";
import { setTimeout as delay } from "node:timers/promises";
import { fileURLToPath } from "node:url";

export interface DevProcess {
  /** The demo page's origin (the URL `npm run dev` tells you to open). */
  demoUrl: string;
  /** The API's origin, `http://127.0.0.1:<port>`. */
  apiUrl: string;
  /** cos-local's origin. */
  cosUrl: string;
  /** Everything the child wrote so far (stdout and stderr). */
  output(): string;
  /** The child's pid; it leads its own process group (signal -pid to reach all of it, as Ctrl-C does). */
  pid: number;
  /** Resolves with the exit code (or signal name) once the child has exited. */
  exited: Promise<number | string>;
  stop(): Promise<void>;
}

const ROOT = resolve(fileURLToPath(import.meta.url), "../..");
const READY_LINE = /cos-direct dev: open (http:\/\/127\.0\.0\.1:\d+) .*API (http:\/\/127\.0\.0\.1:\d+) .*cos-local (http:\/\/127\.0\.0\.1:\d+)/;

/** Runs scripts/dev.ts on free ports with cos-local's data in `dataDir`; resolves once the API answers. */
export async function startDevProcess(options: { dataDir: string; timeoutMs?: number; env?: NodeJS.ProcessEnv }): Promise<DevProcess> {
  const { JWT_SECRET: _jwt, UPLOAD_TOKEN_SECRET: _upload, ...inherited } = process.env;
  const child = spawn(process.execPath, ["--import", "tsx", "scripts/dev.ts"], {
    cwd: ROOT,
    detached: true,
    stdio: ["ignore", "pipe", "pipe"],
    env: { ...inherited, PORT: "0", COS_LOCAL_PORT: "0", DEMO_PORT: "0", COS_LOCAL_DATA: options.dataDir, ...options.env },
  });
  const exited = once(child, "exit");
  let output = "";
  const stop = async () => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    try {
      process.kill(-child.pid!, "SIGTERM");
    } catch {
      return;
    }
    const done = await Promise.race([exited.then(() => true), delay(10_000, false)]);
    if (!done) {
      try {
        process.kill(-child.pid!, "SIGKILL");
      } catch {
        // gone meanwhile
      }
    }
  };
  const urls = await new Promise<RegExpExecArray>((ready, fail) => {
    const timer = setTimeout(() => fail(new Error(`npm run dev was not ready within ${options.timeoutMs ?? 60_000} ms:\n${output}`)), options.timeoutMs ?? 60_000);
    const read = (chunk: Buffer) => {
      output += chunk.toString();
      const match = READY_LINE.exec(output);
      if (match) {
        clearTimeout(timer);
        ready(match);
      }
    };
    child.stdout!.on("data", read);
    child.stderr!.on("data", read);
    void exited.then(([code]) => {
      clearTimeout(timer);
      fail(new Error(`npm run dev exited (${code}) before it was ready:\n${output}`));
    });
  }).catch(async (error: unknown) => {
    await stop();
    throw error;
  });
  return { demoUrl: urls[1], apiUrl: urls[2], cosUrl: urls[3], output: () => output, pid: child.pid!, exited: exited.then(([code, signal]) => code ?? signal), stop };
}
