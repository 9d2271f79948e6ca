/**
 * The JSON text the store keeps for a resource version: `resourceType`, `id`, then `meta` opening with
 * the version stamp the store sets (`versionId`, `lastUpdated`), then the rest as given. Import workers
 * serialize resources ahead without the stamp; the writer only splices it in, so the main thread never
 * parses or re-serializes a resource it imports.
 */
import type { Resource } from '../../fhir/types.ts';

/**
 * The resource's JSON in the stored layout without a version stamp (a `meta` without `versionId` and
 * `lastUpdated`). Two versions with the same content have the same unstamped JSON.
 */
export function unstampedJson(resource: Resource): string {
  const { resourceType, id, meta, ...rest } = resource;
  const { versionId: _v, lastUpdated: _l, ...otherMeta } = meta ?? {};
  return JSON.stringify({ resourceType, id, meta: otherMeta, ...rest });
}

/** The resource as stored at `version`, written at `lastUpdated` (epoch ms); its JSON is `stampJson`'s. */
export function stampResource(resource: Resource, version: number, lastUpdated: number): Resource {
  const { resourceType, id, meta, ...rest } = resource;
  const { versionId: _v, lastUpdated: _l, ...otherMeta } = meta ?? {};
  return {
    resourceType,
    id,
    meta: { versionId: String(version), lastUpdated: new Date(lastUpdated).toISOString(), ...otherMeta },
    ...rest,
  };
}

/** Adds the version stamp to unstamped JSON: the same text as `JSON.stringify(stampResource(...))`. */
export function stampJson(unstamped: string, version: number, lastUpdated: number): string {
  const at = metaStart(unstamped);
  const stamp = `"versionId":"${version}","lastUpdated":"${new Date(lastUpdated).toISOString()}"`;
  const separator = unstamped[at] === '}' ? '' : ',';
  return unstamped.slice(0, at) + stamp + separator + unstamped.slice(at);
}

const STAMP = /"versionId":"[^"]*","lastUpdated":"[^"]*",?/y;

/** A stored body without its version stamp, to compare content with `unstampedJson`. */
export function unstampJson(body: string): string {
  const at = metaStart(body);
  STAMP.lastIndex = at;
  const stamp = STAMP.exec(body);
  return stamp ? body.slice(0, at) + body.slice(at + stamp[0].length) : body;
}

/**
 * Where the members of the top-level `meta` begin. `resourceType` and `id` come first and hold no
 * unescaped quote, so the first `"meta":{` is the resource's own.
 */
function metaStart(json: string): number {
  const at = json.indexOf('"meta":{');
  if (at < 0) throw new Error('stored resource JSON has no meta');
  return at + '"meta":{'.length;
}
