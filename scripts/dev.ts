// `npm run dev`: cos-local (data under .cos-local/) plus the functions in workerd (`wrangler dev`)
// pointed at it, on 127.0.0.1, no cloud account. Ctrl-C stops both: wrangler's own binary is
// started in a process group of its own, and the whole group is signalled, so no workerd is left
// holding a port. Ports already taken are skipped (the next free one is used and printed).
import { spawn } from "node:child_process";
import { createServer } from "node:net";
import { resolve } from "node:path";
import { startCosLocal } from "../emulator/server";

const HOST = "127.0.0.1";

async function freePort(preferred: number): Promise<number> {
  for (let port = preferred; port < preferred + 20; port++) {
    const free = await new Promise<boolean>((done) => {
      const probe = createServer()
        .once("error", () => done(false))
        .listen(port, HOST, () => probe.close(() => done(true)));
    });
    if (free) return port;
  }
  throw new Error(`no free port on ${HOST} in ${preferred}-${preferred + 19}`);
}

const cosPort = await freePort(Number(process.env.COS_LOCAL_PORT ?? 9000));
const cos = await startCosLocal({ port: cosPort, dataDir: resolve(".cos-local") });
const apiPort = await freePort(Number(process.env.PORT ?? 8787));

const wrangler = spawn(
  process.execPath,
  [resolve("node_modules/wrangler/bin/wrangler.js"), "dev", "--ip", HOST, "--port", String(apiPort), "--var", `COS_ENDPOINT:${cos.url}`, "--show-interactive-dev-session=false"],
  {
    detached: true,
    stdio: ["ignore", "inherit", "inherit"],
    env: { ...process.env, WRANGLER_SEND_METRICS: "false", WRANGLER_SEND_ERROR_REPORTS: "false", CLOUDFLARE_CF_FETCH_ENABLED: "false", WRANGLER_HIDE_BANNER: "true" },
  },
);

let stopping = false;
async function stop(code: number): Promise<void> {
  if (stopping) return;
  stopping = true;
  try {
    if (wrangler.pid) process.kill(-wrangler.pid, "SIGTERM");
  } catch {
    // already gone
  }
  await cos.close();
  process.exit(code);
}
process.on("SIGINT", () => void stop(0));
process.on("SIGTERM", () => void stop(0));
wrangler.on("exit", (code) => void stop(code ?? 1));

console.log(`cos-direct dev: functions http://${HOST}:${apiPort}  cos-local ${cos.url}  (Ctrl-C stops both)`);
