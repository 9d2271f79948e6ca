/**
 * Compiles the simple FHIRPath forms that nearly all R4 search expressions use into plain JSON walks:
 * dotted paths (with choice elements: `Observation.value` reads `valueQuantity`, `valueString`...),
 * unions, `as T` / `as(T)` / `ofType(T)`, `where(resolve() is T)` and `where(field = 'literal')`.
 * fhirpath interprets every step of every expression with type bookkeeping; these walks type each
 * path once, at compile time, and then only read properties. Anything else compiles to undefined
 * and is left to the fhirpath fallback.
 *
 * The expression is parsed by fhirpath itself, so the fast path only decides which of its syntax
 * trees it understands and never parses FHIRPath on its own.
 */
import fhirpath from 'fhirpath';
import type { Evaluator } from './evaluator.ts';
import { childElements, isRepeating, isResourceType, matchesTypeSpecifier } from './fhirModel.ts';
import { referenceTargetType } from './referenceTarget.ts';
import type { Resource } from './types.ts';

/** A node of fhirpath's syntax tree (`fhirpath.parse`). */
interface AstNode {
  type: string;
  text?: string;
  children?: AstNode[];
}

type Getter = (root: Resource) => unknown[];

/**
 * Values of one static type that a (sub)expression selects. A choice element splits a path into
 * one branch per type, so every branch knows its type without looking at the data.
 */
interface Branch {
  type: string;
  /** Model path under which this branch's children are looked up. */
  path: string;
  get: Getter;
}

/** Where an expression starts: a resource type, or (for a composite's components) an element's type and model path. */
interface Root {
  type: string;
  path: string;
}

/** A JSON walk equivalent to `expression` on resources of `resourceType`, or undefined if it needs fhirpath. */
export function compileFastPath(resourceType: string, expression: string): Evaluator | undefined {
  return compileFastPathAt({ type: resourceType, path: resourceType }, expression);
}

/**
 * The same walk for an expression relative to an element (`value.as(Quantity)` on an
 * Observation.component): `root` is the element's type and model path, and the evaluator is handed
 * the element's JSON instead of a resource.
 */
export function compileFastPathAt(root: Root, expression: string): Evaluator | undefined {
  const branches = compileBranches(root, expression);
  if (!branches) return undefined;
  return (resource, visit) => {
    for (const branch of branches) {
      for (const value of branch.get(resource)) visit(branch.type, value);
    }
  };
}

/** The FHIR types of the values the compiled walk can yield (one per choice branch), for inspection. */
export function fastPathValueTypes(resourceType: string, expression: string): string[] | undefined {
  return compileBranches({ type: resourceType, path: resourceType }, expression)?.map(
    (branch) => branch.type,
  );
}

/**
 * The elements `expression` selects, each union part and choice type as one branch with its type and
 * model path (what a composite's components are then compiled against).
 */
export function compileFastPathElements(
  resourceType: string,
  expression: string,
): { type: string; path: string; get: (resource: Resource) => unknown[] }[] | undefined {
  return compileBranches({ type: resourceType, path: resourceType }, expression);
}

function compileBranches(root: Root, expression: string): Branch[] | undefined {
  let ast: AstNode;
  try {
    ast = fhirpath.parse(expression) as AstNode;
  } catch {
    return undefined;
  }
  return compile(ast, root);
}

function compile(node: AstNode, root: Root): Branch[] | undefined {
  const children = node.children ?? [];
  switch (node.type) {
    case 'EntireExpression':
    case 'TermExpression':
    case 'ParenthesizedTerm':
      return children.length === 1 ? compile(children[0], root) : undefined;
    case 'UnionExpression': {
      const left = compile(children[0], root);
      const right = left && compile(children[1], root);
      return right && [...left, ...right];
    }
    case 'InvocationTerm':
      return compileRoot(children[0], root);
    case 'InvocationExpression': {
      const focus = compile(children[0], root);
      return focus && invoke(focus, children[1]);
    }
    case 'TypeExpression': {
      const focus = compile(children[0], root);
      return node.text === 'as' && focus ? ofType(focus, children[1].text) : undefined;
    }
    default:
      return undefined;
  }
}

/**
 * The start of a path: the leading `Patient` of `Patient.name` (or `Resource` of `Resource.id`) is
 * the resource itself, and a leading element name (`name | alias`) is read from the resource.
 */
function compileRoot(node: AstNode, start: Root): Branch[] | undefined {
  const name = node.text;
  if (node.type !== 'MemberInvocation' || !name) return undefined;
  const root: Branch[] = [{ type: start.type, path: start.path, get: (resource) => [resource] }];
  if (isResourceType(start.type) && (name === start.type || name === 'Resource' || name === 'DomainResource'))
    return root;
  return name[0] === name[0].toLowerCase() ? member(root, name) : undefined;
}

function invoke(focus: Branch[], node: AstNode): Branch[] | undefined {
  if (node.type === 'MemberInvocation') return member(focus, node.text);
  if (node.type !== 'FunctionInvocation') return undefined;
  const [name, params] = node.children?.[0]?.children ?? [];
  const args = params?.children ?? [];
  if (args.length !== 1) return undefined;
  switch (name?.text) {
    case 'as':
    case 'ofType':
      return ofType(focus, args[0].text);
    case 'where':
      return where(focus, args[0]);
    default:
      return undefined;
  }
}

function member(focus: Branch[], name: string | undefined): Branch[] | undefined {
  if (!name || name.startsWith('`')) return undefined;
  const result: Branch[] = [];
  for (const branch of focus) {
    const elements = childElements(branch.path, name);
    if (!elements) return undefined;
    for (const element of elements) {
      // A `Resource` element (contained, Bundle.entry.resource) has its type in the data, not the model.
      if (element.type === 'Resource') return undefined;
      result.push({ type: element.type, path: element.path, get: property(branch.get, element.property) });
    }
  }
  return result;
}

function property(parent: Getter, name: string): Getter {
  return (root) => {
    const out: unknown[] = [];
    for (const item of parent(root)) {
      if (item === null || typeof item !== 'object') continue;
      const value = (item as Record<string, unknown>)[name];
      if (Array.isArray(value)) {
        for (const v of value) if (v !== null && v !== undefined) out.push(v);
      } else if (value !== null && value !== undefined) {
        out.push(value);
      }
    }
    return out;
  };
}

// `as` keeps the same values as `ofType` here: fhirpath's `as` throws on more than one value, which
// `(Observation.component.value as Quantity)` meets on every blood pressure, while the search
// expressions mean "the values of that type" (as R5's definitions, written with ofType, say).
function ofType(focus: Branch[], specifier: string | undefined): Branch[] | undefined {
  if (!specifier || specifier.includes('`')) return undefined;
  return focus.filter((branch) => matchesTypeSpecifier(branch.type, specifier));
}

type Predicate = (value: unknown, root: Resource) => boolean;

function where(focus: Branch[], condition: AstNode): Branch[] | undefined {
  const result: Branch[] = [];
  for (const branch of focus) {
    const keep = predicate(branch, condition);
    if (!keep) return undefined;
    const parent = branch.get;
    result.push({ ...branch, get: (root) => parent(root).filter((value) => keep(value, root)) });
  }
  return result;
}

/** `resolve() is Patient` on a Reference, or `system = 'phone'` on a single primitive field. */
function predicate(branch: Branch, condition: AstNode): Predicate | undefined {
  const [left, right] = condition.children ?? [];
  if (condition.type === 'TypeExpression' && condition.text === 'is') {
    if (branch.type !== 'Reference' || !isResolveCall(left) || !right?.text) return undefined;
    const targetType = right.text;
    return (value, root) => referenceTargetType(value, root) === targetType;
  }
  if (condition.type === 'EqualityExpression' && condition.text === '=') {
    const field = memberName(left);
    const literal = stringLiteral(right);
    if (field === undefined || literal === undefined) return undefined;
    const elements = childElements(branch.path, field);
    if (elements?.length !== 1 || !isPrimitiveType(elements[0].type)) return undefined;
    if (isRepeating(`${branch.path}.${field}`)) return undefined;
    return (value) => (value as Record<string, unknown>)[field] === literal;
  }
  return undefined;
}

function isResolveCall(node: AstNode | undefined): boolean {
  const call = node?.children?.[0]?.children?.[0];
  return call?.type === 'FunctionInvocation' && call.text === 'resolve';
}

function memberName(node: AstNode | undefined): string | undefined {
  const invocation = node?.children?.[0]?.children?.[0];
  return invocation?.type === 'MemberInvocation' ? invocation.text : undefined;
}

function stringLiteral(node: AstNode | undefined): string | undefined {
  const literal = node?.children?.[0]?.children?.[0];
  const text = literal?.type === 'StringLiteral' ? literal.text : undefined;
  // Escapes are rare enough in search expressions to leave them to fhirpath.
  return text && !text.includes('\\') ? text.slice(1, -1) : undefined;
}

function isPrimitiveType(type: string): boolean {
  return type[0] === type[0].toLowerCase();
}
