import { Label, dominates, meet } from '../labels';
import type { RedactionRule } from '../topology/topology';
import { redact } from './redaction';

/** Content prepared for release below its label: the text a receiver may get, and the label it is released at. */
export interface Release {
  readonly text: string;
  /** The content's label lowered to what the receiver is cleared for (the meet of the two). */
  readonly label: Label;
}

/** True when sending content at `content` to a receiver cleared for `receiver` would write down (DESIGN §2). */
export function needsDeclassification(receiver: Label, content: Label): boolean {
  return !dominates(receiver, content);
}

/**
 * Declassification (DESIGN §6): the topology's redaction rules applied to `text`, released at the meet of its
 * label and the receiver's clearance. This only prepares the release; it goes out only under a declassification
 * directive the signer signs, bound to the digest of exactly what is released, and the receiver checks that digest.
 *
 * @example
 * const release = declassify(task, label('TOP_SECRET', ['MEDICAL']), analyst.clearance, topology.redaction);
 */
export function declassify(text: string, content: Label, receiver: Label, rules: readonly RedactionRule[]): Release {
  return { text: redact(text, rules).text, label: meet(content, receiver) };
}
