/**
 * Expands the value sets of required bindings into code sets, from the ValueSets and CodeSystems of
 * the R4 specification. Only value sets that can be enumerated offline are expanded: an include
 * with a filter, a code system that is not shipped (UCUM, BCP-13 mime types) or not complete makes
 * the whole value set unknown, and the binding goes unchecked rather than rejecting valid data.
 */
import { valueSetBundle } from '../definitions.ts';

export interface CodeSet {
  url: string;
  /** Bare codes, for elements of type `code` whose system is implied. */
  codes: ReadonlySet<string>;
  /** `system|code` pairs, for Coding and CodeableConcept. */
  systemCodes: ReadonlySet<string>;
}

interface Concept {
  code: string;
  concept?: Concept[];
}

interface CodeSystem {
  resourceType: 'CodeSystem';
  url: string;
  content?: string;
  concept?: Concept[];
}

interface ConceptSetComponent {
  system?: string;
  concept?: { code: string }[];
  filter?: unknown[];
  valueSet?: string[];
}

interface ValueSet {
  resourceType: 'ValueSet';
  url: string;
  compose?: { include?: ConceptSetComponent[]; exclude?: ConceptSetComponent[] };
  expansion?: { contains?: ExpansionContains[] };
}

interface ExpansionContains {
  system?: string;
  code?: string;
  contains?: ExpansionContains[];
}

type Pairs = Map<string, string>; // `system|code` → code

let terminology: { valueSets: Map<string, ValueSet>; codeSystems: Map<string, CodeSystem> } | undefined;

function load() {
  if (!terminology) {
    const valueSets = new Map<string, ValueSet>();
    const codeSystems = new Map<string, CodeSystem>();
    for (const { resource } of valueSetBundle().entry) {
      const r = resource as unknown as ValueSet | CodeSystem;
      if (r.resourceType === 'ValueSet') valueSets.set(r.url, r);
      else if (r.resourceType === 'CodeSystem') codeSystems.set(r.url, r);
    }
    terminology = { valueSets, codeSystems };
  }
  return terminology;
}

const stripVersion = (canonical: string) => canonical.split('|')[0];

function addConcepts(system: string, concepts: Concept[], into: Pairs): void {
  for (const c of concepts) {
    into.set(`${system}|${c.code}`, c.code);
    if (c.concept) addConcepts(system, c.concept, into);
  }
}

function addContains(contains: ExpansionContains[], into: Pairs): void {
  for (const c of contains) {
    if (c.system && c.code) into.set(`${c.system}|${c.code}`, c.code);
    if (c.contains) addContains(c.contains, into);
  }
}

/** The codes one include (or exclude) names, or undefined when they cannot be listed offline. */
function expandComponent(part: ConceptSetComponent, seen: Set<string>): Pairs | undefined {
  if (part.filter?.length) return undefined;
  // An include of a system that also names value sets is their intersection: rare, left unchecked.
  if (part.valueSet?.length && part.system) return undefined;
  const pairs: Pairs = new Map();
  if (part.valueSet?.length) {
    for (const url of part.valueSet) {
      const nested = expandValueSet(stripVersion(url), seen);
      if (!nested) return undefined;
      for (const [key, code] of nested) pairs.set(key, code);
    }
    return pairs;
  }
  if (!part.system) return undefined;
  if (part.concept) {
    for (const c of part.concept) pairs.set(`${part.system}|${c.code}`, c.code);
    return pairs;
  }
  const codeSystem = load().codeSystems.get(part.system);
  if (!codeSystem?.concept || codeSystem.content !== 'complete') return undefined;
  addConcepts(part.system, codeSystem.concept, pairs);
  return pairs;
}

function expandValueSet(url: string, seen: Set<string>): Pairs | undefined {
  const valueSet = load().valueSets.get(url);
  if (!valueSet || seen.has(url)) return undefined;
  seen.add(url);
  const pairs: Pairs = new Map();
  if (valueSet.compose?.include?.length) {
    for (const include of valueSet.compose.include) {
      const part = expandComponent(include, seen);
      if (!part) return undefined;
      for (const [key, code] of part) pairs.set(key, code);
    }
    for (const exclude of valueSet.compose.exclude ?? []) {
      const part = expandComponent(exclude, seen);
      if (!part) return undefined;
      for (const key of part.keys()) pairs.delete(key);
    }
  } else if (valueSet.expansion?.contains) {
    addContains(valueSet.expansion.contains, pairs);
  } else {
    return undefined;
  }
  seen.delete(url);
  return pairs;
}

const cache = new Map<string, CodeSet | null>();

/** The codes a required binding to `valueSet` allows, or undefined when the value set cannot be expanded. */
export function requiredCodeSet(valueSet: string): CodeSet | undefined {
  const url = stripVersion(valueSet);
  let set = cache.get(url);
  if (set === undefined) {
    const pairs = expandValueSet(url, new Set());
    set =
      pairs && pairs.size > 0
        ? { url, codes: new Set(pairs.values()), systemCodes: new Set(pairs.keys()) }
        : null;
    cache.set(url, set);
  }
  return set ?? undefined;
}
