import * as z from 'zod';
import { sha256Hex } from '../kernel/canonical';
import { patientRecord } from './fixtures/patient-records';
import { patientIdSchema } from './read-patient-record';
import { defineTool } from '../kernel/tools/tool';

export const DEPARTMENTS = ['Cardiology', 'Oncology', 'Nephrology', 'Endocrinology', 'Psychiatry', 'Radiology', 'General Medicine'] as const;

export const ScheduleAppointmentArgs = z.strictObject({
  patientId: patientIdSchema,
  when: z.iso.datetime({ offset: true }).describe('Start time, ISO 8601, e.g. 2030-01-01T09:00:00Z'),
  department: z.enum(DEPARTMENTS),
});

/** Books an appointment: the booking is the effect the runtime writes to the outbox. */
export const scheduleAppointment = defineTool({
  name: 'schedule_appointment',
  argsName: 'ScheduleAppointmentArgs',
  args: ScheduleAppointmentArgs,
  execute({ patientId, when, department }, { effectId }) {
    if (!patientRecord(patientId)) return { content: `No patient ${patientId}; nothing was booked.` };
    // Derived from the effect id, so every delivery of the same call reports the same booking.
    const confirmation = `APT-${sha256Hex(effectId).slice(0, 8).toUpperCase()}`;
    return {
      content: `Appointment ${confirmation} booked for ${patientId} in ${department} at ${when}.`,
      effect: { kind: 'appointment', confirmation, patientId, department, when },
    };
  },
});
