// Bucket CORS (cos-protocol.md §5): rules from `PUT /?cors`, else from the configuration, else the
// dev default. Rules are tried in order and the FIRST match wins, so a first rule without
// ExposeHeader hides ETag even when a later one lists it (cos-js-sdk-v5#56): that is on purpose.
// Preflights are never authenticated; no match → 403.

import type { IncomingHttpHeaders } from "node:http";
import { buildXml, list, parseXml, text } from "../functions/cos/xml";
import { CosLocalError, cosErrors } from "./errors";
import type { Storage } from "./storage";

export interface CorsRule {
  id?: string;
  /** `*`, an exact origin, or a pattern with one `*` (`http://*.example.com`). */
  allowedOrigins: string[];
  allowedMethods: string[];
  /** `*`, names, or names with one `*` (`x-cos-meta-*`); compared case-insensitively. */
  allowedHeaders: string[];
  exposeHeaders: string[];
  maxAgeSeconds?: number;
}

export interface CorsConfiguration {
  rules: CorsRule[];
  /** Adds `Vary: Origin` to matched responses (COS's ResponseVary). */
  responseVary?: boolean;
}

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

/** A pattern with at most one `*` against a value. */
function wildcardMatch(pattern: string, value: string): boolean {
  const star = pattern.indexOf("*");
  if (star < 0) return pattern === value;
  const [head, tail] = [pattern.slice(0, star), pattern.slice(star + 1)];
  return value.length >= head.length + tail.length && value.startsWith(head) && value.endsWith(tail);
}

/** The first rule allowing origin, method and every requested header, or undefined. */
export function matchRule(config: CorsConfiguration, origin: string, method: string, requestHeaders: string[] = []): CorsRule | undefined {
  return config.rules.find(
    (rule) =>
      rule.allowedOrigins.some((o) => wildcardMatch(o, origin)) &&
      rule.allowedMethods.some((m) => m.toUpperCase() === method.toUpperCase()) &&
      requestHeaders.every((h) => rule.allowedHeaders.some((a) => wildcardMatch(a.toLowerCase(), h.toLowerCase()))),
  );
}

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
  const strings = (node: Parameters<typeof list>[0], name: string) => {
    const value = node?.[name];
    return (Array.isArray(value) ? value : value === undefined ? [] : [value]).filter((v): v is string => typeof v === "string" && v !== "");
  };
  const rules = list(parsed.body, "CORSRule").map((node): CorsRule => {
    const maxAge = text(node, "MaxAgeSeconds");
    return {
      id: text(node, "ID") || undefined,
      allowedOrigins: strings(node, "AllowedOrigin"),
      allowedMethods: strings(node, "AllowedMethod").map((m) => m.toUpperCase()),
      allowedHeaders: strings(node, "AllowedHeader"),
      exposeHeaders: strings(node, "ExposeHeader"),
      maxAgeSeconds: maxAge === "" ? undefined : Number(maxAge),
    };
  });
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
  return { rules, responseVary: text(parsed.body, "ResponseVary") === "true" };
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
