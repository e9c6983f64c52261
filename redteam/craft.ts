import { SendMessageCommand } from '@aws-sdk/client-sqs';
import { EnvelopeCipher } from '../functions/kernel/messages/envelope-cipher';
import { Label, Level } from '../functions/kernel/labels';
import { AgentMessage, MessageKind, newMessageId } from '../functions/kernel/messages/envelope';
import { saltBody, unsaltBody } from '../functions/kernel/messages/salted-body';
import type { RedTeamCloud } from './cloud';

/**
 * Messages as a compromised agent's own code writes them (DESIGN §1, adversary 4): sealed with the kernel's cipher
 * and framed like the kernel's envelope, but with none of the sender-side checks, and any field the attacker
 * likes. The emulator does not enforce per-key IAM, so the attacker may use any level key; what a receiver
 * must still refuse is the point.
 */
export interface Forgery {
  readonly from: string;
  readonly to: string;
  readonly kind: MessageKind;
  readonly label: Label;
  readonly commandId: string;
  readonly principal: string;
  readonly plaintext: string;
  /** Attached as is: signed or not, bound or not. */
  readonly directive?: unknown;
  /** @default a fresh UUIDv7 */
  readonly id?: string;
  /** The salt sealed with the plaintext, keying the envelope's content digest. @default a fresh one */
  readonly salt?: string;
  /** The level whose key seals the body, when it is not the label's (a lying key map). @default the label's */
  readonly sealedUnder?: Level;
}

/** The envelope of `f`, as an SQS body would carry it. */
export async function forge(rt: RedTeamCloud, f: Forgery): Promise<Record<string, unknown>> {
  const keyArns = { ...rt.state.keys };
  if (f.sealedUnder) keyArns[f.label.level] = rt.state.keys[f.sealedUnder];
  const cipher = new EnvelopeCipher({ kms: rt.kms, keyArns });
  const id = f.id ?? newMessageId();
  const { sealed, contentDigest } = saltBody(f.plaintext, f.salt);
  const ciphertext = await cipher.seal({ from: f.from, to: f.to, label: f.label, messageId: id, commandId: f.commandId, plaintext: sealed });
  return {
    v: 1,
    id,
    from: f.from,
    to: f.to,
    kind: f.kind,
    label: f.label,
    commandId: f.commandId,
    principal: f.principal,
    ciphertext,
    contentDigest,
    ...(f.directive !== undefined ? { directive: f.directive } : {}),
    sentAt: new Date().toISOString(),
  };
}

/** The plaintext of a captured message, read as its addressee reads it (the attacker is that addressee). */
export async function openAsAddressee(rt: RedTeamCloud, m: AgentMessage): Promise<string> {
  return (await openWithSaltAsAddressee(rt, m)).plaintext;
}

/** The plaintext of a captured message and the salt of its content digest, both of which its addressee reads. */
export async function openWithSaltAsAddressee(rt: RedTeamCloud, m: AgentMessage): Promise<{ plaintext: string; salt: string }> {
  const cipher = new EnvelopeCipher({ kms: rt.kms, keyArns: rt.state.keys });
  const opened = await cipher.open({ from: m.from, to: m.to, label: m.label, messageId: m.id, commandId: m.commandId, ciphertext: m.ciphertext });
  const { salt, content } = unsaltBody(opened);
  return { plaintext: content.toString('utf8'), salt };
}

/** Puts `body` on `agent`'s queue, as anyone with send rights to it can; returns the SQS message id. */
export async function deliver(rt: RedTeamCloud, agent: string, body: string): Promise<string> {
  const out = await rt.sqs.send(new SendMessageCommand({ QueueUrl: rt.state.queues[agent], MessageBody: body }));
  if (!out.MessageId) throw new Error(`SQS gave no message id for a send to ${agent}`);
  return out.MessageId;
}
