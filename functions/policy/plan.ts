// The part plan of a multipart upload (issue 3 "Create an upload"): part size default 8 MiB,
// raised (in whole MiB) until there are at most 10,000 parts; a client may ask for a size within
// COS's limits. Every part but the last is exactly `partSize` bytes.

import { COS_MAX_PART, COS_MAX_PARTS, COS_MIN_PART, MiB } from "../config";

export interface PartPlan {
  partSize: number;
  partCount: number;
}

export function planParts(size: number, preferredPartSize: number): PartPlan {
  const floor = Math.ceil(size / COS_MAX_PARTS / MiB) * MiB;
  const partSize = Math.min(COS_MAX_PART, Math.max(COS_MIN_PART, preferredPartSize, floor));
  return { partSize, partCount: Math.max(1, Math.ceil(size / partSize)) };
}

/** Planned size of part `partNumber` (1-based) of an upload of `size` bytes. */
export function partLength(plan: PartPlan & { size: number }, partNumber: number): number {
  return partNumber < plan.partCount ? plan.partSize : plan.size - plan.partSize * (plan.partCount - 1);
}
