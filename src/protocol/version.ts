/**
 * The release of edge-broker that is running: package.json's `version`, its one source. The
 * bundler inlines that one field, not the file.
 *
 * @example
 * app.get("/healthz", (c) => c.json({ ok: true, version: VERSION })); // {"ok":true,"version":"0.1.0"}
 */
import { version } from "../../package.json";

export const VERSION: string = version;
