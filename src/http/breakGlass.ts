/**
 * `POST /fhir/Patient/{id}/$break-the-glass`: a person opens a restricted chart in an emergency, with
 * a reason (a FHIR Parameters body with `reason` as valueString, or a form field `reason`). The chart
 * opens to them for an hour; the grant, its audit entry and an alert for the security officer are
 * written together (access/restrictedCharts.ts).
 */
import { AccessError } from '../access/index.ts';
import { breakTheGlass } from '../access/restrictedCharts.ts';
import { FhirError } from '../fhir/outcome.ts';
import type { StoreOperations } from '../store/index.ts';
import type { FhirContext, FhirRequest, FhirResponse } from './fhirExchange.ts';

export async function breakGlassOperation(
  ops: StoreOperations,
  ctx: FhirContext,
  id: string,
  req: FhirRequest,
): Promise<FhirResponse> {
  const guard = ctx.access;
  if (!guard) throw new FhirError(403, 'Breaking the glass needs a signed-in person.', 'forbidden');
  guard.require('read', 'Patient');
  const patient = await ops.read('Patient', id);
  let until: Date;
  try {
    ({ until } = await breakTheGlass(ops, {
      principal: guard.principal,
      patient,
      reason: reasonOf(req),
      address: ctx.agent?.address,
      now: guard.now,
    }));
  } catch (error) {
    if (error instanceof AccessError)
      throw new FhirError(
        guard.principal.kind === 'user' ? 400 : 403,
        error.message,
        guard.principal.kind === 'user' ? 'invalid' : 'forbidden',
      );
    throw error;
  }
  // Identifiers only in the server's output: the security officer reads the reason in the report.
  console.log(
    `ALERT: ${guard.principal.id} (${guard.principal.role}) broke the glass to open a restricted chart; review it with: chartvault report alerts`,
  );
  return {
    status: 200,
    audited: true,
    resource: {
      resourceType: 'Parameters',
      parameter: [
        { name: 'patient', valueReference: { reference: `Patient/${id}` } },
        { name: 'until', valueInstant: until.toISOString() },
      ],
    } as never,
  };
}

function reasonOf(req: FhirRequest): string {
  const body = req.body as {
    resourceType?: unknown;
    parameter?: { name?: unknown; valueString?: unknown }[];
  };
  if (body?.resourceType === 'Parameters') {
    const reason = body.parameter?.find((p) => p.name === 'reason')?.valueString;
    if (typeof reason === 'string') return reason;
  }
  const fromForm = req.query.find(([name]) => name === 'reason')?.[1];
  if (fromForm !== undefined) return fromForm;
  throw new FhirError(
    400,
    'Say why you need this chart: send a Parameters resource with a "reason" (valueString), or a form field "reason".',
    'required',
  );
}
