/** Building searchset and history Bundles, with their paging links. */
import { operationOutcome } from '../fhir/outcome.ts';
import type { ParsedSearch } from '../fhir/searchQuery.ts';
import { encodeCursor } from '../fhir/searchCursor.ts';
import { subset } from '../fhir/subsetting.ts';
import type { Resource } from '../fhir/types.ts';
import type { HistoryPage, SearchResult } from '../store/index.ts';
import type { FhirContext } from './fhirExchange.ts';

type Link = { relation: string; url: string };

function pageLinks(
  ctx: FhirContext,
  path: string,
  query: [string, string][],
  offset: number,
  count: number,
  more: boolean,
): Link[] {
  const base = query.filter(([name]) => name !== '_offset');
  const url = (at: number) => {
    const params = new URLSearchParams([...base, ['_offset', String(at)]]);
    return `${ctx.baseUrl}/${path}?${params.toString()}`;
  };
  const links: Link[] = [{ relation: 'self', url: url(offset) }];
  if (more) links.push({ relation: 'next', url: url(offset + count) });
  if (offset > 0) links.push({ relation: 'previous', url: url(Math.max(0, offset - count)) });
  return links;
}

/**
 * Search paging links. `next` and `previous` carry a cursor (keyset paging): a page starts right after
 * (or ends right before) a given match, so matches created or deleted meanwhile never shift a page as
 * an offset would. `_offset` is still read, as a starting point.
 */
function searchLinks(
  ctx: FhirContext,
  path: string,
  query: [string, string][],
  request: ParsedSearch['request'],
  result: SearchResult,
): Link[] {
  const base = query.filter(([name]) => name !== '_offset' && name !== '_cursor');
  const url = (extra: [string, string][]) =>
    `${ctx.baseUrl}/${path}?${new URLSearchParams([...base, ...extra]).toString()}`;
  const links: Link[] = [
    { relation: 'self', url: `${ctx.baseUrl}/${path}?${new URLSearchParams(query).toString()}` },
  ];
  if (request.after || request.offset > 0) links.push({ relation: 'first', url: url([]) });
  if (request.count === 0) return links;
  if (result.next) links.push({ relation: 'next', url: url([['_cursor', encodeCursor(result.next)]]) });
  if (result.previous)
    links.push({ relation: 'previous', url: url([['_cursor', encodeCursor(result.previous)]]) });
  return links;
}

export function searchBundle(
  ctx: FhirContext,
  path: string,
  query: [string, string][],
  { request, ignored, subsetting }: ParsedSearch,
  result: SearchResult,
  included: Resource[],
): Resource {
  const entry: unknown[] = [
    ...result.resources.map((r) => ({ r, mode: 'match' })),
    ...included.map((r) => ({ r, mode: 'include' })),
  ].map(({ r, mode }) => ({
    fullUrl: `${ctx.baseUrl}/${r.resourceType}/${r.id}`,
    resource: subset(r, subsetting),
    search: { mode },
  }));
  if (ignored.length > 0) {
    entry.push({
      resource: operationOutcome([
        {
          severity: 'warning',
          code: 'not-supported',
          diagnostics: `Ignored search parameters: ${ignored.join(', ')}.`,
        },
      ]),
      search: { mode: 'outcome' },
    });
  }
  return {
    resourceType: 'Bundle',
    type: 'searchset',
    ...(result.total !== undefined ? { total: result.total } : {}),
    link: searchLinks(ctx, path, query, request, result),
    entry,
  };
}

export function historyBundle(
  ctx: FhirContext,
  path: string,
  query: [string, string][],
  page: HistoryPage,
  count: number,
  offset: number,
): Resource {
  return {
    resourceType: 'Bundle',
    type: 'history',
    total: page.total,
    link: pageLinks(ctx, path, query, offset, count, offset + page.versions.length < page.total),
    entry: page.versions.map((v) => ({
      fullUrl: `${ctx.baseUrl}/${v.resourceType}/${v.id}`,
      ...(v.resource ? { resource: v.resource } : {}),
      request: {
        method: v.method === 'create' ? 'POST' : v.method === 'update' ? 'PUT' : 'DELETE',
        url: v.method === 'create' ? v.resourceType : `${v.resourceType}/${v.id}`,
      },
      response: {
        status: v.method === 'create' ? '201' : v.method === 'update' ? '200' : '204',
        etag: `W/"${v.versionId}"`,
        lastModified: v.lastUpdated,
      },
    })),
  };
}
