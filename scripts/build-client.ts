// `npm run build:client`: the client library as ESM in dist/client/ (package.json "exports"):
// index.js (browser), node.js, react-native.js, each one bundle with no runtime dependencies, plus
// type declarations (tsc --emitDeclarationOnly) under dist/client/types/.
//
//   npx tsx scripts/build-client.ts

import { execFileSync } from "node:child_process";
import { rmSync } from "node:fs";
import { build } from "esbuild";

const OUT = "dist/client";
rmSync(OUT, { recursive: true, force: true });

const entries = [
  { entry: "client/index.ts", platform: "browser" as const },
  { entry: "client/react-native.ts", platform: "neutral" as const },
  { entry: "client/node.ts", platform: "node" as const },
];
for (const { entry, platform } of entries) {
  await build({
    entryPoints: [entry],
    outdir: OUT,
    bundle: true,
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
    "node_modules/typescript/bin/tsc", "client/index.ts", "client/node.ts", "client/react-native.ts",
    "--declaration", "--emitDeclarationOnly", "--outDir", `${OUT}/types`, "--rootDir", ".",
    "--module", "esnext", "--moduleResolution", "bundler", "--target", "es2022", "--lib", "es2022,dom,dom.iterable",
    "--types", "node", "--skipLibCheck", "--strict", "--verbatimModuleSyntax", "--isolatedModules",
  ],
  { stdio: "inherit" },
);
console.log(`built ${entries.map((e) => e.entry).join(", ")} into ${OUT}/`);
