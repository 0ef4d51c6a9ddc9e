import { expect } from "chai";
import { generateSqlPassword } from "./random-secret.js";

/** Deterministic byte source: a simple linear congruential sequence. */
function seededBytes(seed: number): (size: number) => Uint8Array {
  let state = seed;
  return (size) => {
    const bytes = new Uint8Array(size);
    for (let index = 0; index < size; index++) {
      state = (state * 1103515245 + 12345) % 2147483648;
      bytes[index] = state >> 16 & 0xff;
    }
    return bytes;
  };
}

describe("generateSqlPassword", () => {
  for (const seed of [1, 2, 3, 42, 1000]) {
    it(`meets SQL Server's complexity policy (seed ${seed})`, () => {
      const password = generateSqlPassword(seededBytes(seed));
      expect(password).to.have.length(32);
      expect(password).to.match(/[A-Z]/).and.match(/[a-z]/).and.match(/[0-9]/).and.match(/[-_.+]/);
      expect(password).to.match(/^[A-Za-z0-9\-_.+]+$/);
    });
  }

  it("uses crypto randomness by default and does not repeat", () => {
    expect(generateSqlPassword()).to.not.equal(generateSqlPassword());
  });

  it("rejects lengths that cannot hold every character class", () => {
    expect(() => generateSqlPassword(seededBytes(1), 3)).to.throw(RangeError);
  });
});
