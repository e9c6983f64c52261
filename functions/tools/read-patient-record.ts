import * as z from 'zod';
import { SecurityError } from '../kernel/errors';
import { chartRecordId, patientIdSchema } from './patients';
import { defineTool, recordsOf } from '../kernel/tools/tool';

export const ReadPatientRecordArgs = z.strictObject({ patientId: patientIdSchema });

/**
 * A patient's chart as the records table holds it (sealed, DESIGN §3). It carries exactly what the redaction rules
 * must keep from leaving (DESIGN §6): names, addresses and passcodes, written in the forms those rules recognize.
 */
export const PatientChart = z.object({
  patientId: patientIdSchema,
  name: z.string(),
  dateOfBirth: z.string(),
  address: z.string(),
  passcode: z.string(),
  diagnosis: z.string(),
  medications: z.array(z.string()),
  allergies: z.array(z.string()),
  attendingPhysician: z.string(),
});
export type PatientChart = z.infer<typeof PatientChart>;

/** The chart as the tool prints it. */
export function formatPatientChart(r: PatientChart): string {
  return [
    `Patient record ${r.patientId}`,
    `Patient name: ${r.name}`,
    `Date of birth: ${r.dateOfBirth}`,
    `Address: ${r.address}`,
    `Portal passcode: ${r.passcode}`,
    `Diagnosis: ${r.diagnosis}`,
    `Medications: ${r.medications.join('; ') || 'none'}`,
    `Allergies: ${r.allergies.join('; ') || 'none known'}`,
    `Attending physician: ${r.attendingPhysician}`,
  ].join('\n');
}

/** Returns a patient's chart, read from the records table through the kernel; the topology labels the result (SECRET/MEDICAL). */
export const readPatientRecord = defineTool({
  name: 'read_patient_record',
  argsName: 'ReadPatientRecordArgs',
  args: ReadPatientRecordArgs,
  reads: ['records'],
  async execute({ patientId }, ctx) {
    const record = await recordsOf(ctx).read(chartRecordId(patientId));
    if (!record) return { content: `No record for patient ${patientId}.` };
    const chart = PatientChart.safeParse(record.body);
    if (!chart.success || chart.data.patientId !== patientId) throw new SecurityError('SCHEMA', `record ${record.recordId} is not ${patientId}'s chart`);
    return { content: formatPatientChart(chart.data) };
  },
});
