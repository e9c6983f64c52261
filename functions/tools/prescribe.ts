import * as z from 'zod';
import { sha256Hex } from '../kernel/canonical';
import { chartRecordId, patientIdSchema } from './patients';
import { defineTool, recordsOf } from '../kernel/tools/tool';

export const PrescribeArgs = z.strictObject({
  patientId: patientIdSchema,
  drug: z.string().regex(/^[A-Za-z][A-Za-z0-9 -]{1,63}$/, 'must be a drug name').describe('Drug name, e.g. Metformin'),
  doseMg: z.number().positive().max(5000).describe('Dose in milligrams'),
});

/** Issues a prescription for a patient with a chart: the order is the effect the runtime writes to the outbox. */
export const prescribe = defineTool({
  name: 'prescribe',
  argsName: 'PrescribeArgs',
  args: PrescribeArgs,
  reads: ['records'],
  async execute({ patientId, drug, doseMg }, ctx) {
    if (!(await recordsOf(ctx).read(chartRecordId(patientId)))) return { content: `No patient ${patientId}; nothing was prescribed.` };
    const prescriptionId = `RX-${sha256Hex(ctx.effectId).slice(0, 8).toUpperCase()}`;
    return {
      content: `Prescription ${prescriptionId} issued for ${patientId}: ${drug} ${doseMg} mg.`,
      effect: { kind: 'prescription', prescriptionId, patientId, drug, doseMg },
    };
  },
});
