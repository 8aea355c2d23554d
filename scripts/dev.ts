// `npm run dev`: cos-local (data under .cos-local/), the functions in workerd (`wrangler dev`)
// pointed at it, and the demo page (scripts/demo-server.ts), on 127.0.0.1, no cloud account. Both
// allow the demo's origin as a deployment would allow its app: the functions by CORS_ORIGINS, and
// cos-local's bucket CORS by a rule for that origin exposing ETag and the CRC64 header (a bucket
// rule set with PUT /?cors still wins, as on COS). Ctrl-C stops everything: wrangler's own binary is
// started in a process group of its own, and the whole group is signalled, so no workerd is left
// holding a port. Ports already taken are skipped (the next free one is used and printed).
//
// The functions get cos-local's credentials and DEV-ONLY secrets (scripts/dev-env.ts) in an env file
// only this user can read (not --var flags, which `ps` shows), passed after .dev.vars so they win
// over it and wrangler.toml [vars]; put other settings (MAX_UPLOAD_BYTES...) in .dev.vars. Once
// /healthz answers, one line gives the URLs.
//
// Environment: DEMO_PORT (the page, default 5173), PORT (API, default 8787), COS_LOCAL_PORT (default
// 9000; 0 for any free port on each), COS_LOCAL_DATA (default .cos-local), JWT_SECRET /
// UPLOAD_TOKEN_SECRET (override the dev ones).

import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { once } from "node:events";
import { createServer } from "node:net";
import { join, resolve } from "node:path";
import { setTimeout as delay } from "node:timers/promises";
import { DEV_CORS, type CorsConfiguration } from "../emulator/cors";
import { startCosLocal } from "../emulator/server";
import { startDemoServer } from "./demo-server";
import { devJwt, devVars } from "./dev-env";
import { gone, launchers } from "./launchers";

// Taken before any await: a launcher that dies during startup must still be seen to go.
const watched = launchers();

const HOST = "127.0.0.1";
const READY_TIMEOUT_MS = 60_000;

function listenable(port: number): Promise<number | null> {
  return new Promise((done) => {
    const probe = createServer()
      .once("error", () => done(null))
      .listen(port, HOST, () => {
        const { port: bound } = probe.address() as { port: number };
        probe.close(() => done(bound));
      });
  });
}

/** Ports chosen so far: the three servers bind one after another, so a port free now may be another's. */
const chosen = new Set<number>();

/** `preferred` or the next free port after it that no other server took; 0 asks the system for any free port. */
async function freePort(preferred: number): Promise<number> {
  const take = (port: number) => (chosen.add(port), port);
  if (preferred === 0) {
    for (;;) {
      const port = (await listenable(0))!;
      if (!chosen.has(port)) return take(port);
    }
  }
  for (let port = preferred; port < preferred + 20; port++) if (!chosen.has(port) && (await listenable(port)) !== null) return take(port);
  throw new Error(`no free port on ${HOST} in ${preferred}-${preferred + 19}`);
}

/** cos-local's dev rule (ETag, CRC64... exposed) for the demo's origin only: without ETag the client cannot confirm a part. */
function corsFor(origin: string): CorsConfiguration {
  return { rules: DEV_CORS.rules.map((rule) => ({ ...rule, id: "cos-direct-demo", allowedOrigins: [origin] })) };
}

// The demo's port is chosen first: cos-local's CORS rule names its origin.
const demoPort = await freePort(Number(process.env.DEMO_PORT ?? 5173));
const demoOrigin = `http://${HOST}:${demoPort}`;
const cos = await startCosLocal({
  port: await freePort(Number(process.env.COS_LOCAL_PORT ?? 9000)),
  dataDir: resolve(process.env.COS_LOCAL_DATA || ".cos-local"),
  cors: corsFor(demoOrigin),
});
const apiPort = await freePort(Number(process.env.PORT ?? 8787));
const api = `http://${HOST}:${apiPort}`;
const demo = await startDemoServer({ port: demoPort, api, token: (sub, ttlSeconds) => devJwt(sub, { ttlSeconds }) });
// The bindings go to wrangler in a file only this user can read, not as --var arguments: other
// local users would see those in `ps` (harmless with the dev secrets, not with real ones).
const varsDir = await mkdtemp(join(tmpdir(), "cos-direct-dev-"));
const varsFile = join(varsDir, ".env");
await writeFile(varsFile, Object.entries({ ...devVars(cos), CORS_ORIGINS: demo.url }).map(([name, value]) => `${name}=${JSON.stringify(value)}\n`).join(""), { mode: 0o600 });
// With --env-file wrangler no longer reads .dev.vars by itself: it is passed first, so the dev values
// (later files win) still override it, as --var flags did.
const vars = [...(existsSync(".dev.vars") ? ["--env-file", ".dev.vars"] : []), "--env-file", varsFile];

const wrangler = spawn(
  process.execPath,
  [resolve("node_modules/wrangler/bin/wrangler.js"), "dev", "--ip", HOST, "--port", String(apiPort), ...vars, "--show-interactive-dev-session=false"],
  {
    detached: true,
    stdio: ["ignore", "inherit", "inherit"],
    // wrangler's own chatter (bindings table, cron warning, one line per request) would bury the one
    // line that matters; errors still show. WRANGLER_LOG=info (or log) brings it back.
    env: { WRANGLER_LOG: "error", ...process.env, WRANGLER_SEND_METRICS: "false", WRANGLER_SEND_ERROR_REPORTS: "false", CLOUDFLARE_CF_FETCH_ENABLED: "false", WRANGLER_HIDE_BANNER: "true" },
  },
);
const wranglerExit = once(wrangler, "exit");

function signalWrangler(signal: NodeJS.Signals): void {
  try {
    if (wrangler.pid) process.kill(-wrangler.pid, signal);
  } catch {
    // the group is gone already
  }
}

let stopping = false;
async function stop(code: number): Promise<void> {
  if (stopping) return;
  stopping = true;
  signalWrangler("SIGTERM");
  await Promise.race([wranglerExit, delay(5_000)]);
  signalWrangler("SIGKILL"); // a workerd that outlived wrangler
  await Promise.race([Promise.all([cos.close(), demo.close()]), delay(2_000)]);
  await rm(varsDir, { recursive: true, force: true });
  process.exit(code);
}
for (const signal of ["SIGINT", "SIGTERM", "SIGHUP"] as const) process.on(signal, () => void stop(0));
// wrangler runs in its own process group: whatever ends this process must end that group too, or
// wrangler and workerd would live on, holding the API's port.
for (const event of ["uncaughtException", "unhandledRejection"] as const) {
  process.on(event, (error: unknown) => {
    console.error(`cos-direct dev: ${(error as Error)?.stack ?? error}`);
    void stop(1);
  });
}
process.on("exit", () => signalWrangler("SIGKILL"));
// Stop when npm (or tsx) is killed on its own: npm does not pass SIGTERM on (scripts/launchers.ts).
setInterval(() => {
  if (!stopping && watched.some(gone)) {
    console.error("cos-direct dev: the process that started this one is gone; stopping");
    void stop(0);
  }
}, 500).unref();
void wranglerExit.then(([code]) => {
  if (!stopping) console.error(`cos-direct dev: wrangler exited (${code ?? "signal"}); stopping cos-local and the demo`);
  void stop(typeof code === "number" && code !== 0 ? code : 1);
});

/** Waits until the worker answers /healthz; a configuration error is shown and ends the run. */
async function ready(): Promise<void> {
  const deadline = Date.now() + READY_TIMEOUT_MS;
  while (!stopping && Date.now() < deadline) {
    const res = await fetch(`${api}/healthz`).catch(() => null);
    if (res?.ok) return;
    if (res && res.status !== 503) throw new Error(`GET /healthz answered ${res.status}: ${await res.text()}`);
    await delay(200);
  }
  if (!stopping) throw new Error(`wrangler dev did not answer ${api}/healthz within ${READY_TIMEOUT_MS / 1000} s`);
}

try {
  await ready();
} catch (error) {
  console.error(`cos-direct dev: ${(error as Error).message}`);
  await stop(1);
}
if (!stopping) {
  console.log(`cos-direct dev: open ${demo.url}  (API ${api} with its contract at ${api}/v1/openapi.json, cos-local ${cos.url}; dev JWT: npm run -s dev:token -- <sub>; Ctrl-C stops all)`);
}
