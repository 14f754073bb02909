// A MaxMind DB (format 2.0) written by hand for tests: an IPv4 search tree that maps one network
// to one city record, and nothing else. No MaxMind writer exists for Node without new
// dependencies, and the format is small enough to write directly:
// https://maxmind.github.io/MaxMind-DB/ (search tree, data section, metadata).
import { writeFileSync } from "node:fs";

type Value = string | number | Value[] | { [key: string]: Value } | { uint64: number } | { double: number };

function control(type: number, size: number): Buffer {
  if (size >= 29) throw new Error("sizes of 29 or more are not needed here");
  return type <= 7 ? Buffer.of((type << 5) | size) : Buffer.of(size, type - 7);
}

function encode(value: Value): Buffer {
  if (typeof value === "string") {
    const bytes = Buffer.from(value, "utf8");
    return Buffer.concat([control(2, bytes.length), bytes]);
  }
  if (typeof value === "number") {
    // uint32 with the fewest bytes
    const bytes: number[] = [];
    for (let v = value; v > 0; v = Math.floor(v / 256)) bytes.unshift(v % 256);
    return Buffer.concat([control(6, bytes.length), Buffer.from(bytes)]);
  }
  if (Array.isArray(value)) return Buffer.concat([control(11, value.length), ...value.map(encode)]);
  if ("uint64" in value && typeof value.uint64 === "number") {
    const b = Buffer.alloc(8);
    b.writeBigUInt64BE(BigInt(value.uint64));
    return Buffer.concat([control(9, 8), b]);
  }
  if ("double" in value && typeof value.double === "number") {
    const b = Buffer.alloc(8);
    b.writeDoubleBE(value.double);
    return Buffer.concat([control(3, 8), b]);
  }
  const entries = Object.entries(value as Record<string, Value>);
  return Buffer.concat([control(7, entries.length), ...entries.flatMap(([k, v]) => [encode(k), encode(v)])]);
}

function uint16(n: number): Buffer {
  return Buffer.concat([control(5, 2), Buffer.of(n >> 8, n & 0xff)]);
}

/** Writes an IPv4 .mmdb at `path` where every address of `network` (a.b.c.d/len) has `record`. */
export function writeTestMmdb(path: string, network: string, record: Record<string, Value>): void {
  const [address, lengthText] = network.split("/");
  const prefix = Number(lengthText);
  const ip = address!.split(".").reduce((acc, part) => acc * 256 + Number(part), 0);
  const nodeCount = prefix; // one node per bit of the prefix
  const data = encode(record);
  const tree = Buffer.alloc(nodeCount * 6);
  for (let depth = 0; depth < prefix; depth++) {
    const bit = Math.floor(ip / 2 ** (31 - depth)) % 2;
    // The matching side goes one node deeper, or to the data at the last bit; the other has no data.
    const match = depth === prefix - 1 ? nodeCount + 16 + 0 : depth + 1;
    const records = bit === 0 ? [match, nodeCount] : [nodeCount, match];
    records.forEach((r, side) => tree.writeUIntBE(r, depth * 6 + side * 3, 3));
  }
  const metadata = Buffer.concat([
    control(7, 9),
    encode("node_count"),
    encode(nodeCount),
    encode("record_size"),
    uint16(24),
    encode("ip_version"),
    uint16(4),
    encode("database_type"),
    encode("Posthorn-Test-City"),
    encode("languages"),
    encode(["en"]),
    encode("binary_format_major_version"),
    uint16(2),
    encode("binary_format_minor_version"),
    Buffer.of(5 << 5),
    encode("build_epoch"),
    encode({ uint64: 1_700_000_000 }),
    encode("description"),
    encode({ en: "test" }),
  ]);
  writeFileSync(path, Buffer.concat([tree, Buffer.alloc(16), data, Buffer.from([0xab, 0xcd, 0xef]), Buffer.from("MaxMind.com"), metadata]));
}
