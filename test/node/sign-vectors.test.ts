import { describe } from "vitest";
import { signVectorSuite } from "../shared/sign-suite";

describe("COS signer and CRC64 in Node", signVectorSuite);
