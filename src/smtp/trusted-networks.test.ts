import { test, describe } from "node:test";
import assert from "node:assert/strict";
import type { Workspace } from "../workspaces/workspaces.service.js";
import { TrustedNetworks, expandIpv6, normalizeAddress, parseTrustedNetworksSpec } from "./trusted-networks.js";

const ws = (name: string): Workspace => ({ id: `ws_${name}`, name, sandbox: false, createdAt: 0 });

describe("trusted networks", () => {
  const networks = new TrustedNetworks([
    { cidr: "10.1.2.3", workspace: ws("host") },
    { cidr: "10.0.0.0/8", workspace: ws("ten") },
    { cidr: "2001:db8::/32", workspace: ws("v6") },
    { cidr: "::1", workspace: ws("loop6") },
  ]);
  const cases: Array<[string, string | null]> = [
    ["10.1.2.3", "host"], // the first matching entry wins
    ["10.200.0.1", "ten"],
    ["::ffff:10.9.9.9", "ten"], // IPv4-mapped, as a dual-stack listener reports it
    ["11.0.0.1", null],
    ["2001:db8:1::25", "v6"],
    ["2001:db9::1", null],
    ["::1", "loop6"],
    ["fe80::1%eth0", null],
    ["not-an-ip", null],
  ];
  for (const [address, expected] of cases) {
    test(`${address} → ${expected ?? "untrusted"}`, () => {
      const match = networks.match(address);
      assert.equal(match ? (match.workspace as Workspace).name : null, expected);
    });
  }

  test("rejects malformed CIDRs, naming each", () => {
    assert.throws(() => new TrustedNetworks([{ cidr: "10.0.0.0/33", workspace: ws("a") }, { cidr: "nope/8", workspace: ws("b") }]), /10\.0\.0\.0\/33, nope\/8/);
  });

  test("parses POSTHORN_SMTP_TRUSTED_NETWORKS and lists every bad entry", () => {
    assert.deepEqual(parseTrustedNetworksSpec("127.0.0.1/32=bench, 10.0.0.0/8=internal ::1=bench"), [
      { cidr: "127.0.0.1/32", workspaceName: "bench" },
      { cidr: "10.0.0.0/8", workspaceName: "internal" },
      { cidr: "::1", workspaceName: "bench" },
    ]);
    assert.deepEqual(parseTrustedNetworksSpec(""), []);
    assert.throws(() => parseTrustedNetworksSpec("10.0.0.0/8,1.2.3.4/40=x,=y,ok/1=z"), /10\.0\.0\.0\/8, 1\.2\.3\.4\/40=x, =y, ok\/1=z/);
  });

  test("normalizes addresses", () => {
    assert.equal(normalizeAddress("::FFFF:192.0.2.1"), "192.0.2.1");
    assert.equal(normalizeAddress("fe80::1%eth0"), "fe80::1");
    assert.deepEqual(expandIpv6("2001:db8::1"), ["2001", "0db8", "0000", "0000", "0000", "0000", "0000", "0001"]);
    assert.deepEqual(expandIpv6("::ffff:1.2.3.4").slice(5), ["ffff", "0102", "0304"]);
  });
});
