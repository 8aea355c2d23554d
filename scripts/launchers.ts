// Which processes launched `npm run dev`'s script, so it can stop when they are gone (Linux, /proc).
// npm killed on its own (`kill <npm's pid>`, a supervisor's SIGTERM) does not pass the signal on to
// its script, which would live on, holding the ports.
//
// Watched: tsx, and under npm the shell npm started and npm itself; never anything above npm (the
// shell or CI step that ran `npm run dev &` may end while dev is meant to go on: nohup, a CI step
// that starts the servers for later steps). Without /proc nothing is watched.

import { readFileSync } from "node:fs";

export interface Launcher {
  pid: number;
  /** Clock ticks after boot when it started: a reused pid has another. */
  started: string;
}

interface Stat {
  state: string;
  ppid: number;
  started: string;
}

/** /proc/<pid>/stat: "pid (comm) state ppid pgrp ... starttime(22nd) ..."; comm may hold spaces and ")". */
function stat(pid: number | "self"): Stat | undefined {
  try {
    const text = readFileSync(`/proc/${pid}/stat`, "utf8");
    const fields = text.slice(text.lastIndexOf(")") + 2).split(" "); // from field 3, state
    return { state: fields[0], ppid: Number(fields[1]), started: fields[19] };
  } catch {
    return undefined;
  }
}

function commandLine(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, "utf8").replaceAll("\0", " ");
  } catch {
    return "";
  }
}

/** npm names itself "npm run dev" (process.title); otherwise "node /usr/bin/npm run dev" or ".../npm-cli.js run dev". */
const NPM = /(^|[\s/])npm(-cli\.js)?(\s|$)/;

/** The launchers of this process, nearest first: up to npm inclusive, else a tsx parent alone, else none. */
export function launchers(): Launcher[] {
  const chain: Launcher[] = [];
  let pid = stat("self")?.ppid ?? 0;
  while (pid > 1 && chain.length < 8) {
    const s = stat(pid);
    if (!s) break;
    chain.push({ pid, started: s.started });
    if (NPM.test(commandLine(pid))) return chain;
    pid = s.ppid;
  }
  return chain.length && /\btsx\b/.test(commandLine(chain[0].pid)) ? chain.slice(0, 1) : [];
}

/** Gone: exited (a zombie not yet reaped counts), or its pid now belongs to another process. */
export function gone(launcher: Launcher): boolean {
  const now = stat(launcher.pid);
  return !now || now.state === "Z" || now.state === "X" || now.started !== launcher.started;
}
