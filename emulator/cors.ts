// Bucket CORS (cos-protocol.md §5): rules from `PUT /?cors`, else from the configuration, else the
// dev default. Rules are tried in order and the FIRST match wins, so a first rule without
// ExposeHeader hides ETag even when a later one lists it (cos-js-sdk-v5#56): that is on purpose.
// Preflights are never authenticated; no match → 403.

import type { IncomingHttpHeaders } from "node:http";
import { corsRulesFromXml, matchRule, type CorsConfiguration, type CorsRule } from "../functions/cos/cors";
import { buildXml, parseXml } from "../functions/cos/xml";
import { CosLocalError, cosErrors } from "./errors";
import type { Storage } from "./storage";

export type { CorsConfiguration, CorsRule } from "../functions/cos/cors";

/** cos-local's default: any origin, every method and header, and what an uploading browser must read (§5). */
export const DEV_CORS: CorsConfiguration = {
  rules: [
    {
      id: "cos-local-dev",
      allowedOrigins: ["*"],
      allowedMethods: ["GET", "PUT", "POST", "DELETE", "HEAD"],
      allowedHeaders: ["*"],
      exposeHeaders: ["ETag", "Content-Length", "Date", "x-cos-request-id", "x-cos-hash-crc64ecma", "x-cos-next-append-position"],
      maxAgeSeconds: 600,
    },
  ],
};

function allowOrigin(rule: CorsRule, origin: string): string {
  return rule.allowedOrigins.includes("*") ? "*" : origin;
}

/** Headers for an actual (non-preflight) response whose Origin matched a rule. */
export function actualResponseHeaders(config: CorsConfiguration, headers: IncomingHttpHeaders, method: string): Record<string, string> {
  const origin = headers.origin;
  if (!origin) return {};
  const rule = matchRule(config, origin, method);
  if (!rule) return {};
  const out: Record<string, string> = { "Access-Control-Allow-Origin": allowOrigin(rule, origin) };
  if (rule.exposeHeaders.length) out["Access-Control-Expose-Headers"] = rule.exposeHeaders.join(",");
  if (config.responseVary) out["Vary"] = "Origin";
  return out;
}

/** Answers a preflight: 200 with the Allow-* headers of the first matching rule, else throws 403. */
export function preflightHeaders(config: CorsConfiguration, headers: IncomingHttpHeaders): Record<string, string> {
  const origin = headers.origin;
  const method = headers["access-control-request-method"];
  if (!origin || !method) throw cosErrors.accessDenied("CORS preflight needs Origin and Access-Control-Request-Method.");
  const requested = (headers["access-control-request-headers"] ?? "").split(",").map((h) => h.trim()).filter(Boolean);
  const rule = matchRule(config, origin, method, requested);
  if (!rule) throw cosErrors.accessDenied("CORSResponse: This CORS request is not allowed. This is usually because the evaluation of Origin, request method / Access-Control-Request-Method or Access-Control-Request-Headers are not whitelisted by the resource's CORS spec.");
  const out: Record<string, string> = {
    "Access-Control-Allow-Origin": allowOrigin(rule, origin),
    "Access-Control-Allow-Methods": rule.allowedMethods.join(","),
  };
  if (requested.length) out["Access-Control-Allow-Headers"] = requested.join(",");
  if (rule.exposeHeaders.length) out["Access-Control-Expose-Headers"] = rule.exposeHeaders.join(",");
  if (rule.maxAgeSeconds !== undefined) out["Access-Control-Max-Age"] = String(rule.maxAgeSeconds);
  if (config.responseVary) out["Vary"] = "Origin";
  return out;
}

/** Parses a `PUT /?cors` body (or a config file); MalformedXML when it is not a usable CORSConfiguration. */
export function corsFromXml(xml: string): CorsConfiguration {
  let parsed: ReturnType<typeof parseXml>;
  try {
    parsed = parseXml(xml);
  } catch {
    throw cosErrors.malformedXml();
  }
  if (parsed.root !== "CORSConfiguration") throw cosErrors.malformedXml();
  const { rules, responseVary } = corsRulesFromXml(parsed.body);
  if (rules.length === 0 || rules.length > 100 || rules.some((r) => !r.allowedOrigins.length || !r.allowedMethods.length)) {
    throw new CosLocalError(400, "MalformedXML", "A CORSConfiguration needs 1-100 CORSRule elements, each with AllowedOrigin and AllowedMethod.");
  }
  // Every value ends up in a response header: one that cannot be sent would fail every request from a browser.
  const TOKEN = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;
  for (const rule of rules) {
    const bad =
      rule.allowedHeaders.find((h) => h !== "*" && !TOKEN.test(h)) ??
      rule.exposeHeaders.find((h) => !TOKEN.test(h)) ??
      rule.allowedMethods.find((m) => !TOKEN.test(m)) ??
      rule.allowedOrigins.find((o) => !/^[\x21-\x7e]+$/.test(o));
    if (bad !== undefined) throw new CosLocalError(400, "MalformedXML", `The CORS rule value ${JSON.stringify(bad)} is not a valid header name, method or origin.`);
    if (rule.maxAgeSeconds !== undefined && !(Number.isInteger(rule.maxAgeSeconds) && rule.maxAgeSeconds >= 0)) throw new CosLocalError(400, "MalformedXML", "MaxAgeSeconds must be a non-negative integer.");
  }
  return { rules, responseVary };
}

export function corsToXml(config: CorsConfiguration): string {
  return buildXml({
    CORSConfiguration: {
      CORSRule: config.rules.map((rule) => ({
        ...(rule.id ? { ID: rule.id } : {}),
        AllowedOrigin: rule.allowedOrigins,
        AllowedMethod: rule.allowedMethods,
        AllowedHeader: rule.allowedHeaders,
        ...(rule.maxAgeSeconds !== undefined ? { MaxAgeSeconds: String(rule.maxAgeSeconds) } : {}),
        ExposeHeader: rule.exposeHeaders,
      })),
      ResponseVary: config.responseVary ? "true" : "false",
    },
  });
}

/**
 * The rules in force per bucket: those stored by `PUT /?cors`, else `configured` (option or file),
 * else nothing. Cached in memory; PUT and DELETE refresh the cache.
 */
export class CorsRules {
  private readonly cache = new Map<string, CorsConfiguration | null>();

  constructor(
    private readonly storage: Storage,
    private readonly configured: CorsConfiguration | null,
  ) {}

  async stored(bucket: string): Promise<CorsConfiguration | null> {
    if (!this.cache.has(bucket)) this.cache.set(bucket, await this.storage.readCors<CorsConfiguration>(bucket));
    return this.cache.get(bucket) ?? null;
  }

  async effective(bucket: string): Promise<CorsConfiguration | null> {
    return (await this.stored(bucket)) ?? this.configured;
  }

  async put(bucket: string, config: CorsConfiguration): Promise<void> {
    await this.storage.writeCors(bucket, config);
    this.cache.set(bucket, config);
  }

  async delete(bucket: string): Promise<void> {
    await this.storage.deleteCors(bucket);
    this.cache.set(bucket, null);
  }
}
