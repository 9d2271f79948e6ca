/**
 * Element types of R4, read from the compact model that the `fhirpath` package ships (paths to types,
 * choice elements, type hierarchy). The fast path and the fhirpath fallback both type their values
 * from this one model, so their results can be compared value for value.
 */
import r4 from 'fhirpath/fhir-context/r4';

/** One JSON property that a FHIRPath member name reaches. */
export interface ChildElement {
  /** The JSON property: `valueQuantity` for the member `value` of `Observation`. */
  property: string;
  /** Its FHIR type: `Quantity`, `string`, `BackboneElement`... */
  type: string;
  /** The model path its own children are looked up under: a type name, or the element path of a backbone element. */
  path: string;
}

/**
 * What `name` reaches below an element whose model path is `parentPath`: one property, or one per
 * type of a choice element (`Observation.value` reaches `valueQuantity`, `valueString`...).
 * Undefined when the model does not know the element. Mirrors fhirpath's own navigation
 * (utilities.js makeChildResNodes) so that both engines see the same types.
 */
export function childElements(parentPath: string, name: string): ChildElement[] | undefined {
  let path = `${parentPath}.${name}`;
  path = r4.pathsDefinedElsewhere[path] ?? path;
  const choices = r4.choiceTypePaths[path];
  const variants = choices ? choices.map((suffix) => [name + suffix, path + suffix]) : [[name, path]];
  const children: ChildElement[] = [];
  for (const [property, variantPath] of variants) {
    const type = r4.path2Type[variantPath];
    if (type === undefined) return undefined;
    children.push({
      property,
      type: normalizeTypeName(type),
      path: r4.path2TypeWithoutElements[variantPath] ?? variantPath,
    });
  }
  return children;
}

/** Whether the element at this model path repeats (is a JSON array). */
export function isRepeating(path: string): boolean {
  return r4.path2Repeating[path] === true;
}

const systemToFhir: Record<string, string> = {
  'System.String': 'string',
  'System.Boolean': 'boolean',
  'System.Integer': 'integer',
  'System.Decimal': 'decimal',
  'System.Date': 'date',
  'System.DateTime': 'dateTime',
  'System.Time': 'time',
  'System.Quantity': 'Quantity',
};

/** `FHIR.HumanName` → `HumanName`, `System.String` → `string`: one spelling for both engines. */
export function normalizeTypeName(name: string): string {
  if (name.startsWith('FHIR.')) return name.slice(5);
  return systemToFhir[name] ?? name;
}

// FHIRPath lets a FHIR primitive match the System type it converts to, so `value.as(DateTime)` keeps
// a `valueDateTime`; same table as fhirpath's types.js (fhir2SystemAutomaticConversion).
const fhirToSystem: Record<string, string> = {
  boolean: 'Boolean',
  string: 'String',
  uri: 'String',
  code: 'String',
  oid: 'String',
  id: 'String',
  uuid: 'String',
  markdown: 'String',
  base64Binary: 'String',
  integer: 'Integer',
  unsignedInt: 'Integer',
  positiveInt: 'Integer',
  decimal: 'Decimal',
  date: 'DateTime',
  dateTime: 'DateTime',
  instant: 'DateTime',
  time: 'Time',
  Quantity: 'Quantity',
};

/** Whether `type` is `ancestor` or derives from it (`Age` is a `Quantity`, `Patient` a `DomainResource`). */
export function isSubtypeOf(type: string, ancestor: string): boolean {
  for (let t: string | undefined = type; t !== undefined; t = r4.type2Parent[t]) {
    if (t === ancestor) return true;
  }
  return false;
}

/**
 * Whether a value of `type` passes `ofType(specifier)`: the type or a subtype, or a primitive that
 * converts to the named System type. Specifiers may be qualified (`FHIR.Quantity`, `System.String`).
 */
export function matchesTypeSpecifier(type: string, specifier: string): boolean {
  const dot = specifier.indexOf('.');
  const namespace = dot < 0 ? undefined : specifier.slice(0, dot);
  const name = dot < 0 ? specifier : specifier.slice(dot + 1);
  if (namespace !== 'FHIR' && fhirToSystem[type] === name) return true;
  return namespace !== 'System' && isSubtypeOf(type, name);
}

/** Every concrete R4 resource type (146), from the model's type hierarchy. */
export const resourceTypeNames: readonly string[] = Object.keys(r4.type2Parent)
  .filter((t) => t !== 'DomainResource' && t !== 'Resource' && isSubtypeOf(t, 'Resource'))
  .sort();

const resourceTypeSet = new Set(resourceTypeNames);

/** Whether `name` is a concrete R4 resource type such as `Patient`. */
export function isResourceType(name: string): boolean {
  return resourceTypeSet.has(name);
}
