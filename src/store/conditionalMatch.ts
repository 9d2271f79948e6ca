/** The resources that a FHIR condition (`identifier=x`, or `Type?identifier=x`) matches. */
import { badRequest } from '../fhir/outcome.ts';
import { parseSearch } from '../fhir/searchQuery.ts';
import type { Resource } from '../fhir/types.ts';
import type { StoreOperations } from './types.ts';

/** Up to `limit` matches: callers ask for 2 to tell "one" from "several". */
export async function findByCondition(
  ops: StoreOperations,
  type: string,
  condition: string | [string, string][],
  limit: number,
): Promise<Resource[]> {
  const query =
    typeof condition === 'string'
      ? [...new URLSearchParams(condition.replace(/^[A-Za-z]*\?/, ''))]
      : condition;
  const criteria = query.filter(([name]) => !['_format', '_pretty'].includes(name));
  if (criteria.length === 0)
    throw badRequest(`The condition "${String(condition).slice(0, 200)}" has no search criteria.`);
  const { request } = parseSearch([type], criteria, { strict: true });
  const { resources } = await ops.search({ ...request, count: limit, offset: 0, total: 'none' });
  return resources;
}
