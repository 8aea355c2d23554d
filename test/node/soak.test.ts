// The soak at npm-test size (issue 6 "Faults and crashes"; `npm run soak` is the full one, in
// scripts/soak.ts): 20 uploads up to 4 MiB through the Node client, a fault-injecting proxy in front
// of the functions in workerd and cos-local failing ~10 % of the byte PUTs; then a 20 MiB upload in
// a child process SIGKILLed 5 times and resumed. Nothing may be lost, changed or left behind.

import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runCrashLoop, runSoak } from "../../scripts/soak";
import { MiB, startClientHarness, type ClientHarness } from "./client-harness";

let harness: ClientHarness;
let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "soak-test-"));
  harness = await startClientHarness({ vars: { PART_SIZE: String(MiB), SINGLE_PUT_THRESHOLD: String(MiB), RATE_LIMIT: "off" } });
});
afterAll(async () => {
  await harness?.close();
  await rm(dir, { recursive: true, force: true });
});

describe("soak (small)", () => {
  it("20 uploads (0 B to 4 MiB) under cos-local and API faults: identical bytes, only the expected unfinished uploads", async () => {
    // A higher API fault rate than the full soak's 2 %, so 20 uploads (~90 calls) surely see some.
    const result = await runSoak({ uploads: 20, maxMiB: 4, partMiB: 1, concurrency: 4, partFaultRate: 0.1, apiFaultRate: 0.08, seed: 7 }, harness, dir);
    expect(result.failures).toEqual([]);
    expect(result.unexpectedOrphans).toEqual([]);
    expect(result.uploads).toBe(20);
    expect(result.largest).toBe(4 * MiB);
    expect(result.singles).toBeGreaterThan(0);
    expect(result.multipart).toBeGreaterThan(result.singles);
    // The faults really fired, on both sides.
    expect(result.cosFaults).toBeGreaterThan(0);
    expect(result.proxy.failed503 + result.proxy.resetBefore + result.proxy.lostAnswer).toBeGreaterThan(0);
    expect(result.orphansListed).toBe(result.orphansExpected);
  });

  it("a 20 MiB upload SIGKILLed 5 times and restarted: identical bytes, only parts in flight at a kill re-sent", async () => {
    const result = await runCrashLoop({ sizeMiB: 20, partMiB: 1, kills: 5, parallel: 3, seed: 7 }, harness, dir);
    expect(result.failures).toEqual([]);
    expect(result.kills).toBe(5);
    expect(result.sameBytes).toBe(true);
    expect(result.partsAcceptedTwice).toBe(0);
    expect(result.extraPartRequests).toBeLessThanOrEqual(result.inFlightAtKills);
    expect(result.maxInFlightAtKill).toBeLessThanOrEqual(3);
  });
});
