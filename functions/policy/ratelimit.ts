// Per-subject rate limits on creating uploads and on signing (issue 6 "Hostile input"). Cloudflare's
// rate-limiting binding when the environment has one (wrangler.toml [[ratelimits]]: counted across
// the location, not only this isolate); otherwise an in-memory token bucket per isolate, sized by
// RATE_LIMIT_CREATE_PER_MINUTE / RATE_LIMIT_SIGN_PER_MINUTE. Both are documented in README.md.

import type { RateLimitConfig } from "../config";
import { ApiError } from "../errors";

export type RateKind = "create" | "sign";

/** The Workers rate-limiting binding's API (`env.NAME.limit({ key })`). */
export interface RateLimitBinding {
  limit(options: { key: string }): Promise<{ success: boolean }>;
}

/** Environment names of the bindings, one per kind. */
export const RATE_LIMIT_BINDINGS: Record<RateKind, string> = { create: "RATE_LIMITER_CREATE", sign: "RATE_LIMITER_SIGN" };

const PARTS_PATH = /^\/v1\/uploads\/[^/]+\/parts$/;
const COMPLETE_PATH = /^\/v1\/uploads\/[^/]+\/complete$/;
/** Reads that cost a COS request with the functions' key on every call: GET ?cors, ListMultipartUploads, ListParts (all pages). */
const costsCosRead = (path: string) => path === "/v1/diagnostics" || path === "/v1/uploads" || PARTS_PATH.test(path);
const SIGNING_POSTS = new Set(["/v1/authorize", "/v1/objects/append", "/v1/objects/download", "/v1/objects/confirm"]);

/**
 * Which limit a request counts against, if any: starting uploads, or signing URLs and requests
 * (the larger limit), which also counts every call that makes the functions ask COS something
 * (the reads above, confirm's HEAD, and complete, which may list every page of parts or HEAD the
 * object). Abort is not limited: one idempotent COS call, and a refused abort would leave its parts
 * behind.
 */
export function rateKindOf(method: string, path: string): RateKind | null {
  // HEAD runs the GET route (and its COS request) too.
  if (method === "GET" || method === "HEAD") return costsCosRead(path) ? "sign" : null;
  if (method !== "POST") return null;
  if (path === "/v1/uploads" || path === "/v1/forms") return "create";
  if (PARTS_PATH.test(path) || COMPLETE_PATH.test(path) || SIGNING_POSTS.has(path)) return "sign";
  return null;
}

/** A binding's window is 10 or 60 s and it does not say when it ends: wait the longest, so the retry is past it. */
const BINDING_RETRY_SECONDS = 60;
/** Buckets kept per kind; past this the least recently used go (a new subject starts with a full bucket anyway). */
const MAX_SUBJECTS = 10_000;

/** Token buckets per subject: `perMinute` tokens, refilled continuously. */
export class TokenBuckets {
  private readonly buckets = new Map<string, { tokens: number; at: number }>();
  constructor(private readonly perMinute: number) {}

  /** 0 when the request may go ahead (one token taken), else the seconds until a token is back. */
  take(subject: string, nowMs: number): number {
    const bucket = this.buckets.get(subject) ?? { tokens: this.perMinute, at: nowMs };
    bucket.tokens = Math.min(this.perMinute, bucket.tokens + (Math.max(0, nowMs - bucket.at) / 60_000) * this.perMinute);
    bucket.at = nowMs;
    // Re-inserted, so the Map's order is least recently used first.
    this.buckets.delete(subject);
    this.buckets.set(subject, bucket);
    if (this.buckets.size > MAX_SUBJECTS) this.buckets.delete(this.buckets.keys().next().value!);
    if (bucket.tokens >= 1) {
      bucket.tokens -= 1;
      return 0;
    }
    return Math.max(1, Math.ceil(((1 - bucket.tokens) * 60) / this.perMinute));
  }
}

export class RateLimiter {
  private readonly buckets: Record<RateKind, TokenBuckets | null>;
  private bindingFailureLogged = false;

  constructor(
    private readonly config: RateLimitConfig,
    private readonly bindings: Partial<Record<RateKind, RateLimitBinding>> = {},
    private readonly now: () => number = Date.now,
  ) {
    this.buckets = {
      create: config.createPerMinute > 0 ? new TokenBuckets(config.createPerMinute) : null,
      sign: config.signPerMinute > 0 ? new TokenBuckets(config.signPerMinute) : null,
    };
  }

  /** Picks the bindings out of an environment object; anything without a `limit` function is ignored. */
  static bindingsFrom(env: Record<string, unknown>): Partial<Record<RateKind, RateLimitBinding>> {
    const found: Partial<Record<RateKind, RateLimitBinding>> = {};
    for (const kind of ["create", "sign"] as const) {
      const value = env[RATE_LIMIT_BINDINGS[kind]] as Partial<RateLimitBinding> | undefined;
      if (value && typeof value.limit === "function") found[kind] = value as RateLimitBinding;
    }
    return found;
  }

  /** Throws 429 RateLimited (with retryAfterSeconds for the Retry-After header) when `subject` is over the limit. */
  async check(kind: RateKind, subject: string): Promise<void> {
    if (!this.config.enabled) return;
    const retryAfter = await this.retryAfter(kind, subject);
    if (retryAfter > 0) {
      const what = kind === "create" ? "starting uploads" : "signing";
      throw new ApiError(429, "RateLimited", `too many requests ${what} for this caller; retry after ${retryAfter} s`, { kind, retryAfterSeconds: retryAfter });
    }
  }

  private async retryAfter(kind: RateKind, subject: string): Promise<number> {
    const binding = this.bindings[kind];
    if (binding) {
      try {
        return (await binding.limit({ key: subject })).success ? 0 : BINDING_RETRY_SECONDS;
      } catch (error) {
        // A broken binding must not take the API down: fall back to the bucket, and say so once.
        if (!this.bindingFailureLogged) console.error(`rate limit binding ${RATE_LIMIT_BINDINGS[kind]} failed (${(error as Error).message}); using the in-memory limit`);
        this.bindingFailureLogged = true;
      }
    }
    return this.buckets[kind]?.take(subject, this.now()) ?? 0;
  }
}
