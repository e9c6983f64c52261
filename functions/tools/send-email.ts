import * as z from 'zod';
import { sha256Hex } from '../kernel/canonical';
import { defineTool } from '../kernel/tools/tool';

export const SendEmailArgs = z.strictObject({
  to: z.email().max(254),
  subject: z.string().min(1).max(200),
  body: z.string().min(1).max(20_000),
});

/** Sends an email outside the hospital: the message is the effect the runtime writes to the outbox. */
export const sendEmail = defineTool({
  name: 'send_email',
  argsName: 'SendEmailArgs',
  args: SendEmailArgs,
  execute({ to, subject, body }, { effectId }) {
    const messageId = `<${sha256Hex(effectId).slice(0, 16)}@st-aldric-hospital.example>`;
    return {
      content: `Email ${messageId} sent to ${to}.`,
      effect: { kind: 'email', messageId, to, subject, body },
    };
  },
});
