// Starts `npm run cos-local` (tsx emulator/cli.ts) as a child process, for the benches and tests
// that need cos-local in a process of its own (its RSS alone, a SIGKILL mid-request): resolves once
// its banner gives the address it listens on.

import { spawn, type ChildProcess } from "node:child_process";
import { resolve } from "node:path";
import { fileURLToPath } from "node:url";

const ROOT = resolve(fileURLToPath(import.meta.url), "../..");

export interface CosLocalProcess {
  child: ChildProcess;
  /** `http://127.0.0.1:<port>` */
  url: string;
  port: number;
}

export interface CosLocalProcessOptions {
  dataDir: string;
  /** COS_LOCAL_SECRET_ID, COS_LOCAL_BUCKET... (default: the dev ones). */
  env?: NodeJS.ProcessEnv;
  /** Where cos-local's stderr goes: inherited (default) or kept with the banner for the error message. */
  stderr?: "inherit" | "pipe";
}

export async function startCosLocalProcess(options: CosLocalProcessOptions): Promise<CosLocalProcess> {
  const child = spawn(process.execPath, ["--import", "tsx", "emulator/cli.ts", "--port", "0", "--data", options.dataDir], {
    cwd: ROOT,
    env: { ...process.env, ...options.env },
    stdio: ["ignore", "pipe", options.stderr ?? "inherit"],
  });
  let output = "";
  const url = await new Promise<string>((ready, fail) => {
    child.stdout!.on("data", (chunk: Buffer) => {
      output += chunk.toString();
      const match = /listening on (http:\/\/127\.0\.0\.1:\d+)/.exec(output);
      if (match) ready(match[1]);
    });
    child.stderr?.on("data", (chunk: Buffer) => (output += chunk.toString()));
    child.once("exit", (code) => fail(new Error(`cos-local exited (${code}) before listening:\n${output}`)));
  });
  return { child, url, port: Number(new URL(url).port) };
}
