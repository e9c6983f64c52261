import * as z from 'zod';

/*
 * How the hospital's tools name patients and their records. The records themselves live sealed in the records table
 * (DESIGN §3: classified data at rest), never in a function bundle: only their ids are known here.
 */

export const patientIdSchema = z.string().regex(/^P-\d{4}$/, 'must be a patient id like P-1001').describe('Patient id, e.g. P-1001');

/** A patient's chart: SECRET/MEDICAL in the hospital's records. */
export function chartRecordId(patientId: string): string {
  return `chart/${patientId}`;
}

/** A patient's registration (that the hospital knows the patient): CONFIDENTIAL, what the front desk may see. */
export function registrationRecordId(patientId: string): string {
  return `registration/${patientId}`;
}
