/**
 * Where an object that holds a client's sockets should live: the Durable Objects location hint
 * nearest the client, from the continent (and longitude) Cloudflare saw its request come from.
 * https://developers.cloudflare.com/durable-objects/reference/data-location/#provide-a-location-hint
 */

/** The location hints Durable Objects accept (`DurableObjectLocationHint`). */
export const LOCATION_HINTS = ["wnam", "enam", "sam", "weur", "eeur", "apac", "oc", "afr", "me"] as const;

export type LocationHint = (typeof LOCATION_HINTS)[number];

/** Where a request came from, as `request.cf` tells it (absent locally and in tests). */
export interface ClientPlace {
  continent?: string | undefined;
  longitude?: string | number | undefined;
}

/** Longitudes that split a continent served by two hints (east of it is the second). */
const SPLIT = {
  NA: { at: -100, west: "wnam", east: "enam" },
  EU: { at: 20, west: "weur", east: "eeur" },
} as const;

const BY_CONTINENT: Record<string, LocationHint> = {
  SA: "sam",
  AS: "apac",
  OC: "oc",
  AF: "afr",
  // Cloudflare reports the Middle East under AS; ME is kept should a request name it.
  ME: "me",
  // Antarctica: the nearest region with Durable Objects.
  AN: "oc",
};

/**
 * The location hint for a client, or `undefined` when its request carries no place (local runs,
 * tests): then the runtime places the object near the caller, as without a hint.
 *
 * @example
 * locationHint({ continent: "OC" }); // "oc"
 * locationHint({ continent: "NA", longitude: "-122.4" }); // "wnam"
 * locationHint({ continent: "EU", longitude: 37.6 }); // "eeur"
 * locationHint({}); // undefined
 */
export function locationHint(place: ClientPlace): LocationHint | undefined {
  const continent = place.continent?.toUpperCase();
  if (continent === undefined) return undefined;
  if (continent === "NA" || continent === "EU") {
    const split = SPLIT[continent];
    const longitude = Number(place.longitude);
    return Number.isFinite(longitude) && longitude >= split.at ? split.east : split.west;
  }
  return BY_CONTINENT[continent];
}

/** Whether a string is a location hint (a query or a stored name carries it as text). */
export const isLocationHint = (value: string): value is LocationHint =>
  (LOCATION_HINTS as readonly string[]).includes(value);

/**
 * The place `request.cf` gives a request (Cloudflare sets it on every request it serves; a request
 * made locally or in tests has none).
 *
 * @example
 * locationHint(clientPlace(request)); // "oc" for a client in Sydney
 */
export function clientPlace(request: Request): ClientPlace {
  const cf = (request as { cf?: { continent?: unknown; longitude?: unknown } }).cf;
  const continent = typeof cf?.continent === "string" ? cf.continent : undefined;
  const longitude =
    typeof cf?.longitude === "string" || typeof cf?.longitude === "number" ? cf.longitude : undefined;
  return { continent, longitude };
}
