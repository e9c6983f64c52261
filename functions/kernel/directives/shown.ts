import { randomUUID } from 'node:crypto';
import * as z from 'zod';
import { DirectiveRequest } from './request';
import { releasedContentDigest, releasedTask } from '../flow/declassify';
import { buildRelease } from '../flow/release-rules';
import { Label, formatLabel } from '../labels';
import type { EnvelopeCipher } from '../messages/envelope-cipher';
import { uuidSchema } from '../schemas';
import { Topology } from '../topology/topology';

/**
 * What an approver is shown (DESIGN §5: informed approval): the tool and its arguments, or the exact text to be
 * released and the label change, never a digest alone. The signer, which reads the request, seals it for the API at
 * the request's label, so the API can open it only for an approver whose clearance dominates that label.
 */
export const shownSchema = z.discriminatedUnion('kind', [
  z.strictObject({ kind: z.literal('tool'), tool: z.string(), args: z.json() }),
  z.strictObject({
    kind: z.literal('declassify'),
    from: z.string(),
    to: z.string(),
    /** The release rule that built the text, or null for free text. */
    rule: z.string().nullable(),
    /** The exact text the receiver gets, or null when the requester did not send it (approvers then see a digest only). */
    text: z.string().nullable(),
  }),
]);
export type Shown = z.output<typeof shownSchema>;

/** As the approvals table keeps it: sealed from the signer to the API. */
export const sealedShownSchema = z.strictObject({ id: uuidSchema, ciphertext: z.string().min(1) });
export type SealedShown = z.output<typeof sealedShownSchema>;

const FROM = 'signer';
const TO = 'api';

/**
 * What to show for a request, from the request as it arrived. The text of a free-text release is shown only when its
 * keyed digest is the request's `contentDigest` (otherwise it is not what would be released).
 */
export function shownOf(topology: Topology, req: DirectiveRequest): Shown {
  if (req.kind === 'tool') return { kind: 'tool', tool: req.tool, args: req.args };
  const common = { kind: 'declassify' as const, from: formatLabel(req.label), to: formatLabel(req.declassifyTo) };
  const claim = req.release;
  if (claim.path === 'rule') {
    const { text } = buildRelease(topology, { rule: claim.rule, fields: claim.fields }, req.target, req.label, req.declassifyTo);
    return { ...common, rule: claim.rule, text };
  }
  const { text, subtaskId, salt } = claim;
  const matches = text !== undefined && subtaskId !== undefined && salt !== undefined && releasedContentDigest(releasedTask(subtaskId, text), salt) === req.contentDigest;
  return { ...common, rule: null, text: matches ? text : null };
}

export async function sealShown(cipher: EnvelopeCipher, commandId: string, label: Label, shown: Shown): Promise<SealedShown> {
  const id = randomUUID();
  return { id, ciphertext: await cipher.seal({ from: FROM, to: TO, label, messageId: id, commandId, plaintext: JSON.stringify(shown) }) };
}

/** Opens what the signer sealed for the approvers; the API calls it only for an approver cleared for `label`. */
export async function openShown(cipher: EnvelopeCipher, commandId: string, label: Label, sealed: SealedShown): Promise<Shown> {
  const plaintext = await cipher.open({ from: FROM, to: TO, label, messageId: sealed.id, commandId, ciphertext: sealed.ciphertext });
  return shownSchema.parse(JSON.parse(plaintext.toString('utf8')));
}
