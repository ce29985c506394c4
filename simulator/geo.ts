/**
 * Where the handbook's abstract 100 × 100 grid sits on a map. The grid is laid over western-central Europe
 * (latitude 45–52 °N, longitude 2–12 °E), so a radius of 5 grid units is about 35–40 km: a customer's usual
 * terminals are within driving distance, and a geo-velocity feature sees ordinary trips as ordinary.
 */
export const GRID_SIZE = 100;
const LAT_MIN = 45;
const LAT_PER_UNIT = 0.07;
const LON_MIN = 2;
const LON_PER_UNIT = 0.1;

export interface Place {
  readonly country: string;
  readonly latitude: number;
  readonly longitude: number;
}

function round4(value: number): number {
  return Math.round(value * 10_000) / 10_000;
}

/** Latitude/longitude (4 decimals, ~10 m) of a grid point. */
export function gridToLatLon(x: number, y: number): { latitude: number; longitude: number } {
  return { latitude: round4(LAT_MIN + y * LAT_PER_UNIT), longitude: round4(LON_MIN + x * LON_PER_UNIT) };
}

/**
 * ISO 3166-1 alpha-2 country of a grid point: a coarse partition that roughly follows the real borders of
 * the covered area (all euro-area countries, so local currency is EUR; Switzerland is folded into its
 * neighbours to keep the region single-currency).
 */
export function countryAt(x: number, y: number): string {
  const { latitude, longitude } = gridToLatLon(x, y);
  if (latitude >= 51.4 && longitude < 7) return 'NL';
  if (latitude >= 49.5 && longitude < 6) return 'BE';
  if (latitude < 46.5 && longitude >= 7) return 'IT';
  if (latitude < 47.6 && longitude >= 10) return 'AT';
  if (longitude < 7.5) return 'FR';
  return 'DE';
}

export function placeAt(x: number, y: number): Place {
  return { country: countryAt(x, y), ...gridToLatLon(x, y) };
}

/** Far-away places an account-takeover session appears from (a geo jump of thousands of kilometres). */
export const farAwayPlaces: readonly Place[] = Object.freeze([
  { country: 'BR', latitude: -23.5505, longitude: -46.6333 },
  { country: 'ID', latitude: -6.2088, longitude: 106.8456 },
  { country: 'NG', latitude: 6.5244, longitude: 3.3792 },
  { country: 'PH', latitude: 14.5995, longitude: 120.9842 },
  { country: 'VN', latitude: 21.0278, longitude: 105.8342 },
  { country: 'PE', latitude: -12.0464, longitude: -77.0428 },
  { country: 'TH', latitude: 13.7563, longitude: 100.5018 },
  { country: 'US', latitude: 40.7128, longitude: -74.006 },
]);

/** Countries and currencies of online (card-not-present) merchants abroad. */
export const foreignMerchantCountries: ReadonlyArray<{ readonly country: string; readonly currency: string }> =
  Object.freeze([
    { country: 'GB', currency: 'GBP' },
    { country: 'US', currency: 'USD' },
  ]);
