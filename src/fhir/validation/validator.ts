/**
 * Walks a resource's JSON against the compiled element trees and collects what is wrong with it:
 * unknown properties, JSON kinds, arrays, cardinality, primitive formats, required bindings and
 * invariants, each with the FHIRPath location of the offending value.
 */
import type { Issue, IssueCode, IssueSeverity } from '../outcome.ts';
import { complexTypeModel, resourceModel, type ComplexModel, type ElementRule } from './elementModel.ts';
import type { Invariant, InvariantEnv } from './invariants.ts';
import { isConcreteResourceType } from './structureDefinitions.ts';

type Json = Record<string, unknown>;

/** Objects nested deeper than this are refused rather than walked (or handed to fhirpath). */
export const MAX_DEPTH = 100;

/** How many codes of a value set a diagnostic lists before it stops. */
const LISTED_CODES = 12;

interface Walk {
  issues: Issue[];
  /** The location being checked, as property names and array indexes; joined only for an issue. */
  segments: (string | number)[];
  tooDeep: boolean;
}

const isObject = (value: unknown): value is Json =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (value === undefined) return 'absent';
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'object') return 'an object';
  return `a ${typeof value} (${JSON.stringify(typeof value === 'string' ? value.slice(0, 60) : value)})`;
}

function location(walk: Walk, extra?: string): string {
  let path = '';
  for (const segment of walk.segments) {
    path += typeof segment === 'number' ? `[${segment}]` : path ? `.${segment}` : segment;
  }
  return extra ? `${path}.${extra}` : path;
}

function report(
  walk: Walk,
  code: IssueCode,
  diagnostics: string,
  at?: string,
  severity: IssueSeverity = 'error',
) {
  const expression = at ?? location(walk);
  walk.issues.push({ severity, code, diagnostics, expression: expression ? [expression] : undefined });
}

function checkInvariants(walk: Walk, invariants: Invariant[], node: unknown, env: InvariantEnv) {
  if (walk.tooDeep) return;
  for (const invariant of invariants) {
    if (invariant.holds(node, env) !== false) continue;
    report(
      walk,
      'invariant',
      `${location(walk)} violates ${invariant.key}: ${invariant.human} (${invariant.expression})`,
      undefined,
      invariant.severity,
    );
  }
}

function checkBinding(walk: Walk, rule: ElementRule, value: unknown) {
  const codes = rule.binding!;
  let inValueSet: boolean | undefined;
  let shown = '';
  if (typeof value === 'string') {
    inValueSet = codes.codes.has(value);
    shown = `'${value}'`;
  } else if (isObject(value) && rule.typeName === 'Coding') {
    inValueSet = codingInValueSet(value, codes);
    shown = `${value.system ?? ''}|${value.code ?? ''}`;
  } else if (isObject(value) && rule.typeName === 'CodeableConcept' && Array.isArray(value.coding)) {
    // Any one coding from the value set satisfies a required binding; codings without a system
    // cannot be judged.
    const judged = value.coding.filter((c): c is Json => isObject(c) && typeof c.code === 'string');
    if (judged.length) inValueSet = judged.some((c) => codingInValueSet(c, codes) !== false);
    shown = judged.map((c) => `${c.system ?? ''}|${c.code}`).join(', ');
  }
  if (inValueSet !== false) return;
  const allowed = [...codes.codes];
  const listed = allowed.slice(0, LISTED_CODES).join(', ') + (allowed.length > LISTED_CODES ? ', ...' : '');
  report(
    walk,
    'code-invalid',
    `${shown} is not in the value set ${codes.url} that ${rule.definition} is bound to (required); expected one of: ${listed}`,
  );
}

function codingInValueSet(
  coding: Json,
  codes: { codes: ReadonlySet<string>; systemCodes: ReadonlySet<string> },
) {
  if (typeof coding.code !== 'string') return undefined;
  if (typeof coding.system !== 'string') return undefined;
  return codes.systemCodes.has(`${coding.system}|${coding.code}`);
}

function checkPrimitive(walk: Walk, rule: ElementRule, value: unknown) {
  const primitive = rule.primitive!;
  if (typeof value !== primitive.json) {
    report(
      walk,
      'structure',
      `${location(walk)} must be a JSON ${primitive.json} (FHIR ${primitive.name}), but is ${describe(value)}`,
    );
    return;
  }
  const problem = primitive.check(value as string | number | boolean);
  if (problem) report(walk, 'value', `${location(walk)}: ${problem}`);
  else if (primitive.name === 'xhtml' && !/^\s*<div[\s>]/.test(value as string)) {
    report(walk, 'value', `${location(walk)} must be an XHTML <div> element`);
  }
}

/** One value of an element (an array item, or the single value). */
function checkValue(walk: Walk, rule: ElementRule, value: unknown, depth: number, env: InvariantEnv) {
  if (value === null) {
    report(walk, 'structure', `${location(walk)} is null; FHIR JSON leaves absent elements out instead`);
    return;
  }
  if (rule.kind === 'primitive') checkPrimitive(walk, rule, value);
  else if (rule.kind === 'resource') {
    checkResource(walk, value, depth + 1, rule.name === 'contained' ? env : undefined, rule.resourceType);
  } else if (!isObject(value)) {
    report(
      walk,
      'structure',
      `${location(walk)} must be a JSON object (FHIR ${rule.typeName}), but is ${describe(value)}`,
    );
    return;
  } else checkObject(walk, rule.model!, value, depth + 1, env);
  if (rule.binding) checkBinding(walk, rule, value);
  if (rule.invariants.length) checkInvariants(walk, rule.invariants, value, env);
}

/** An element's JSON property: arrays and cardinality, then each value. */
function checkProperty(
  walk: Walk,
  rule: ElementRule,
  owner: Json,
  value: unknown,
  depth: number,
  env: InvariantEnv,
) {
  if (rule.max === 0) {
    report(
      walk,
      'structure',
      `${location(walk)} is not allowed here (${rule.definition} has cardinality 0..0)`,
    );
    return;
  }
  if (!rule.array) {
    if (Array.isArray(value)) {
      report(
        walk,
        'structure',
        `${location(walk)} must be a single value, not an array: ${rule.definition} allows at most one (max 1)`,
      );
      return;
    }
    checkValue(walk, rule, value, depth, env);
    return;
  }
  if (!Array.isArray(value)) {
    report(
      walk,
      'structure',
      `${location(walk)} must be a JSON array: ${rule.definition} repeats (max ${rule.max})`,
    );
    return;
  }
  if (value.length === 0) {
    report(
      walk,
      'structure',
      `${location(walk)} is an empty array; FHIR JSON leaves absent elements out instead`,
    );
    return;
  }
  if (value.length > rule.max) {
    report(
      walk,
      'structure',
      `${location(walk)} has ${value.length} values but ${rule.definition} allows at most ${rule.max}`,
    );
  }
  // A null in a primitive array is only a placeholder for an item that has just an extension.
  const extensions = rule.kind === 'primitive' ? owner[`_${rule.name}`] : undefined;
  for (let i = 0; i < value.length; i++) {
    walk.segments.push(i);
    const item = value[i];
    if (item !== null || !Array.isArray(extensions) || !isObject(extensions[i]))
      checkValue(walk, rule, item, depth, env);
    walk.segments.pop();
  }
}

/** `_birthDate`: the id and extensions of a primitive, beside (or instead of) its value. */
function checkPrimitiveExtension(
  walk: Walk,
  rule: ElementRule,
  owner: Json,
  value: unknown,
  depth: number,
  env: InvariantEnv,
) {
  const element = complexTypeModel('Element')!;
  if (!rule.array) {
    if (isObject(value)) checkObject(walk, element, value, depth + 1, env);
    else
      report(
        walk,
        'structure',
        `_${rule.name} at ${location(walk)} must be a JSON object (id, extension), but is ${describe(value)}`,
      );
    return;
  }
  const values = owner[rule.name];
  if (!Array.isArray(value) || (Array.isArray(values) && values.length !== value.length)) {
    report(
      walk,
      'structure',
      `_${rule.name} must be an array as long as ${rule.name}, holding the id and extensions of each value (or null)`,
    );
    return;
  }
  for (let i = 0; i < value.length; i++) {
    walk.segments.push(i);
    const item = value[i];
    if (isObject(item)) checkObject(walk, element, item, depth + 1, env);
    else if (item !== null) {
      report(
        walk,
        'structure',
        `_${rule.name} at ${location(walk)} must be an object or null, but is ${describe(item)}`,
      );
    } else if (!Array.isArray(values) || values[i] === null) {
      report(walk, 'structure', `${location(walk)} has neither a value nor an extension`);
    }
    walk.segments.pop();
  }
}

function reportUnknown(walk: Walk, model: ComplexModel, key: string) {
  const choice = model.choices.find((c) => key.startsWith(c.base) && /^[A-Z]/.test(key.slice(c.base.length)));
  const at = location(walk, key);
  if (choice) {
    report(
      walk,
      'structure',
      `${at} is not a valid type for ${choice.definition}; expected one of ${choice.names.join(', ')}`,
      at,
    );
  } else if (key === 'resourceType') {
    report(walk, 'structure', `${at}: only a resource has a resourceType, and ${model.path} is not one`, at);
  } else {
    const what = model.path.includes('.') ? `the element ${model.path}` : model.path;
    report(walk, 'structure', `Unknown element '${key}' at ${at}: ${what} has no element of that name`, at);
  }
}

function checkObject(walk: Walk, model: ComplexModel, node: Json, depth: number, env: InvariantEnv) {
  if (depth > MAX_DEPTH) {
    if (!walk.tooDeep)
      report(walk, 'structure', `${location(walk)} is nested more than ${MAX_DEPTH} levels deep`);
    walk.tooDeep = true;
    return;
  }
  let empty = true;
  let choicesSeen: ElementRule['choice'][] | undefined;
  // for-in rather than Object.keys: no array per object, and FHIR JSON objects are plain.
  for (const key in node) {
    const value = node[key];
    if (value === undefined) continue; // not JSON, but JavaScript callers leave such keys
    empty = false;
    if (key === 'resourceType' && model.isResource) continue;
    let rule = model.elements.get(key);
    const isExtension = !rule && key.charCodeAt(0) === 95; // '_'
    if (isExtension) {
      rule = model.elements.get(key.slice(1));
      if (rule && rule.kind !== 'primitive') rule = undefined;
    }
    if (!rule) {
      reportUnknown(walk, model, key);
      continue;
    }
    if (rule.choice && !(isExtension && node[rule.name] !== undefined)) {
      if (choicesSeen?.includes(rule.choice)) {
        const present = rule.choice.names.filter((n) => node[n] !== undefined || node[`_${n}`] !== undefined);
        report(
          walk,
          'structure',
          `${location(walk)} has ${present.join(' and ')}, but ${rule.choice.definition} takes one type only`,
        );
      } else (choicesSeen ??= []).push(rule.choice);
    }
    walk.segments.push(rule.name);
    if (isExtension) checkPrimitiveExtension(walk, rule, node, value, depth, env);
    else checkProperty(walk, rule, node, value, depth, env);
    walk.segments.pop();
  }
  if (empty) {
    report(
      walk,
      'invariant',
      `${location(walk)} is empty; ele-1: all FHIR elements must have a @value or children`,
    );
    return;
  }
  for (const required of model.required) {
    let present = false;
    for (const property of required.properties) {
      if (node[property] !== undefined) {
        present = true;
        break;
      }
    }
    if (!present) {
      const at = location(walk, required.definition.slice(required.definition.lastIndexOf('.') + 1));
      report(
        walk,
        'required',
        `${at} is missing; ${required.definition} is required (min ${required.min})`,
        at,
      );
    }
  }
  if (model.invariants.length) checkInvariants(walk, model.invariants, node, env);
}

/**
 * A resource, at the top or inside another one. Contained resources share their container's
 * `%rootResource`; resources in Bundle entries and Parameters are roots of their own.
 */
function checkResource(
  walk: Walk,
  value: unknown,
  depth: number,
  container: InvariantEnv | undefined,
  expected?: string,
) {
  const at = location(walk);
  if (!isObject(value)) {
    report(
      walk,
      'structure',
      `${at ? `${at} must be` : 'A FHIR resource must be'} a JSON object, but is ${describe(value)}`,
    );
    return;
  }
  const type = value.resourceType;
  if (type === undefined) {
    report(
      walk,
      'required',
      `${at ? `${at} has` : 'The resource has'} no resourceType`,
      at ? `${at}.resourceType` : 'resourceType',
    );
    return;
  }
  if (typeof type !== 'string' || !isConcreteResourceType(type)) {
    const where = at ? `${at}.resourceType` : 'resourceType';
    report(
      walk,
      'invalid',
      `${JSON.stringify(type)} at ${where} is not a known FHIR R4 resource type`,
      where,
    );
    return;
  }
  if (expected && type !== expected) {
    report(walk, 'structure', `${at} must be a ${expected}, but is a ${type}`);
    return;
  }
  const env: InvariantEnv = { resource: value, rootResource: container?.rootResource ?? value };
  if (!at) walk.segments.push(type);
  checkObject(walk, resourceModel(type)!, value, depth, env);
  if (!at) walk.segments.pop();
}

/** Every issue found in `resource`, in document order; an empty array when it is valid. */
export function validate(resource: unknown): Issue[] {
  const walk: Walk = { issues: [], segments: [], tooDeep: false };
  checkResource(walk, resource, 0, undefined);
  return walk.issues;
}
