import * as z from 'zod';
import { formatPatientRecord, patientRecord } from './fixtures/patient-records';
import { defineTool } from '../kernel/tools/tool';

export const patientIdSchema = z.string().regex(/^P-\d{4}$/, 'must be a patient id like P-1001').describe('Patient id, e.g. P-1001');

export const ReadPatientRecordArgs = z.strictObject({ patientId: patientIdSchema });

/** Returns a patient's chart; the topology labels the result (SECRET/MEDICAL in the hospital topology). */
export const readPatientRecord = defineTool({
  name: 'read_patient_record',
  argsName: 'ReadPatientRecordArgs',
  args: ReadPatientRecordArgs,
  execute({ patientId }) {
    const record = patientRecord(patientId);
    return { content: record ? formatPatientRecord(record) : `No record for patient ${patientId}.` };
  },
});
