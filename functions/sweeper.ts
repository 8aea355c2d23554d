// The stale-upload sweeper (issue 3, Workers `scheduled`): aborts multipart uploads initiated
// more than STALE_UPLOAD_HOURS ago, so abandoned parts stop costing storage. Only uploads under
// this app's keys are touched (KEY_PREFIX up to {sub}: `users/` by default): other tools sharing
// the bucket (backups, coscli) keep theirs, however old. A KEY_PREFIX with no fixed start
// (`{sub}/`) gives no such confinement, so then the sweeper does not run at all.

import type { CosClient } from "./cos/client";

/**
 * The fixed start of every caller's prefix: KEY_PREFIX up to its first {sub}. Null when that is
 * empty: sweeping "" would abort stale uploads in the whole bucket, other tools' included.
 */
export function sweepPrefix(keyPrefix: string): string | null {
  const at = keyPrefix.indexOf("{sub}");
  const fixed = at < 0 ? keyPrefix : keyPrefix.slice(0, at);
  return fixed === "" ? null : fixed;
}

/** The one log line of a run that sweeps nothing because KEY_PREFIX has no fixed start. */
export const SWEEP_SKIPPED =
  'sweeper: skipped: KEY_PREFIX starts with {sub}, so the app\'s uploads share no fixed folder and a sweep would abort other tools\' uploads anywhere in the bucket; to enable it, start KEY_PREFIX with a fixed folder (e.g. "users/{sub}/"), or let a COS lifecycle rule abort stale multipart uploads';

export async function abortStaleUploads(cos: CosClient, staleHours: number, nowMs: number, prefix: string): Promise<{ aborted: string[]; failed: string[] }> {
  const cutoff = nowMs - staleHours * 3600_000;
  const { uploads } = await cos.listMultipartUploads({ prefix });
  const aborted: string[] = [];
  const failed: string[] = [];
  for (const upload of uploads) {
    const initiated = Date.parse(upload.initiated);
    // An entry without a key or an id would make a DELETE of the bucket's ?uploadId: skipped.
    if (!(initiated < cutoff) || !upload.key || !upload.uploadId || !upload.key.startsWith(prefix)) continue;
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
