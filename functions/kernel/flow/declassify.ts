import { sha256Hex } from '../canonical';
import { keyedDigest } from '../keyed-digest';
import { Label, dominates, meet } from '../labels';
import type { Topology } from '../topology/topology';
import { redact } from './redaction';
import { ReleaseProposal, buildRelease } from './release-rules';

/**
 * How a release was made (DESIGN §6): `rule` — built only from a release rule's typed fields and template;
 * `free-text` — the task itself, after redaction, which only a human's approval lets down.
 */
export type ReleasePath = 'rule' | 'free-text';

/** Content prepared for release below its label: the text a receiver may get, and the label it is released at. */
export type Release = {
  readonly text: string;
  /** The content's label lowered to what the receiver is cleared for (the meet of the two). */
  readonly label: Label;
} & (
  | { readonly path: 'rule'; readonly rule: string; readonly fields: Readonly<Record<string, string>> }
  | { readonly path: 'free-text' }
);

/** True when sending content at `content` to a receiver cleared for `receiver` would write down (DESIGN §2). */
export function needsDeclassification(receiver: Label, content: Label): boolean {
  return !dominates(receiver, content);
}

/**
 * Declassification (DESIGN §6), released at the meet of the content's label and the receiver's clearance. With a
 * proposal, the text is built by the release rule from the proposal's fields only, and a proposal that does not
 * fit the rule throws (nothing is released); without one, it is the task after redaction, marked `free-text` so
 * the signer asks a human whatever the command pre-authorized. This only prepares the release: it goes out only
 * under a directive bound to the digest of exactly what is released, and the receiver checks that digest.
 *
 * @example
 * const release = declassify(task, { rule: 'car-park-level', fields: { level: '2' } }, label('SECRET', ['MEDICAL']), edge, topology);
 * // release.text === 'lookup_public_info: car parking on level 2 of the hospital car park', release.path === 'rule'
 */
export function declassify(
  task: string,
  proposal: ReleaseProposal | undefined,
  content: Label,
  receiver: { readonly name: string; readonly clearance: Label },
  topology: Topology,
): Release {
  const lowered = meet(content, receiver.clearance);
  if (proposal) {
    const built = buildRelease(topology, proposal, receiver.name, content, lowered);
    return { path: 'rule', rule: built.rule, fields: built.fields, text: built.text, label: lowered };
  }
  // Redaction is only an extra pass over free text: a human reads what goes down (DESIGN §6).
  return { path: 'free-text', text: redact(task, topology.redaction).text, label: lowered };
}

/** The plaintext of a released task, as core sends it and the signer rebuilds it: `{subtaskId, task}`, in that order. */
export function releasedTask(subtaskId: string, text: string): { subtaskId: string; task: string } {
  return { subtaskId, task: text };
}

/**
 * The content digest a declassification binds for a released task: HMAC-SHA256 under the content's salt when it
 * has one (DESIGN §6: keyed digests), else SHA-256 — of the same bytes the message seals.
 */
export function releasedContentDigest(body: { subtaskId: string; task: string }, salt?: string): string {
  const bytes = JSON.stringify(body);
  return salt ? keyedDigest(salt, bytes) : sha256Hex(bytes);
}
