// `npm run build:client`: the client library as ESM in dist/client/ (package.json "exports"):
// index.js (browser), node.js, react-native.js and the cos-js-sdk-v5 compat layer for each
// (compat.js, compat-node.js, compat-react-native.js: `cos-direct/compat`), with no runtime
// dependencies, plus type declarations (tsc --emitDeclarationOnly) under dist/client/types/. Each
// platform's two entries share their common code through chunks/, so an app importing both ships
// the uploader once.
//
//   npx tsx scripts/build-client.ts [outdir]   (default dist/client; test/node/package.test.ts builds
//                                              into a temporary package)

import { execFileSync } from "node:child_process";
import { rmSync } from "node:fs";
import { build } from "esbuild";

const OUT = process.argv[2] ?? "dist/client";
rmSync(OUT, { recursive: true, force: true });

const groups = [
  { entries: ["client/index.ts", "client/compat.ts"], platform: "browser" as const },
  { entries: ["client/react-native.ts", "client/compat-react-native.ts"], platform: "neutral" as const },
  { entries: ["client/node.ts", "client/compat-node.ts"], platform: "node" as const },
];
const entries = groups.flatMap((group) => group.entries);
for (const { entries, platform } of groups) {
  await build({
    entryPoints: entries,
    outdir: OUT,
    bundle: true,
    splitting: true,
    chunkNames: "chunks/[name]-[hash]",
    format: "esm",
    platform,
    target: "es2022",
    sourcemap: true,
    // Node built-ins stay imports; nothing else may be external (zero runtime dependencies).
    external: platform === "node" ? ["node:*"] : [],
    logLevel: "warning",
  });
}

// Declarations: the public types plus the wire types they reference (functions/routes/schemas, zod types).
execFileSync(
  process.execPath,
  [
    "node_modules/typescript/bin/tsc", ...entries,
    "--declaration", "--emitDeclarationOnly", "--outDir", `${OUT}/types`, "--rootDir", ".",
    "--module", "esnext", "--moduleResolution", "bundler", "--target", "es2022", "--lib", "es2022,dom,dom.iterable",
    "--types", "node", "--skipLibCheck", "--strict", "--verbatimModuleSyntax", "--isolatedModules",
  ],
  { stdio: "inherit" },
);
console.log(`built ${entries.join(", ")} into ${OUT}/`);
