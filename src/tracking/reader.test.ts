import { test } from "node:test";
import assert from "node:assert/strict";
import { readerOf } from "./reader.js";

const cases: Array<[ua: string, ip: string | null, client: string, os: string, platform: string, proxied: boolean]> = [
  ["Microsoft Office/16.0 (Windows NT 10.0; Microsoft Outlook 16.0.17328; Pro)", "203.0.113.5", "Outlook", "Windows", "desktop", false],
  ["Mozilla/5.0 (iPhone; CPU iPhone OS 17_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148", "203.0.113.5", "Apple Mail", "iOS", "mobile", false],
  ["Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko)", "203.0.113.5", "Apple Mail", "Mac OS", "desktop", false],
  ["Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36", "203.0.113.5", "Chrome", "Windows", "desktop", false],
  ["Mozilla/5.0 (Windows NT 5.1; rv:11.0) Gecko Firefox/11.0 (via ggpht.com GoogleImageProxy)", "66.249.84.1", "Gmail", "unknown", "webmail", true],
  ["Mozilla/5.0 (compatible; YahooMailProxy; https://help.yahoo.com/kb/yahoo-mail-proxy-SLN28749.html)", "98.136.1.1", "Yahoo Mail", "unknown", "webmail", true],
  ["Mozilla/5.0", "203.0.113.5", "Apple Mail Privacy Protection", "unknown", "unknown", true],
  ["Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko)", "17.58.1.2", "Apple Mail Privacy Protection", "unknown", "unknown", true],
  ["", null, "unknown", "unknown", "unknown", false],
];

for (const [ua, ip, client, os, platform, proxied] of cases) {
  test(`reader: ${client} / ${os} from "${ua.slice(0, 50)}"`, () => {
    const reader = readerOf(ua, ip, null);
    assert.deepEqual([reader.client.family, reader.os.family, reader.platform, reader.proxied], [client, os, platform, proxied]);
  });
}

test("a proxy's fetch carries no place, and a very long user agent is cut", () => {
  const geo = { countryIso: "US", country: "United States", regionIso: null, region: null, city: null, zip: null, coords: null };
  assert.equal(readerOf("x (via ggpht.com GoogleImageProxy)", "66.249.84.1", geo).geo, null);
  assert.equal(readerOf("a".repeat(5000), null, null).userAgent.length, 512);
});
