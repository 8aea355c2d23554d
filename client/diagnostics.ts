// checkSetup: asks the functions what would stop this page from uploading (GET /v1/diagnostics: the
// bucket's CORS rules judged for this origin, and CORS_ORIGINS) before an upload fails on it, and
// reports how far this device's clock is from the functions'. Its own export, so apps that never
// call it do not ship it.

import { Api, type Diagnostics } from "./api";
import type { UploaderOptions } from "./types";

export interface SetupReport extends Diagnostics {
  /** The functions' clock minus this device's, in ms, within half the round trip (uploads correct for it on their own). */
  clockSkewMs: number;
}

export interface CheckSetupOptions extends Pick<UploaderOptions, "endpoint" | "getToken" | "headers" | "fetch"> {
  /** The origin whose uploads are judged. Default: this page's (`location.origin`); required outside browsers. */
  origin?: string;
  signal?: AbortSignal;
}

/**
 * What would stop uploads from `origin`: `problems` lists each with a severity (`error`: uploads
 * fail; `warning`: a feature does not work) and a message that says what to change. Empty when all
 * is well. Throws ApiError or NetworkError like any API call; in a browser, a NetworkError usually
 * means the functions do not allow this page's origin (their CORS_ORIGINS), which is the one problem
 * this call cannot report itself.
 */
export async function checkSetup(options: CheckSetupOptions): Promise<SetupReport> {
  const api = new Api(options);
  const origin = options.origin ?? (globalThis as { location?: { origin?: string } }).location?.origin;
  const sentAt = Date.now();
  const report = await api.diagnostics(origin, options.signal);
  // serverTime is in ms, taken while the request was in flight: compare it with the round trip's middle.
  return { ...report, clockSkewMs: Math.round(Date.parse(report.serverTime) - (sentAt + Date.now()) / 2) };
}
