/**
 * Access control on the FHIR API: the one place where a request's principal meets the permission
 * matrix (access/permissions.ts `decide`) and, for apps holding `patient/` scopes, the patient
 * compartment. The router asks it before each interaction and filters what leaves through it
 * (included resources, history entries, $everything), so that no path (ids, includes, chains, `_has`,
 * history, paging links) reaches a type the principal may not use or another patient's records.
 * Refusals are 403 OperationOutcomes naming the rule, never the data; the router audits them.
 */
import {
  compartmentCriterion,
  compartmentPatients,
  holdsNoPatientData,
  inPatientCompartment,
} from '../access/patientCompartment.ts';
import { closedCharts } from '../access/restrictedCharts.ts';
import type { StoreOperations } from '../store/index.ts';
import { decide, type Interaction, type Principal } from '../access/index.ts';
import { resourceScopesOf } from '../access/permissions.ts';
import { FhirError } from '../fhir/outcome.ts';
import type { Criterion, SearchRequest } from '../fhir/searchRequest.ts';
import type { Resource } from '../fhir/types.ts';

export class AccessGuard {
  /**
   * The one patient this principal may reach, when its token carries `patient/` scopes; null when
   * such a token names no patient (it then reaches no patient data at all).
   */
  private readonly patient: string | null | undefined;
  /** Restricted charts this principal may not open now (restrictedCharts.ts); set by `prepare`. */
  private closed: ReadonlySet<string> = new Set();

  constructor(
    readonly principal: Principal,
    /** The request's time (epoch ms): break-the-glass grants run out by it. */
    readonly now: number = Date.now(),
  ) {
    const patientScoped =
      principal.scopes !== undefined &&
      resourceScopesOf(principal.scopes).some((scope) => scope.context === 'patient');
    this.patient = patientScoped ? (principal.patient ?? null) : undefined;
  }

  /** Looks up which restricted charts are closed to this principal, once per request. */
  async prepare(ops: StoreOperations): Promise<void> {
    this.closed = await closedCharts(ops, this.principal, this.now);
  }

  /** True when what a read returns must be parsed and checked (patient scope, closed charts). */
  get checksContent(): boolean {
    return this.patient !== undefined || this.closed.size > 0;
  }

  /** Throws 403 unless the principal may do `interaction` on `type`. */
  require(interaction: Interaction, type: string): void {
    const decision = decide(this.principal, interaction, type);
    if (!decision.allowed) throw forbidden(`Access denied: ${decision.reason}.`);
    if (this.patient !== undefined && !holdsNoPatientData(type) && compartmentOf(type) === undefined)
      throw forbidden(`Access denied: an app limited to one patient cannot use ${type}.`);
  }

  /** Whether the principal may `interaction` on `type` (no exception: for narrowing lists). */
  allows(interaction: Interaction, type: string): boolean {
    try {
      this.require(interaction, type);
      return true;
    } catch {
      return false;
    }
  }

  /**
   * The types a search across types covers: those named in `_type` must all be allowed (403
   * otherwise); without `_type`, the types the principal may search.
   */
  searchTypes(types: string[], named: boolean): string[] {
    if (named) {
      for (const type of types) this.require('search', type);
      return types;
    }
    return types.filter((type) => this.allows('search', type));
  }

  /**
   * Checks the types a search's criteria reach (chains, `_has`) and, for a patient-scoped app, adds
   * the criterion that keeps the search in its patient's compartment.
   */
  restrictSearch(request: SearchRequest): void {
    for (const criterion of request.criteria) this.checkCriterion(criterion);
    if (this.patient === undefined) return;
    const patient = this.requirePatient();
    const types = request.types.filter((type) => !holdsNoPatientData(type));
    if (types.length === 0) return;
    if (request.types.length > 1)
      throw forbidden('Access denied: an app limited to one patient searches one resource type at a time.');
    request.criteria.push(compartmentCriterion(types[0]!, patient)!);
  }

  /**
   * Whether `resource` may leave in an answer: its type readable by the principal and, for a
   * patient-scoped app, in its patient's compartment (or holding no patient data).
   */
  mayReveal(resource: Resource): boolean {
    if (!decide(this.principal, 'read', resource.resourceType).allowed) return false;
    if (this.closedChartOf(resource) !== undefined) return false;
    if (this.patient === undefined || holdsNoPatientData(resource.resourceType)) return true;
    return this.patient !== null && inPatientCompartment(resource, this.patient);
  }

  /** The restricted chart, closed to this principal, that `resource` belongs to; undefined if none. */
  closedChartOf(resource: Resource): string | undefined {
    if (this.closed.size === 0) return undefined;
    return compartmentPatients(resource).find((patient) => this.closed.has(patient));
  }

  /** Refuses a restricted chart closed to this principal, saying how to open it. */
  requireOpenChart(patientId: string): void {
    if (this.closed.has(patientId)) throw restrictedChart(patientId);
  }

  /**
   * A resource about to be read: 404 when a patient-scoped app asks for one outside its patient's
   * compartment (as if it did not exist: its existence is another patient's data).
   */
  requireRevealable(resource: Resource): void {
    const closed = this.closedChartOf(resource);
    if (closed !== undefined) throw restrictedChart(closed);
    if (!this.mayReveal(resource))
      throw new FhirError(404, `${resource.resourceType}/${resource.id} is not known.`, 'not-found');
  }

  /** A resource about to be written (the new content, and the current one it replaces or deletes). */
  requireWritable(resource: Resource): void {
    const closed = this.closedChartOf(resource);
    if (closed !== undefined) throw restrictedChart(closed);
    if (!this.mayReveal(resource))
      throw forbidden("Access denied: an app limited to one patient writes only that patient's records.");
  }

  /** What a patient-scoped app may not do at all: conditional writes, history across types. */
  refuseForPatientScope(what: string): void {
    if (this.patient !== undefined)
      throw forbidden(`Access denied: an app limited to one patient cannot use ${what}.`);
  }

  /** The $everything of `id`: a patient-scoped app may ask only for its own patient. */
  requirePatientRecord(id: string): void {
    this.require('read', 'Patient');
    this.requireOpenChart(id);
    if (this.patient !== undefined && this.requirePatient() !== id)
      throw new FhirError(404, `Patient/${id} is not known.`, 'not-found');
  }

  private requirePatient(): string {
    if (this.patient === null)
      throw forbidden('Access denied: the token has patient scopes but no patient in context.');
    return this.patient!;
  }

  private checkCriterion(criterion: Criterion): void {
    if (criterion.kind === 'chain') {
      for (const type of criterion.targetTypes) this.require('search', type);
      this.checkCriterion(criterion.criterion);
    } else if (criterion.kind === 'has') {
      this.require('search', criterion.sourceType);
      this.checkCriterion(criterion.criterion);
    }
  }
}

/** The compartment link of `type` for a placeholder patient: undefined when the type has none. */
function compartmentOf(type: string): Criterion | undefined {
  return compartmentCriterion(type, '-');
}

/** 403 for a restricted chart, naming the way in: breaking the glass, with a reason. */
function restrictedChart(patientId: string): FhirError {
  return forbidden(
    `Patient/${patientId} is a restricted chart, open to its care team only. In an emergency, break the glass: ` +
      `POST Patient/${patientId}/$break-the-glass with a reason (the access is recorded and reported to the security officer).`,
  );
}

function forbidden(message: string): FhirError {
  return new FhirError(403, message, 'forbidden');
}
