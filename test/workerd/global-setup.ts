// Starts cos-local on 127.0.0.1 (Node side) for the workerd and vercel-edge projects (one instance
// each); the worker's bindings and the tests get its URL and credentials through `inject`.
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { TestProject } from "vitest/node";
import { startCosLocal } from "../../emulator/server";

const CREDENTIALS = { secretId: "AKIDworkerdTestId", secretKey: "workerd-test-secret-key", bucket: "workerd-1250000000", region: "ap-guangzhou" };

export const DIAGNOSTICS_BUCKET = "diagnostics-1250000000";

export default async function setup(project: TestProject) {
  const dataDir = await mkdtemp(join(tmpdir(), "cos-local-workerd-"));
  // A second bucket for tests that change bucket-wide settings (CORS rules) while other files upload.
  const cos = await startCosLocal({ port: 0, dataDir, ...CREDENTIALS, buckets: [DIAGNOSTICS_BUCKET] });
  project.provide("cosLocalUrl", cos.url);
  project.provide("cosLocalSecretId", CREDENTIALS.secretId);
  project.provide("cosLocalSecretKey", CREDENTIALS.secretKey);
  project.provide("cosLocalBucket", CREDENTIALS.bucket);
  project.provide("cosLocalRegion", CREDENTIALS.region);
  return async () => {
    await cos.close();
    await rm(dataDir, { recursive: true, force: true });
  };
}

declare module "vitest" {
  export interface ProvidedContext {
    cosLocalUrl: string;
    cosLocalSecretId: string;
    cosLocalSecretKey: string;
    cosLocalBucket: string;
    cosLocalRegion: string;
  }
}
