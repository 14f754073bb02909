// Where a reader is, from a local MaxMind-format database (GeoLite2-City or GeoIP2-City, .mmdb)
// named by POSTHORN_GEOIP_DATABASE; nothing is asked of any service on the network. Without one,
// opens and clicks carry no place. The database is opened once at start; an unreadable one fails
// the start rather than silently recording no places (its file is checked at start, and read on
// first use).
import { accessSync, constants } from "node:fs";
import type { CityResponse, Reader } from "maxmind";
import { lazyModule } from "../shared/lazy-module.js";
import type { GeoData } from "../events/event-map.js";

const maxmind = lazyModule<typeof import("maxmind")>("maxmind");

export interface GeoLookup {
  lookup(ip: string | null): Promise<GeoData | null>;
}

export const noGeo: GeoLookup = { lookup: async () => null };

/** Throws at once when the file cannot be read; opens it on the first lookup. */
export function geoDatabase(path: string | null): GeoLookup {
  if (!path) return noGeo;
  accessSync(path, constants.R_OK);
  let reader: Promise<Reader<CityResponse>> | null = null;
  return {
    async lookup(ip) {
      if (!ip) return null;
      // No file watching: a database updated on disk is read again at the next start.
      reader ??= maxmind().open<CityResponse>(path, { watchForUpdates: false });
      return geoOf(await reader, ip);
    },
  };
}

function geoOf(reader: Reader<CityResponse>, ip: string): GeoData | null {
  let found: CityResponse | null;
  try {
    found = reader.get(ip.replace(/^::ffff:(?=\d+\.\d+\.\d+\.\d+$)/i, ""));
  } catch {
    return null; // not an IP address the database can look up
  }
  if (!found) return null;
  const region = found.subdivisions?.[0];
  const { latitude, longitude } = found.location ?? {};
  return {
    countryIso: found.country?.iso_code ?? null,
    country: found.country?.names?.en ?? null,
    regionIso: region?.iso_code ?? null,
    region: region?.names?.en ?? null,
    city: found.city?.names?.en ?? null,
    zip: found.postal?.code ?? null,
    coords: latitude !== undefined && longitude !== undefined ? `${latitude},${longitude}` : null,
  };
}
