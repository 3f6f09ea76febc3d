// Replay tokens: one shell- and Markdown-safe string naming executions completely.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { decodeToken, encodeToken, Mutex, type Program, type ReplayToken, replay } from "../src/index.ts";

const tokenArb: fc.Arbitrary<ReplayToken> = fc.record({
  lockdep: fc.boolean(),
  executions: fc.array(
    fc.record({
      seed: fc.nat({ max: 0xffff_ffff }),
      // Small values, so that runs of equal decisions (written with "_") are common.
      decisions: fc.array(fc.oneof(fc.nat({ max: 3 }), fc.nat({ max: 5000 })), { maxLength: 60 }),
    }),
    { minLength: 1, maxLength: 4 },
  ),
});

describe("encodeToken / decodeToken", () => {
  it("round-trip any token, using only [0-9a-z._~-]", () => {
    fc.assert(
      fc.property(tokenArb, (t) => {
        const s = encodeToken(t);
        expect(s).toMatch(/^[0-9a-z._~-]+$/);
        expect(s.startsWith(t.lockdep ? "v1." : "v1n.")).toBe(true);
        expect(s.split("~")).toHaveLength(t.executions.length);
        expect(decodeToken(s)).toEqual(t);
        // Encoding is canonical: the decoded token encodes to the same string.
        expect(encodeToken(decodeToken(s))).toBe(s);
      }),
      { numRuns: 500 },
    );
  });

  it("writes a run of three or more equal decisions as value_count", () => {
    const s = encodeToken({
      lockdep: true,
      executions: [{ seed: 35, decisions: [2, 2, 2, 2, 0, 1, 1, 11] }],
    });
    expect(s).toBe("v1.z.2_4-0-1-1-b");
    expect(encodeToken({ lockdep: true, executions: [{ seed: 0, decisions: Array(40).fill(1) }] })).toBe(
      "v1.0.1_14",
    );
    expect(decodeToken("v1.0.1_14").executions[0]!.decisions).toEqual(Array(40).fill(1));
    expect(decodeToken("v1.0.3_2-0").executions[0]!.decisions).toEqual([3, 3, 0]);
  });

  it("v1n names the same executions with lockdep off; ~ joins executions", () => {
    const t = decodeToken("v1n.a.0-1~b.1_3");
    expect(t).toEqual({
      lockdep: false,
      executions: [
        { seed: 10, decisions: [0, 1] },
        { seed: 11, decisions: [1, 1, 1] },
      ],
    });
    expect(decodeToken("v1.a.").executions).toEqual([{ seed: 10, decisions: [] }]);
    expect(decodeToken("  v1.a.0\n").executions[0]!.decisions).toEqual([0]);
  });

  it("refuses to encode a token with no execution", () => {
    expect(() => encodeToken({ lockdep: true, executions: [] })).toThrow(/at least one execution/);
  });

  it("malformed tokens throw an Error with a one-line reason", () => {
    const cases: [string, RegExp][] = [
      ["", /must start with "v1\."/],
      ["v2.1.0", /must start with "v1\."/],
      ["V1.1.0", /must start with "v1\."/],
      ["v1.", /part 1 is malformed/],
      ["v1.1", /part 1 is malformed/],
      ["v1.1.0.1", /part 1 is malformed/],
      ["v1.1.A", /part 1 is malformed/],
      ["v1.1.0~", /part 2 is malformed/],
      ["v1.1.0~2.x y", /part 2 is malformed/],
      ["v1.1.2__3", /bad decision "2__3"|bad/],
      ["v1.1.2_", /bad/],
      ["v1.zzzzzzzzzzzzzzzzzzzz.0", /seed .* out of range/],
      ["v1.0.zzzzzzzzzzzzzzzzzzzz", /decision .* out of range/],
      [`v1.1.${"q".repeat(500)}!`, /part 1 is malformed: 1\.q{38}\.\.\.$/],
    ];
    for (const [token, reason] of cases) {
      let err: unknown;
      try {
        decodeToken(token);
      } catch (e) {
        err = e;
      }
      expect(err, token).toBeInstanceOf(Error);
      const msg = (err as Error).message;
      expect(msg, token).toMatch(reason);
      expect(msg, token).not.toContain("\n");
      expect(msg.length, token).toBeLessThan(120);
    }
  });

  it("a malformed token given to replay() is refused before anything runs", async () => {
    let ran = false;
    await expect(
      replay(async () => {
        ran = true;
      }, "v1.nope!"),
    ).rejects.toThrow(/replay token part 1 is malformed/);
    expect(ran).toBe(false);
  });
});

describe("the lockdep flag of a token", () => {
  /** One thread takes A then B, later B then A: no hang, but an inversion. */
  const inversion: Program = async (ex) => {
    const a = new Mutex(ex, "A");
    const b = new Mutex(ex, "B");
    await a.lock();
    await b.lock();
    await b.unlock();
    await a.unlock();
    await b.lock();
    await a.lock();
    await a.unlock();
    await b.unlock();
  };

  it("v1 replays with lock-order validation on, v1n with it off", async () => {
    const on = await replay(inversion, "v1.0.");
    expect(on.failure?.kind).toBe("potential-deadlock");
    expect(on.failure?.message).toContain("possible circular locking dependency");
    const off = await replay(inversion, "v1n.0.");
    expect(off.failure).toBeNull();
  });
});
