// Checkpoints in one JSON file (Node, the CLI's --resume): read once, every change written to a
// temporary file and renamed over the old one, so a crash mid-write never leaves half a file.
// Writes are serialised; the last one wins. A failed read or write fails that call only.

import { mkdir, readFile, rename, writeFile } from "node:fs/promises";
import { dirname } from "node:path";
import type { Store } from "../types";

/**
 * mkdir -p, one level at a time: Node's own recursive mkdir never returns for a missing folder
 * under /proc (it retries the ENOENT forever), which hung `cos-direct --state /proc/x/y.json`.
 */
async function ensureDir(dir: string): Promise<void> {
  try {
    await mkdir(dir);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === "EEXIST") return;
    if (code !== "ENOENT" || dirname(dir) === dir) throw error;
    await ensureDir(dirname(dir));
    await mkdir(dir).catch((again: NodeJS.ErrnoException) => {
      if (again.code !== "EEXIST") throw again;
    });
  }
}

export function fileStore(path: string): Store {
  let data: Promise<Record<string, string>> | undefined;
  let writing: Promise<void> = Promise.resolve();
  const load = () =>
    (data ??= readFile(path, "utf8")
      .then(
        (text) => JSON.parse(text) as Record<string, string>,
        (error: NodeJS.ErrnoException) => {
          if (error.code === "ENOENT") return {} as Record<string, string>;
          throw error;
        },
      )
      .catch((error: unknown) => {
        data = undefined; // the next call reads again (a permission fixed, a file repaired)
        throw error;
      }));
  const save = (map: Record<string, string>) => {
    const text = JSON.stringify(map);
    // One failed write fails its caller only: the next one starts afresh.
    const next = writing.catch(() => undefined).then(async () => {
      await ensureDir(dirname(path));
      const tmp = `${path}.${process.pid}.tmp`;
      await writeFile(tmp, text);
      await rename(tmp, path);
    });
    writing = next;
    return next;
  };
  return {
    async get(key) {
      return (await load())[key] ?? null;
    },
    async set(key, value) {
      const map = await load();
      map[key] = value;
      await save(map);
    },
    async remove(key) {
      const map = await load();
      if (!(key in map)) return;
      delete map[key];
      await save(map);
    },
    async keys(prefix) {
      return Object.keys(await load()).filter((k) => k.startsWith(prefix));
    },
  };
}
