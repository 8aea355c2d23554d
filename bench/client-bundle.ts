// Bundle size of the client's browser entry (issue 4 "Benchmarks"): client/index.ts (upload, queue,
// retry, resume, CRC64) bundled by esbuild for the browser, minified, then gzip -9 (node:zlib level
// 9). Target ≤ 8 KB gzipped; the peers' figures come from the issue. Writes its section of
// BENCHMARKS.md; exits 1 when the target is missed.
//
//   npx tsx bench/client-bundle.ts [--no-write]

import { gzipSync } from "node:zlib";
import { parseArgs } from "node:util";
import { build } from "esbuild";
import { machine, writeSection } from "./report";

const { values } = parseArgs({ options: { "no-write": { type: "boolean", default: false } } });
const ENTRY = "client/index.ts";
const TARGET = 8 * 1024;
const KB = (n: number) => `${(n / 1024).toFixed(1)} KB`;

const esbuildVersion = (await import("esbuild")).version;
const options = { bundle: true, minify: true, format: "esm", platform: "browser", target: "es2020", write: false, legalComments: "none" } as const;
const result = await build({ ...options, entryPoints: [ENTRY], metafile: true });
const code = result.outputFiles[0].contents;
const gzip = gzipSync(code, { level: 9 }).length;
// What an app that imports only createUploader ships (the rest of the entry's exports tree-shaken).
const only = await build({ ...options, stdin: { contents: `export { createUploader } from "./${ENTRY}";`, resolveDir: process.cwd(), loader: "ts" } });
const onlyCode = only.outputFiles[0].contents;
const onlyGzip = gzipSync(onlyCode, { level: 9 }).length;
const inputs = Object.entries(result.metafile.outputs)[0][1].inputs;
const largest = Object.entries(inputs)
  .sort((a, b) => b[1].bytesInOutput - a[1].bytesInOutput)
  .slice(0, 6)
  .map(([file, { bytesInOutput }]) => `${file} ${KB(bytesInOutput)}`)
  .join(", ");
const met = gzip <= TARGET;

console.log(`${ENTRY}: ${KB(code.length)} minified, ${KB(gzip)} gzip -9 (target ≤ ${KB(TARGET)}: ${met ? "met" : "MISSED"})`);
console.log(`createUploader only: ${KB(onlyCode.length)} minified, ${KB(onlyGzip)} gzip -9`);
console.log(`largest inputs (minified bytes in the output): ${largest}`);

if (!values["no-write"]) {
  writeSection(
    "BENCHMARKS.md",
    "client-bundle",
    `## Client bundle: the browser entry, minified and gzipped

Measured by \`npm run bench\` (bench/client-bundle.ts) on ${new Date().toISOString().slice(0, 10)}; ${machine()}; esbuild ${esbuildVersion}.
\`${ENTRY}\` bundled for the browser (\`bundle, minify, format: esm, target: es2020\`), then gzip level 9 (node:zlib).

| bundle | minified | gzip -9 |
|---|---|---|
| cos-direct client, the whole entry (upload, queue, retry, resume, CRC64, errors, stores, stacks) | ${KB(code.length)} | **${KB(gzip)}** |
| cos-direct client, \`import { createUploader }\` only | ${KB(onlyCode.length)} | ${KB(onlyGzip)} |
| cos-js-sdk-v5 (issue 4) | | 48.9 KB |
| Uppy (issue 4) | | 23.8 KB |
| Vercel Blob (issue 4) | | 29.2 KB |
| tus-js-client (issue 4) | | 16.2 KB |

Largest inputs (minified bytes each contributes): ${largest}.
Target ≤ 8 KB gzipped: ${met ? "met" : "**missed**"}.`,
  );
}
process.exit(met ? 0 : 1);
