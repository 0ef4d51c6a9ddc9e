import { expect } from "chai";
import { PodIpAllocator, PodIpRangeExhaustedError, publishedAddressOf, reachableAddressOf } from "./ip-allocator.js";

describe("PodIpAllocator", () => {
  it("gives distinct loopback addresses and the same one to the same owner", () => {
    const allocator = new PodIpAllocator({ firstThirdOctet: 10, lastThirdOctet: 10 });
    const first = allocator.allocate("uid-1");
    const second = allocator.allocate("uid-2");
    expect(first).to.equal("127.0.10.1");
    expect(second).to.equal("127.0.10.2");
    expect(allocator.allocate("uid-1")).to.equal(first);
  });
  it("reuses a released address only after the rest of the range", () => {
    const allocator = new PodIpAllocator({ firstThirdOctet: 10, lastThirdOctet: 10 });
    allocator.allocate("uid-1");
    allocator.release("uid-1");
    expect(allocator.allocate("uid-2")).to.equal("127.0.10.2");
  });
  it("crosses into the next third octet and never hands out .0 or .255", () => {
    const allocator = new PodIpAllocator({ firstThirdOctet: 10, lastThirdOctet: 11 }, 253);
    expect(allocator.allocate("a")).to.equal("127.0.10.254");
    expect(allocator.allocate("b")).to.equal("127.0.11.1");
  });
  it("gives a preferred address when it is free and in range, otherwise the next one", () => {
    const allocator = new PodIpAllocator({ firstThirdOctet: 10, lastThirdOctet: 10 });
    expect(allocator.allocate("a", "127.0.10.77")).to.equal("127.0.10.77");
    expect(allocator.allocate("b", "127.0.10.77")).to.equal("127.0.10.1");
    expect(allocator.allocate("c", "127.0.99.1")).to.equal("127.0.10.2");
  });
  it("throws a typed error when exhausted", () => {
    const allocator = new PodIpAllocator({ firstThirdOctet: 10, lastThirdOctet: 10 });
    for (let index = 0; index < 254; index++) allocator.allocate(`uid-${index}`);
    expect(() => allocator.allocate("one-too-many")).to.throw(PodIpRangeExhaustedError);
  });
});

describe("published pod addresses", () => {
  const cases = [
    { loopback: "127.0.16.1", published: "198.18.16.1" },
    { loopback: "127.0.254.254", published: "198.18.254.254" },
  ];
  for (const testCase of cases) {
    it(`${testCase.loopback} ⇄ ${testCase.published}`, () => {
      expect(publishedAddressOf(testCase.loopback)).to.equal(testCase.published);
      expect(reachableAddressOf(testCase.published)).to.equal(testCase.loopback);
    });
  }
  it("leaves other addresses alone", () => expect(reachableAddressOf("10.0.0.7")).to.equal("10.0.0.7"));
  it("refuses to publish a non-pod address", () => expect(() => publishedAddressOf("10.0.0.7")).to.throw(RangeError));
});
