import { describe, expect, it } from "vitest";
import { signVectorSuite } from "../shared/sign-suite";

describe("COS signer and CRC64 in workerd", () => {
  it("really runs inside workerd", () => {
    expect(navigator.userAgent).toBe("Cloudflare-Workers");
  });
  signVectorSuite();
});
