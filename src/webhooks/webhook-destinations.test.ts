// The destination policy of webhooks, table-driven: which addresses a post may connect to, by
// default and with an operator's allow-list, and the lookup that applies it to host names.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { DESTINATION_REFUSED, destinationPolicy, parseNetwork } from "./webhook-destinations.js";

const REFUSED = [
  "127.0.0.1", "127.255.255.254", "0.0.0.0", "0.1.2.3", "10.0.0.1", "100.64.0.1", "169.254.169.254", "172.16.0.1", "172.31.255.255",
  "192.168.1.1", "192.0.2.10", "198.18.0.1", "224.0.0.1", "255.255.255.255",
  "::", "::1", "[::1]", "fe80::1", "fe80::1%eth0", "fc00::1", "fd12:3456::1", "ff02::1", "2001:db8::1",
  // IPv4-mapped, IPv4-compatible and NAT64 forms of loopback and the metadata endpoint.
  "::ffff:127.0.0.1", "::ffff:7f00:1", "0:0:0:0:0:ffff:a9fe:a9fe", "::127.0.0.1", "64:ff9b::7f00:1", "64:ff9b::169.254.169.254",
  "not an address", "",
];
const ALLOWED = ["8.8.8.8", "93.184.216.34", "172.32.0.1", "2606:4700:4700::1111", "::ffff:8.8.8.8", "64:ff9b::808:808"];

describe("webhook destinations", () => {
  it("refuses loopback, private, link-local, reserved and special addresses in every IPv4 and IPv6 form by default", () => {
    const policy = destinationPolicy();
    for (const address of REFUSED) assert.equal(policy.allows(address), false, address);
    for (const address of ALLOWED) assert.equal(policy.allows(address), true, address);
  });

  it("judges the address URL parsing makes of decimal, octal, hex and short IPv4 forms", () => {
    const policy = destinationPolicy();
    for (const url of ["http://2130706433/", "http://0x7f.1/", "http://017700000001/", "http://127.1/", "http://0/", "http://[::ffff:127.0.0.1]/", "http://0xa9.254.0251.0376/"]) {
      const host = new URL(url).hostname.replace(/^\[|\]$/g, "");
      assert.equal(policy.allows(host), false, `${url} → ${host}`);
    }
  });

  it("lets an operator allow internal networks, and only those", () => {
    const policy = destinationPolicy(["127.0.0.1/32", "10.1.0.0/16", "::1"]);
    for (const address of ["127.0.0.1", "::ffff:127.0.0.1", "10.1.200.3", "::1", "8.8.8.8"]) assert.equal(policy.allows(address), true, address);
    for (const address of ["127.0.0.2", "10.2.0.1", "169.254.169.254", "::2"]) assert.equal(policy.allows(address), false, address);
    assert.throws(() => parseNetwork("10.0.0.0/33"));
    assert.throws(() => parseNetwork("example.com/8"));
    assert.throws(() => parseNetwork("10.0.0.0/8/1"));
  });

  it("resolves a host name and refuses it when no address it resolves to is allowed", async () => {
    const lookup = (policy: ReturnType<typeof destinationPolicy>, all: boolean) =>
      new Promise<{ err: NodeJS.ErrnoException | null; address: unknown }>((resolve) => policy.lookup("localhost", { all, family: 4 }, (err, address) => resolve({ err, address })));
    const refused = await lookup(destinationPolicy(), false);
    assert.equal(refused.err?.code, DESTINATION_REFUSED);
    assert.doesNotMatch(refused.err!.message, /127\.0\.0\.1|localhost/, "the reason names no address");
    assert.deepEqual((await lookup(destinationPolicy(["127.0.0.0/8"]), false)).address, "127.0.0.1");
    assert.deepEqual((await lookup(destinationPolicy(["127.0.0.0/8"]), true)).address, [{ address: "127.0.0.1", family: 4 }]);
  });
});
