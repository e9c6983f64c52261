import { randomUUID } from 'node:crypto';
import * as z from 'zod';
import { argsDigest } from '../../../functions/kernel/directives/directives';
import { isSecurityError } from '../../../functions/kernel/errors';
import { Outbox } from '../../../functions/stores/outbox';
import { SingleUseStore } from '../../../functions/kernel/messages/single-use';
import { TABLES } from '../../../functions/kernel/tables';
import { DEFAULT_TOOLS, ToolRegistry } from '../../../functions/tools/registry';
import { sendEmail } from '../../../functions/tools/send-email';
import { createTable, unique } from '../../support/aws';
import { ToolRuntimeBed, email } from './support';

/** Tool-runtime properties at the edges: faults are not denials, denials keep their digest, approved arguments run as approved. */

let bed: ToolRuntimeBed;
beforeAll(async () => {
  bed = await ToolRuntimeBed.create();
});

const missingTable = () => unique('no-such-table');

/** An outbox whose records cannot be read back, as after an effect record expired between the write and the read. */
class ForgetfulOutbox extends Outbox {
  override async get(): Promise<undefined> {
    return undefined;
  }
}
const freshNonces = async () => new SingleUseStore(bed.doc, await createTable(unique('nonces'), TABLES.nonces.partitionKey));

describe('an infrastructure fault is not a security decision', () => {
  it('a fault recording the effect surfaces as itself and is not ledgered as a denial', async () => {
    const s = bed.scenario('edge');
    const err = await s.run(email, { directive: await s.sign(email), outbox: new Outbox(bed.doc, missingTable()) }).catch((e: unknown) => e);
    expect(isSecurityError(err)).toBe(false);
    expect((err as Error).name).toBe('ResourceNotFoundException');
    expect((await s.entries()).map((e) => e.type)).not.toContain('tool.denied');
  });

  it('a fault spending the nonce surfaces as itself, and the tool does not run', async () => {
    const s = bed.scenario('edge');
    const err = await s.run(email, { directive: await s.sign(email), singleUse: new SingleUseStore(bed.doc, missingTable()) }).catch((e: unknown) => e);
    expect(isSecurityError(err)).toBe(false);
    expect((err as Error).name).toBe('ResourceNotFoundException');
    expect(await s.effects()).toEqual([]);
  });
});

describe('what a denial records', () => {
  it('a denied call is ledgered with the digest of its arguments, never the arguments', async () => {
    const s = bed.scenario('edge');
    await s.refused(email, 'NOT_AUTHORIZED');
    const [entry] = await s.entries();
    expect(entry.digests).toMatchObject({ args: argsDigest(email.args) });
    expect(JSON.stringify(entry)).not.toContain('gp@clinic.example');
  });
});

describe('the arguments that run are the arguments that were approved', () => {
  it('a tool whose schema would rewrite the arguments (here: drop a field) is refused SCHEMA and does nothing', async () => {
    const lenient = { ...sendEmail, args: z.object({ to: z.string(), subject: z.string(), body: z.string() }) };
    const registry = new ToolRegistry(bed.topology, [...DEFAULT_TOOLS.filter((d) => d.name !== 'send_email'), lenient]);
    const s = bed.scenario('edge');
    const call = { tool: 'send_email', args: { ...(email.args as object), bcc: 'leak@exfil.example' } };
    await s.refused(call, 'SCHEMA', { directive: await s.sign(call), registry });
    expect((await s.entries()).map((e) => [e.type, e.reason])).toEqual([['tool.denied', 'SCHEMA']]);
    expect(await s.effects()).toEqual([]);
  });
});

describe('a directive whose nonce was spent without naming the delivery', () => {
  it('is a duplicate when the outbox shows this same message already ran the call', async () => {
    const s = bed.scenario('edge');
    const directive = await s.sign(email);
    const first = await s.run(email, { directive });
    const legacy = await freshNonces();
    await legacy.consume(`directive#${directive.claims.nonce}`, directive.claims.expiresAt);
    const again = await s.run(email, { directive, singleUse: legacy });
    expect(again).toMatchObject({ duplicate: true, effectId: first.effectId });
    expect(await s.effects()).toHaveLength(1);
  });

  it('is a REPLAY when the outbox record under its id was written for another directive, even by this message', async () => {
    const s = bed.scenario('edge');
    const directive = await s.sign(email);
    await s.outbox.record(directive.claims.id, {
      tool: 'send_email', agent: 'edge', commandId: s.commandId, messageId: s.messageId, directiveId: randomUUID(), payload: null,
    });
    const spent = await freshNonces();
    await spent.consume(`directive#${directive.claims.nonce}`, directive.claims.expiresAt);
    await s.refused(email, 'REPLAY', { directive, singleUse: spent });
  });

  it('is a REPLAY when nothing shows this message ran it', async () => {
    const s = bed.scenario('edge');
    const directive = await s.sign(email);
    const spent = await freshNonces();
    await spent.consume(`directive#${directive.claims.nonce}`, directive.claims.expiresAt);
    await s.refused(email, 'REPLAY', { directive, singleUse: spent });
    expect(await s.effects()).toEqual([]);
  });
});

describe('an effect recorded before, whose record cannot be read back', () => {
  it('is a REPLAY, never taken for this message\'s own effect', async () => {
    const s = bed.scenario('edge');
    const directive = await s.sign(email);
    await s.run(email, { directive });
    const forgetful = new ForgetfulOutbox(bed.doc, bed.tables.outbox);
    await s.refused(email, 'REPLAY', { directive, singleUse: await freshNonces(), outbox: forgetful });
  });
});
