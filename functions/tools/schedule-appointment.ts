import * as z from 'zod';
import { sha256Hex } from '../kernel/canonical';
import { patientIdSchema, registrationRecordId } from './patients';
import { defineTool, recordsOf } from '../kernel/tools/tool';

export const DEPARTMENTS = ['Cardiology', 'Oncology', 'Nephrology', 'Endocrinology', 'Psychiatry', 'Radiology', 'General Medicine'] as const;

export const ScheduleAppointmentArgs = z.strictObject({
  patientId: patientIdSchema,
  when: z.iso.datetime({ offset: true }).describe('Start time, ISO 8601, e.g. 2030-01-01T09:00:00Z'),
  department: z.enum(DEPARTMENTS),
});

/**
 * Books an appointment for a registered patient: the booking is the effect the runtime writes to the outbox. It reads
 * the patient's registration (CONFIDENTIAL), never the chart, which its owner is not cleared for.
 */
export const scheduleAppointment = defineTool({
  name: 'schedule_appointment',
  argsName: 'ScheduleAppointmentArgs',
  args: ScheduleAppointmentArgs,
  reads: ['records'],
  async execute({ patientId, when, department }, ctx) {
    if (!(await recordsOf(ctx).read(registrationRecordId(patientId)))) return { content: `No patient ${patientId}; nothing was booked.` };
    // Derived from the effect id, so every delivery of the same call reports the same booking.
    const confirmation = `APT-${sha256Hex(ctx.effectId).slice(0, 8).toUpperCase()}`;
    return {
      content: `Appointment ${confirmation} booked for ${patientId} in ${department} at ${when}.`,
      effect: { kind: 'appointment', confirmation, patientId, department, when },
    };
  },
});
