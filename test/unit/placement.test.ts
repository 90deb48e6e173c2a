import { describe, expect, it } from "vitest";
import { clientPlace, LOCATION_HINTS, locationHint } from "../../src/protocol/placement";

describe("locationHint", () => {
  it.each([
    [{ continent: "NA", longitude: "-122.4" }, "wnam"],
    [{ continent: "NA", longitude: "-74.0" }, "enam"],
    [{ continent: "NA" }, "wnam"],
    [{ continent: "SA", longitude: "-46.6" }, "sam"],
    [{ continent: "EU", longitude: "-0.1" }, "weur"],
    [{ continent: "EU", longitude: 37.6 }, "eeur"],
    [{ continent: "AS", longitude: "139.7" }, "apac"],
    [{ continent: "OC", longitude: "151.2" }, "oc"],
    [{ continent: "AF", longitude: "28.0" }, "afr"],
    [{ continent: "ME" }, "me"],
    [{ continent: "eu", longitude: "2.3" }, "weur"],
  ])("places a client from %o in %s", (place, hint) => {
    expect(locationHint(place)).toBe(hint);
    expect(LOCATION_HINTS).toContain(hint);
  });

  it("gives no hint for a request without a place, or from a continent it does not know", () => {
    expect(locationHint({})).toBeUndefined();
    expect(locationHint({ continent: "XX" })).toBeUndefined();
  });

  it("reads the place from request.cf, and nothing from a request without one", () => {
    const request = new Request("http://b/") as Request & { cf?: unknown };
    expect(clientPlace(request)).toEqual({ continent: undefined, longitude: undefined });
    Object.defineProperty(request, "cf", { value: { continent: "OC", longitude: "151.2" } });
    expect(locationHint(clientPlace(request))).toBe("oc");
  });
});
