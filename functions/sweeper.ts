// The stale-upload sweeper (issue 3, Workers `scheduled`): aborts multipart uploads initiated
// more than STALE_UPLOAD_HOURS ago, so abandoned parts stop costing storage.

import type { CosClient } from "./cos/client";

export async function abortStaleUploads(cos: CosClient, staleHours: number, nowMs: number): Promise<{ aborted: string[]; failed: string[] }> {
  const cutoff = nowMs - staleHours * 3600_000;
  const { uploads } = await cos.listMultipartUploads();
  const aborted: string[] = [];
  const failed: string[] = [];
  for (const upload of uploads) {
    const initiated = Date.parse(upload.initiated);
    if (!(initiated < cutoff)) continue;
    try {
      await cos.abortMultipartUpload(upload.key, upload.uploadId);
      aborted.push(upload.uploadId);
    } catch (error) {
      console.error(`sweeper: abort of ${upload.uploadId} failed: ${(error as Error).message}`);
      failed.push(upload.uploadId);
    }
  }
  return { aborted, failed };
}
