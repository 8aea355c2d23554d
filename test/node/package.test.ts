// The package as an app installs it (issue 4 "Package: ESM with an exports map (browser, node,
// react-native, types), built to dist/"): `npm run build:client` builds into a temporary
// node_modules/cos-direct with this package.json, and everything below goes through that copy's
// exports map, as `import "cos-direct"` in an app would:
// - each condition (node, browser, react-native) resolves `cos-direct` and `cos-direct/compat` to its
//   own build, and every file the map names exists;
// - the browser and React Native builds import nothing (zero runtime dependencies, no node:*); the
//   Node build imports only node:* built-ins;
// - a TypeScript app compiles against the declarations the map points to (and a wrong call does not);
// - the built Node entry and its compat layer upload a file to cos-local through the functions.

import { execFile } from "node:child_process";
import { cp, mkdir, mkdtemp, readFile, rm, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { MiB, useClientHarness, writeRandomFile } from "./client-harness";

const run = promisify(execFile);
const ROOT = resolve(import.meta.dirname, "../..");
const manifest = JSON.parse(await readFile(join(ROOT, "package.json"), "utf8"));

let app: string; // the app's folder: node_modules/cos-direct is the built package
let pkg: string;

beforeAll(async () => {
  app = await mkdtemp(join(tmpdir(), "cos-direct-package-"));
  pkg = join(app, "node_modules", "cos-direct");
  await mkdir(pkg, { recursive: true });
  await cp(join(ROOT, "package.json"), join(pkg, "package.json"));
  await run(process.execPath, ["node_modules/tsx/dist/cli.mjs", "scripts/build-client.ts", join(pkg, "dist/client")], { cwd: ROOT });
  // The declarations use zod's types (the wire schemas); an app gets zod as cos-direct's dependency.
  await symlink(join(ROOT, "node_modules/zod"), join(app, "node_modules/zod"), "dir");
}, 120_000);

afterAll(() => rm(app, { recursive: true, force: true }));

/** Runs an ES module in the app's folder under `conditions`; returns what it prints, parsed. */
async function inApp(source: string, conditions: string[] = [], env: Record<string, string> = {}): Promise<any> {
  const file = join(app, `probe-${Math.random().toString(36).slice(2)}.mjs`);
  await writeFile(file, source);
  const { stdout } = await run(process.execPath, [...conditions.map((c) => `--conditions=${c}`), file], { cwd: app, env: { ...process.env, ...env } });
  return JSON.parse(stdout);
}

const EXPORTS_OF = `
const main = await import("cos-direct");
const compat = await import("cos-direct/compat");
console.log(JSON.stringify({ main: Object.keys(main).sort(), compat: Object.keys(compat).sort() }));
`;

describe("the exports map", () => {
  it("names only files the build produced", async () => {
    const targets: string[] = [];
    const walk = (value: unknown): void => {
      if (typeof value === "string") targets.push(value);
      else if (value && typeof value === "object") Object.values(value).forEach(walk);
    };
    walk(manifest.exports);
    expect(targets.length).toBeGreaterThan(20);
    for (const target of targets) await expect(readFile(join(pkg, target)), target).resolves.toBeTruthy();
  });

  it("resolves each platform's entry and compat layer by condition", async () => {
    const node = await inApp(EXPORTS_OF);
    expect(node.main).toEqual(expect.arrayContaining(["createUploader", "fileStore", "nodeHttpStack", "isCorsError", "Crc64"]));
    expect(node.compat).toEqual(expect.arrayContaining(["CosDirect"]));

    const browser = await inApp(EXPORTS_OF, ["browser"]);
    expect(browser.main).toEqual(expect.arrayContaining(["createUploader", "xhrStack", "webStorageStore"]));
    expect(browser.main).not.toContain("fileStore");
    expect(browser.compat).toContain("CosDirect");

    const rn = await inApp(EXPORTS_OF, ["react-native"]);
    expect(rn.main).toContain("createUploader");
    expect(rn.main).not.toContain("fileStore");
    // The React Native entry's uploader needs a store, and so does its compat layer.
    const needsStore = await inApp(
      `import { CosDirect } from "cos-direct/compat";
       import { memoryStore } from "cos-direct";
       let error = "";
       try { new CosDirect({ endpoint: "http://127.0.0.1:1" }); } catch (e) { error = e.message; }
       new CosDirect({ endpoint: "http://127.0.0.1:1", store: memoryStore() });
       console.log(JSON.stringify({ error }));`,
      ["react-native"],
    );
    expect(needsStore.error).toMatch(/React Native.*store/);
  });
});

/** The module specifiers `file` and the relative files it imports (transitively) import. */
async function importsOf(file: string, seen = new Set<string>()): Promise<string[]> {
  if (seen.has(file)) return [];
  seen.add(file);
  const code = await readFile(file, "utf8");
  const specifiers = [...code.matchAll(/(?:\bfrom\s*|\bimport\s*\(?\s*)["']([^"']+)["']/g)].map((m) => m[1]);
  const found: string[] = [];
  for (const specifier of specifiers) {
    if (specifier.startsWith(".")) found.push(...(await importsOf(resolve(dirname(file), specifier), seen)));
    else found.push(specifier);
  }
  return found;
}

describe("zero runtime dependencies", () => {
  it.each(["index.js", "compat.js", "react-native.js", "compat-react-native.js"])("%s (and its chunks) imports nothing", async (entry) => {
    expect(await importsOf(join(pkg, "dist/client", entry))).toEqual([]);
  });

  it.each(["node.js", "compat-node.js"])("%s imports only node:* built-ins", async (entry) => {
    const imports = await importsOf(join(pkg, "dist/client", entry));
    expect(imports.length).toBeGreaterThan(0);
    for (const specifier of imports) expect(specifier).toMatch(/^node:/);
  });
});

describe("types", () => {
  it("an app compiles against the declarations, and a wrong call fails to compile", async () => {
    await writeFile(
      join(app, "app.ts"),
      `import { createUploader, isCorsError, memoryStore, type Progress, type UploadResult } from "cos-direct";
import { CosDirect, type UploadData } from "cos-direct/compat";

const uploader = createUploader({ endpoint: "https://api.example.com", getToken: () => "jwt", store: memoryStore() });
const task = uploader.upload({ key: "a.txt", body: new Uint8Array(1), onProgress: (p: Progress) => p.percent });
export const done: Promise<UploadResult> = task.done;
const cos = new CosDirect({ endpoint: "https://api.example.com", KeyPrefix: "users/alice/" });
cos.putObject({ Bucket: "b-1250000000", Region: "ap-guangzhou", Key: "1.jpg", Body: "x" }, (err, data?: UploadData) => {
  if (err && isCorsError(err)) console.log(err.message);
  else console.log(data?.ETag);
});
`,
    );
    const compile = (file: string) =>
      run(process.execPath, [join(ROOT, "node_modules/typescript/bin/tsc"), "--noEmit", "--strict", "--module", "esnext", "--moduleResolution", "bundler", "--target", "es2022", "--lib", "es2022,dom", file], { cwd: app });
    await compile("app.ts");
    await writeFile(join(app, "wrong.ts"), `import { createUploader } from "cos-direct";\ncreateUploader({ getToken: () => "jwt" });\n`);
    const failed = await compile("wrong.ts").then(() => undefined, (error: { stdout: string }) => error.stdout);
    expect(failed).toMatch(/wrong\.ts.*endpoint/s);
  }, 60_000);
});

describe("the built Node entry uploads", () => {
  const harness = useClientHarness();

  it("a file through createUploader and through the compat layer's sliceUploadFile", async () => {
    const h = harness();
    const file = join(app, "three-parts.bin");
    const sha = await writeRandomFile(file, 2 * MiB + 12_345);
    const result = await inApp(
      `import { createUploader } from "cos-direct";
       import { CosDirect } from "cos-direct/compat";
       const { ENDPOINT: endpoint, TOKEN: token, FILE: path } = process.env;
       const uploader = createUploader({ endpoint, getToken: () => token });
       const direct = await uploader.upload({ key: "users/alice/package/direct.bin", body: { path } }).done;
       const cos = new CosDirect({ endpoint, getToken: () => token, KeyPrefix: "users/alice/package/" });
       const compat = await cos.sliceUploadFile({ Bucket: "b-1250000000", Region: "ap-guangzhou", Key: "compat.bin", FilePath: path });
       console.log(JSON.stringify({ direct, compat: { statusCode: compat.statusCode, ETag: compat.ETag } }));`,
      [],
      { ENDPOINT: h.endpoint, TOKEN: await h.token("alice"), FILE: file },
    );
    expect(result.direct).toMatchObject({ key: "users/alice/package/direct.bin", size: 2 * MiB + 12_345 });
    expect(result.direct.crc64).toMatch(/^\d+$/);
    expect(result.compat.statusCode).toBe(200);
    expect(await h.readBackSha256("users/alice/package/direct.bin")).toBe(sha);
    expect(await h.readBackSha256("users/alice/package/compat.bin")).toBe(sha);
  }, 60_000);
});
