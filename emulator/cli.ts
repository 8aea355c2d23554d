// `npm run cos-local`: starts cos-local and prints how to reach it (issue 2 §3 "Start").
//
//   --port <n>   default 9000 (0 picks a free port)
//   --data <dir> default .cos-local
//   --cors <file> CORSConfiguration XML (or JSON) used when the bucket has no PUT /?cors rules
//   --no-auth    accept unsigned requests (signature checking is ON by default)
//
// Environment: COS_LOCAL_SECRET_ID, COS_LOCAL_SECRET_KEY (dev defaults below), COS_LOCAL_BUCKET
// (default dev-1250000000), COS_LOCAL_REGION (default ap-guangzhou), COS_LOCAL_SECURITY_TOKEN
// (makes the credentials STS-style: requests must send it as x-cos-security-token).

import { resolve } from "node:path";
import { parseArgs } from "node:util";
import { DEFAULT_BUCKET, DEFAULT_REGION, DEV_SECRET_ID, DEV_SECRET_KEY, startCosLocal } from "./server";

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      port: { type: "string", default: "9000" },
      data: { type: "string", default: ".cos-local" },
      cors: { type: "string" },
      "no-auth": { type: "boolean", default: false },
      help: { type: "boolean", short: "h", default: false },
    },
  });
  if (values.help) {
    console.log("usage: npm run cos-local -- [--port 9000] [--data .cos-local] [--cors rules.xml] [--no-auth]");
    return;
  }
  const port = Number(values.port);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new Error(`--port must be 0-65535, got ${values.port}`);
  const env = process.env;
  const dataDir = resolve(values.data);
  let cos;
  try {
    cos = await startCosLocal({
      port,
      dataDir,
      secretId: env.COS_LOCAL_SECRET_ID || DEV_SECRET_ID,
      secretKey: env.COS_LOCAL_SECRET_KEY || DEV_SECRET_KEY,
      securityToken: env.COS_LOCAL_SECURITY_TOKEN || undefined,
      bucket: env.COS_LOCAL_BUCKET || DEFAULT_BUCKET,
      region: env.COS_LOCAL_REGION || DEFAULT_REGION,
      corsFile: values.cors,
      verifySignatures: !values["no-auth"],
    });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "EADDRINUSE") {
      console.error(`cos-local: port ${port} on 127.0.0.1 is already in use. Stop the other process or pick another port: npm run cos-local -- --port 9001`);
      process.exit(1);
    }
    throw error;
  }
  // The one place credentials are printed on purpose: they are local dev credentials (issue 2 §3).
  console.log(
    [
      `cos-local listening on ${cos.url}`,
      `  endpoint     ${cos.url}   (path style: ${cos.url}/${cos.bucket}/<key>)`,
      `  bucket       ${cos.bucket}`,
      `  region       ${cos.region}`,
      `  SecretId     ${cos.secretId}`,
      `  SecretKey    ${cos.secretKey}`,
      ...(cos.securityToken ? [`  SecurityToken ${cos.securityToken}`] : []),
      `  data         ${dataDir}`,
      `  signatures   ${values["no-auth"] ? "NOT checked (--no-auth)" : "checked"}`,
      `  control      ${cos.url}/_cos-local/ (faults, counters; loopback only)`,
    ].join("\n"),
  );
  const stop = () => void cos.close().then(() => process.exit(0));
  process.once("SIGINT", stop);
  process.once("SIGTERM", stop);
}

main().catch((error: Error) => {
  console.error(`cos-local: ${error.message}`);
  process.exit(1);
});
