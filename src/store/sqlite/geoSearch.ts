/**
 * Location `near`: positions are indexed as a latitude/longitude composite (two number rows of one
 * group); a search takes the rows inside a bounding box from the index, then keeps those within the
 * distance along the earth's surface (haversine, on a sphere of the WGS84 mean radius).
 */
import type { Connection } from './connection.ts';

export const DISTANCE_FUNCTION = 'chartvault_distance_km';

const EARTH_RADIUS_KM = 6371.0088;
const KM_PER_DEGREE = (Math.PI * EARTH_RADIUS_KM) / 180;

export function registerDistance(db: Connection): void {
  db.function(
    DISTANCE_FUNCTION,
    { deterministic: true },
    (lat1: unknown, lon1: unknown, lat2: unknown, lon2: unknown) =>
      distanceKm(Number(lat1), Number(lon1), Number(lat2), Number(lon2)),
  );
}

export function distanceKm(lat1: number, lon1: number, lat2: number, lon2: number): number {
  const rad = Math.PI / 180;
  const dLat = (lat2 - lat1) * rad;
  const dLon = (lon2 - lon1) * rad;
  const a = Math.sin(dLat / 2) ** 2 + Math.cos(lat1 * rad) * Math.cos(lat2 * rad) * Math.sin(dLon / 2) ** 2;
  return 2 * EARTH_RADIUS_KM * Math.asin(Math.min(1, Math.sqrt(a)));
}

/** Latitude and longitude bounds that hold every point within `km`; no longitude bound near a pole or the date line. */
export function boundingBox(
  latitude: number,
  longitude: number,
  km: number,
): { minLat: number; maxLat: number; minLon: number; maxLon: number } {
  const dLat = km / KM_PER_DEGREE;
  const minLat = latitude - dLat;
  const maxLat = latitude + dLat;
  const cos = Math.cos((Math.max(Math.abs(minLat), Math.abs(maxLat)) * Math.PI) / 180);
  const dLon = cos > 0.01 ? km / (KM_PER_DEGREE * cos) : 360;
  const [minLon, maxLon] = [longitude - dLon, longitude + dLon];
  if (minLon < -180 || maxLon > 180) return { minLat, maxLat, minLon: -180, maxLon: 180 };
  return { minLat, maxLat, minLon, maxLon };
}
