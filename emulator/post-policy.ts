// POST Object policy verification (cos-protocol.md §4 "POST Object"): the signature over the exact
// policy JSON (postPolicySignature from functions/cos/sign.ts), the expiration, and each condition:
// `{"field": "value"}`, `["eq", "$field", v]`, `["starts-with", "$field", prefix]`,
// `["content-length-range", min, max]`.

import { postPolicySignature, sha1Hex, timingSafeEqual } from "../functions/cos/sign";
import type { Credential } from "./auth";
import { CosLocalError, cosErrors } from "./errors";

export interface PolicyContext {
  bucket: string;
  credentials: readonly Credential[];
  nowMs: number;
}

export interface PolicyLimits {
  /** From content-length-range; the file is checked against it while it streams. */
  minSize: number;
  maxSize: number;
}

const invalidPolicy = (why: string) => new CosLocalError(400, "InvalidPolicyDocument", `Invalid Policy: ${why}.`);
const conditionFailed = (condition: unknown) =>
  cosErrors.accessDenied(`Invalid according to Policy: Policy Condition failed: ${JSON.stringify(condition)}`);

/** Verifies the form's policy and signature; `fields` has lowercase names. Throws COS's error. */
export async function verifyPostPolicy(fields: Map<string, string>, context: PolicyContext): Promise<PolicyLimits> {
  const policy = fields.get("policy");
  const ak = fields.get("q-ak");
  const keyTime = fields.get("q-key-time") ?? fields.get("q-sign-time");
  const sig = fields.get("q-signature");
  if (!policy || !ak || !keyTime || !sig) {
    throw cosErrors.accessDenied("A POST Object form needs policy, q-sign-algorithm, q-ak, q-key-time and q-signature fields.");
  }
  if ((fields.get("q-sign-algorithm") ?? "sha1").toLowerCase() !== "sha1") throw invalidPolicy("q-sign-algorithm must be sha1");
  const credential = context.credentials.find((c) => c.secretId === ak);
  if (!credential) throw new CosLocalError(403, "InvalidAccessKeyId", "The access key Id you provided does not exist in our records.");

  // Hash the exact decoded bytes: a re-serialised object would sign different text (§4).
  const policyJson = Buffer.from(policy, "base64").toString("utf8");
  const expected = await postPolicySignature(credential.secretKey, keyTime, policyJson);
  if (!timingSafeEqual(expected, sig.toLowerCase())) {
    throw new CosLocalError(403, "SignatureDoesNotMatch", "The Signature you specified does not match what we calculated.", {
      StringToSign: await sha1Hex(policyJson),
    });
  }
  const window = /^(\d+);(\d+)$/.exec(keyTime);
  if (!window) throw invalidPolicy("q-key-time must be \"<start>;<end>\"");
  if (Number(window[2]) < context.nowMs / 1000) throw cosErrors.expired(new Date(context.nowMs));
  if (credential.securityToken && fields.get("x-cos-security-token") !== credential.securityToken) {
    throw new CosLocalError(403, "InvalidAccessKeyId", "These are temporary credentials: the form needs their x-cos-security-token field.");
  }

  let document: { expiration?: unknown; conditions?: unknown };
  try {
    document = JSON.parse(policyJson) as typeof document;
  } catch {
    throw invalidPolicy("the policy is not base64 of a JSON document");
  }
  const expiration = typeof document.expiration === "string" ? Date.parse(document.expiration) : NaN;
  if (Number.isNaN(expiration)) throw invalidPolicy("expiration must be an ISO 8601 date");
  if (expiration < context.nowMs) throw cosErrors.accessDenied("Invalid according to Policy: Policy expired.");
  if (!Array.isArray(document.conditions)) throw invalidPolicy("conditions must be an array");
  return checkConditions(document.conditions, fields, context.bucket);
}

function checkConditions(conditions: unknown[], fields: Map<string, string>, bucket: string): PolicyLimits {
  const limits: PolicyLimits = { minSize: 0, maxSize: Number.MAX_SAFE_INTEGER };
  const valueOf = (name: string): string => {
    const field = name.replace(/^\$/, "").toLowerCase();
    if (field === "bucket") return bucket;
    if (field === "q-sign-time") return fields.get("q-sign-time") ?? fields.get("q-key-time") ?? "";
    return fields.get(field) ?? "";
  };
  for (const condition of conditions) {
    if (Array.isArray(condition)) {
      const op = String(condition[0]).toLowerCase();
      if (op === "content-length-range") {
        const [min, max] = [Number(condition[1]), Number(condition[2])];
        if (!Number.isFinite(min) || !Number.isFinite(max)) throw invalidPolicy("content-length-range needs two numbers");
        limits.minSize = Math.max(limits.minSize, min);
        limits.maxSize = Math.min(limits.maxSize, max);
      } else if (op === "eq" || op === "starts-with") {
        const actual = valueOf(String(condition[1]));
        const wanted = String(condition[2]);
        if (op === "eq" ? actual !== wanted : !actual.startsWith(wanted)) throw conditionFailed(condition);
      } else {
        throw invalidPolicy(`unsupported condition ${JSON.stringify(condition[0])}`);
      }
    } else if (condition && typeof condition === "object") {
      for (const [name, wanted] of Object.entries(condition)) {
        if (valueOf(name) !== String(wanted)) throw conditionFailed(condition);
      }
    } else {
      throw invalidPolicy(`a condition must be an object or an array, got ${JSON.stringify(condition)}`);
    }
  }
  return limits;
}
