/**
 * Compiles StructureDefinition snapshots into compact element trees: per resource type, data type
 * and backbone element, a map from JSON property name to what that property may hold. Each model
 * is built once, on first use, so validating a resource never walks a snapshot.
 */
import { compileInvariant, type Invariant } from './invariants.ts';
import { primitiveType, type PrimitiveType } from './primitives.ts';
import {
  resourceDefinition,
  typeDefinition,
  type Constraint,
  type ElementDefinition,
  type ElementType,
  type StructureDefinition,
} from './structureDefinitions.ts';
import { requiredCodeSet, type CodeSet } from './valueSets.ts';

export type ElementKind = 'primitive' | 'complex' | 'resource';

/** One JSON property: an element, or one type of a choice element (`valueQuantity` of `value[x]`). */
export interface ElementRule {
  name: string;
  /** The definition's path, for diagnostics: `HumanName.given`, `Observation.value[x]`. */
  definition: string;
  min: number;
  max: number;
  /** Whether FHIR JSON writes it as an array (the base definition repeats). */
  array: boolean;
  kind: ElementKind;
  /** Its FHIR type: `string`, `Quantity`, `BackboneElement`, `Resource`. */
  typeName: string;
  primitive?: PrimitiveType;
  /** The children of a complex or backbone element. */
  model?: ComplexModel;
  /** For a resource element restricted to one type (Bundle.entry.response.outcome). */
  resourceType?: string;
  /** Codes of a required binding, when its value set can be expanded. */
  binding?: CodeSet;
  choice?: ChoiceGroup;
  /** Invariants declared on this element (not on its type), checked on each of its values. */
  invariants: Invariant[];
}

export interface ChoiceGroup {
  /** `Observation.value[x]` */
  definition: string;
  /** `value` */
  base: string;
  names: string[];
}

export interface RequiredElement {
  definition: string;
  min: number;
  /** The JSON properties any of which satisfies it: `status` and `_status`, or all types of a choice. */
  properties: string[];
}

export interface ComplexModel {
  /** `Patient`, `HumanName`, or a backbone element's path such as `Patient.contact`. */
  path: string;
  isResource: boolean;
  elements: Map<string, ElementRule>;
  required: RequiredElement[];
  choices: ChoiceGroup[];
  invariants: Invariant[];
}

const FHIR_TYPE_EXTENSION = 'http://hl7.org/fhir/StructureDefinition/structuredefinition-fhir-type';
const BEST_PRACTICE_EXTENSION = 'http://hl7.org/fhir/StructureDefinition/elementdefinition-bestpractice';
const SYSTEM_TYPE_PREFIX = 'http://hl7.org/fhirpath/System.';

const typeModels = new Map<string, ComplexModel>();
const resourceModels = new Map<string, ComplexModel>();

function newModel(path: string, isResource: boolean): ComplexModel {
  return { path, isResource, elements: new Map(), required: [], choices: [], invariants: [] };
}

const upperFirst = (s: string) => s[0].toUpperCase() + s.slice(1);
const parseMax = (max: string | undefined) => (max === undefined || max === '*' ? Infinity : Number(max));

/** Best-practice rules (dom-6: "should have narrative") are advice, not conformance. */
const isCheckedConstraint = (c: Constraint) =>
  !(c as { extension?: { url: string }[] }).extension?.some((x) => x.url === BEST_PRACTICE_EXTENSION);

/**
 * Constraints with the same expression are evaluated once and reported together: txt-1 and txt-2
 * are both `htmlChecks()`, which cannot tell which of them failed.
 */
function mergeSameExpression(constraints: Constraint[]): Constraint[] {
  const byExpression = new Map<string, Constraint>();
  for (const c of constraints) {
    const seen = byExpression.get(c.expression ?? c.key);
    if (!seen) byExpression.set(c.expression ?? c.key, { ...c });
    else {
      seen.key += `/${c.key}`;
      seen.human += ` / ${c.human}`;
      if (c.severity === 'error') seen.severity = 'error';
    }
  }
  return [...byExpression.values()];
}

/** Invariants of the element at `basePath`; `model` holds its children (none for a primitive). */
function compileInvariants(
  constraints: Constraint[] | undefined,
  basePath: string,
  model: ComplexModel | undefined,
  skip?: Set<string>,
) {
  const childProperties = (name: string) => {
    const rules = [...(model?.elements.values() ?? [])].filter(
      (r) => (r.choice ? r.choice.base : r.name) === name,
    );
    return rules.length ? rules.flatMap((r) => [r.name, `_${r.name}`]) : undefined;
  };
  const checked = (constraints ?? []).filter((c) => !skip?.has(c.key) && isCheckedConstraint(c));
  const invariants: Invariant[] = [];
  for (const constraint of mergeSameExpression(checked)) {
    const invariant = compileInvariant(constraint, basePath, childProperties);
    if (invariant) invariants.push(invariant);
  }
  return invariants;
}

/** Keys of the constraints a data type declares on itself (Extension: ele-1, ext-1). */
function typeConstraintKeys(type: string): Set<string> {
  const root = typeDefinition(type)?.snapshot.element[0];
  return new Set(root?.constraint?.map((c) => c.key));
}

/** The type a JSON value of this element type is checked as. */
function resolveType(
  type: ElementType,
  element: ElementDefinition,
  isResourceId: boolean,
  backbone: ComplexModel | undefined,
): Pick<ElementRule, 'kind' | 'typeName' | 'primitive' | 'model' | 'resourceType'> {
  let code = type.code;
  if (code.startsWith(SYSTEM_TYPE_PREFIX)) {
    code = type.extension?.find((x) => x.url === FHIR_TYPE_EXTENSION)?.valueUrl ?? 'string';
  }
  // R4's snapshots type Resource.id as a plain string; the specification says it is an id.
  if (isResourceId) code = 'id';
  const primitive = primitiveType(code);
  if (primitive) return { kind: 'primitive', typeName: code, primitive };
  if (code === 'Resource') return { kind: 'resource', typeName: code };
  if (resourceDefinition(code)) return { kind: 'resource', typeName: code, resourceType: code };
  if ((code === 'BackboneElement' || code === 'Element') && backbone) {
    return { kind: 'complex', typeName: code, model: backbone };
  }
  // A profiled type (Quantity constrained to SimpleQuantity) is checked against the profile.
  const profile = type.profile?.[0];
  const name = profile && typeDefinition(profile) ? profile : code;
  const model = complexTypeModel(name);
  if (!model) throw new Error(`No definition for type ${code} of ${element.path}`);
  return { kind: 'complex', typeName: code, model };
}

/** Fills the root model, and a model per backbone element below it, from a snapshot. */
function buildModels(sd: StructureDefinition, root: ComplexModel): void {
  const elements = sd.snapshot.element;
  const rootPath = elements[0].path;
  const byPath = new Map<string, ComplexModel>([[rootPath, root]]);
  const contentReferences: [ElementRule, string][] = [];

  elements.forEach((element, index) => {
    if (index === 0) return;
    const cut = element.path.lastIndexOf('.');
    const parent = byPath.get(element.path.slice(0, cut));
    if (!parent) return; // below a non-backbone element: only in profiles, not in base definitions
    const name = element.path.slice(cut + 1);
    const max = parseMax(element.max);
    const baseMax = element.base?.max ?? element.max;
    const hasChildren = elements[index + 1]?.path.startsWith(`${element.path}.`) ?? false;
    const backbone = hasChildren ? newModel(element.path, false) : undefined;
    if (backbone) byPath.set(element.path, backbone);
    const bindingSet =
      element.binding?.strength === 'required' && element.binding.valueSet
        ? requiredCodeSet(element.binding.valueSet)
        : undefined;
    const common = {
      definition: element.path,
      min: element.min ?? 0,
      max,
      array: baseMax !== '1' && baseMax !== '0',
      binding: bindingSet,
      invariants: [] as Invariant[],
    };

    const created: ElementRule[] = [];
    if (element.contentReference) {
      const rule: ElementRule = { ...common, name, kind: 'complex', typeName: 'BackboneElement' };
      contentReferences.push([
        rule,
        element.contentReference.slice(element.contentReference.indexOf('#') + 1),
      ]);
      created.push(rule);
    } else if (name.endsWith('[x]')) {
      const choice: ChoiceGroup = { definition: element.path, base: name.slice(0, -3), names: [] };
      for (const type of element.type ?? []) {
        const rule: ElementRule = {
          ...common,
          ...resolveType(type, element, false, undefined),
          name: choice.base + upperFirst(type.code),
          choice,
        };
        choice.names.push(rule.name);
        created.push(rule);
      }
      parent.choices.push(choice);
    } else if (element.type?.[0]) {
      const isResourceId = root.isResource && parent === root && name === 'id';
      created.push({ ...common, ...resolveType(element.type[0], element, isResourceId, backbone), name });
    }
    for (const rule of created) parent.elements.set(rule.name, rule);

    if (common.min > 0 && created.length) {
      parent.required.push({
        definition: element.path,
        min: common.min,
        properties: created.flatMap((r) => [r.name, `_${r.name}`]),
      });
    }
    // Constraints of a backbone element belong to its model. Those of other elements are checked on
    // each value, minus the ones that the element's type declares and checks itself.
    if (backbone) {
      backbone.invariants = compileInvariants(element.constraint, element.path, backbone);
    } else if (!element.contentReference) {
      for (const rule of created) {
        const basePath = rule.choice ? rule.typeName : element.path;
        rule.invariants = compileInvariants(
          element.constraint,
          basePath,
          rule.model,
          typeConstraintKeys(rule.typeName),
        );
      }
    }
  });

  for (const [rule, path] of contentReferences) {
    rule.model = byPath.get(path);
    if (!rule.model) throw new Error(`Unresolved content reference #${path} in ${sd.id}`);
  }
  root.invariants = compileInvariants(elements[0].constraint, rootPath, root);
}

/** The element tree of a data type (`HumanName`) or type profile URL, or undefined if unknown. */
export function complexTypeModel(nameOrUrl: string): ComplexModel | undefined {
  let model = typeModels.get(nameOrUrl);
  if (model) return model;
  const sd = typeDefinition(nameOrUrl);
  if (!sd || sd.kind !== 'complex-type') return undefined;
  model = newModel(sd.type, false);
  // Registered before it is filled: types refer to themselves (Extension.extension) and each other.
  typeModels.set(nameOrUrl, model);
  buildModels(sd, model);
  return model;
}

/** The element tree of a resource type, or undefined if it is not an R4 resource type. */
export function resourceModel(type: string): ComplexModel | undefined {
  let model = resourceModels.get(type);
  if (model) return model;
  const sd = resourceDefinition(type);
  if (!sd || sd.abstract) return undefined;
  model = newModel(sd.type, true);
  resourceModels.set(type, model);
  buildModels(sd, model);
  return model;
}
