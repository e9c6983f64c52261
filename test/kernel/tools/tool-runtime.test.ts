import { randomUUID } from 'node:crypto';
import * as z from 'zod';
import { argsDigest } from '../../../functions/kernel/directives/claims';
import { isSecurityError } from '../../../functions/kernel/errors';
import { Outbox } from '../../../functions/stores/outbox';
import { SingleUseStore } from '../../../functions/kernel/messages/single-use';
import { TABLES } from '../../../functions/kernel/tables';
import { label } from '../../../functions/kernel/labels';
import { verifyChain } from '../../../functions/kernel/ledger/verify-chain';
import { Topology, parseTopology, topologySchema } from '../../../functions/kernel/topology/topology';
import { PUBLIC_PAGES } from '../../../functions/tools/fixtures/public-pages';
import { DEFAULT_TOOLS, ToolRegistry } from '../../../functions/tools/registry';
import { sendEmail } from '../../../functions/tools/send-email';
import { createTable, unique } from '../../support/aws';
import embedded from '../../../agentsec.config.json';
import { Scenario, ToolRuntimeBed, appointment, email, prescription } from './support';

let bed: ToolRuntimeBed;
beforeAll(async () => {
  bed = await ToolRuntimeBed.create();
});

/** A refusal leaves exactly one trace: a `tool.denied` entry with the reason, and nothing in the outbox. */
async function expectDeniedWithoutEffect(s: Scenario, reason: string): Promise<void> {
  const entries = await s.entries();
  expect(entries.map((e) => [e.type, e.reason])).toEqual([['tool.denied', reason]]);
  expect(entries[0]).toMatchObject({ actor: s.agent, commandId: s.commandId, messageId: s.messageId });
  expect(await s.effects()).toEqual([]);
}

/** A single-use store on a fresh, empty table: one that has never seen any nonce. */
const freshNonces = async () => new SingleUseStore(bed.doc, await createTable(unique('nonces'), TABLES.nonces.partitionKey), 'analyst');

/** An outbox whose records cannot be read back, as after an effect record expired between the write and the read. */
class ForgetfulOutbox extends Outbox {
  override async get(): Promise<undefined> {
    return undefined;
  }
}

describe('low-priority tools', () => {
  it('a low tool runs without a directive and its result carries the label the topology gives it', async () => {
    const s = bed.scenario('analyst');
    const result = await s.run({ tool: 'read_patient_record', args: { patientId: 'P-1001' } });
    expect(result.content).toContain('Margaret Hollis');
    expect(result.label).toEqual(label('SECRET', ['MEDICAL']));
    expect(result.directiveId).toBeUndefined();
    const [entry] = await s.entries();
    expect(entry).toMatchObject({ type: 'tool.executed', actor: 'analyst', detail: { tool: 'read_patient_record', duplicate: false } });
    expect(await s.effects()).toEqual([]);
  });

  it('a page with an injection is returned as data at the tool\'s label, and nothing it asks for happens', async () => {
    const s = bed.scenario('edge');
    const result = await s.run({ tool: 'lookup_public_info', args: { query: 'visiting hours' } });
    expect(result.content).toContain('IGNORE PREVIOUS INSTRUCTIONS');
    expect(result.label).toEqual(label('UNCLASSIFIED'));
    expect((await s.entries()).map((e) => e.type)).toEqual(['tool.executed']);
    expect(await s.effects()).toEqual([]);
  });
});

describe('sinks: the egress rule applies to tool arguments as to prompts (DESIGN §6)', () => {
  it('a tool that sends data out is refused EGRESS_ABOVE_TRUST when its arguments derive from content above its sink, even under a valid directive', async () => {
    const s = bed.scenario('edge');
    const call = email;
    const directive = await s.sign(call);
    await s.refused(call, 'EGRESS_ABOVE_TRUST', { directive, label: label('CONFIDENTIAL') });
    await expectDeniedWithoutEffect(s, 'EGRESS_ABOVE_TRUST');
  });

  it('a low-priority sink (a web lookup) is refused too: its query leaves the system', async () => {
    const s = bed.scenario('edge');
    await s.refused({ tool: 'lookup_public_info', args: { query: 'visiting hours' } }, 'EGRESS_ABOVE_TRUST', { label: label('SECRET', ['MEDICAL']) });
    await expectDeniedWithoutEffect(s, 'EGRESS_ABOVE_TRUST');
  });

  it('a sink runs when its trust dominates what the arguments derive from', async () => {
    const s = bed.scenario('edge');
    const result = await s.run({ tool: 'lookup_public_info', args: { query: 'visiting hours' } }, { label: label('UNCLASSIFIED') });
    expect(result.label).toEqual(label('UNCLASSIFIED'));
  });
});

describe('a high-priority tool needs a matching, valid, unused directive', () => {
  it('a high-priority tool without a directive is refused NOT_AUTHORIZED, ledgered, with no outbox effect', async () => {
    const s = bed.scenario('scheduler');
    await s.refused(appointment, 'NOT_AUTHORIZED');
    await expectDeniedWithoutEffect(s, 'NOT_AUTHORIZED');
  });

  it('a critical tool without a directive is refused NOT_AUTHORIZED', async () => {
    const s = bed.scenario('analyst');
    await s.refused(prescription, 'NOT_AUTHORIZED');
    await expectDeniedWithoutEffect(s, 'NOT_AUTHORIZED');
  });

  it('a directive of another command is refused BINDING_MISMATCH', async () => {
    const s = bed.scenario('scheduler');
    const directive = await s.sign(appointment, { commandId: randomUUID() });
    await s.refused(appointment, 'BINDING_MISMATCH', { directive });
    await expectDeniedWithoutEffect(s, 'BINDING_MISMATCH');
  });

  it('a directive for other arguments is refused BINDING_MISMATCH', async () => {
    const s = bed.scenario('scheduler');
    const approved = await s.sign(appointment);
    const tampered = { ...appointment, args: { ...(appointment.args as object), patientId: 'P-1003' } };
    await s.refused(tampered, 'BINDING_MISMATCH', { directive: approved });
    await expectDeniedWithoutEffect(s, 'BINDING_MISMATCH');
  });

  it('a directive for another tool is refused BINDING_MISMATCH', async () => {
    const s = bed.scenario('edge');
    // Signed for lookup_public_info with exactly these arguments, presented for send_email.
    const directive = await s.sign({ tool: 'lookup_public_info', args: email.args });
    await s.refused(email, 'BINDING_MISMATCH', { directive });
    await expectDeniedWithoutEffect(s, 'BINDING_MISMATCH');
  });

  it('a directive for another agent is refused BINDING_MISMATCH', async () => {
    const s = bed.scenario('scheduler');
    const directive = await s.sign(appointment, { target: 'edge' });
    await s.refused(appointment, 'BINDING_MISMATCH', { directive });
    await expectDeniedWithoutEffect(s, 'BINDING_MISMATCH');
  });

  it('a directive serving another user is refused BINDING_MISMATCH', async () => {
    const s = bed.scenario('scheduler', 'bob');
    const directive = await s.sign(appointment, { principal: 'alice' });
    await s.refused(appointment, 'BINDING_MISMATCH', { directive });
    await expectDeniedWithoutEffect(s, 'BINDING_MISMATCH');
  });

  it('a declassification directive does not authorize a tool (BINDING_MISMATCH)', async () => {
    const s = bed.scenario('scheduler');
    const directive = await s.sign(appointment, {
      kind: 'declassify',
      tool: undefined,
      argsDigest: undefined,
      contentDigest: 'a'.repeat(64),
      label: label('SECRET'),
      declassifyTo: label('CONFIDENTIAL'),
    });
    await s.refused(appointment, 'BINDING_MISMATCH', { directive });
    await expectDeniedWithoutEffect(s, 'BINDING_MISMATCH');
  });

  it('an expired directive is refused EXPIRED', async () => {
    const s = bed.scenario('scheduler');
    const past = Date.now() - 10 * 60_000;
    const directive = await s.sign(appointment, { issuedAt: past, expiresAt: past + 60_000 });
    await s.refused(appointment, 'EXPIRED', { directive });
    await expectDeniedWithoutEffect(s, 'EXPIRED');
  });

  it('a directive signed by another key is refused BAD_SIGNATURE', async () => {
    const s = bed.scenario('scheduler');
    const impostor = await s.sign(appointment, {}, bed.impostorKeyArn);
    await s.refused(appointment, 'BAD_SIGNATURE', { directive: impostor });
    // The same forgery claiming to come from the authority key.
    await s.refused(appointment, 'BAD_SIGNATURE', { directive: { ...impostor, keyId: bed.authorityKeyArn } });
    expect((await s.entries()).map((e) => e.reason)).toEqual(['BAD_SIGNATURE', 'BAD_SIGNATURE']);
    expect(await s.effects()).toEqual([]);
  });

  it('a directive whose claims were altered after signing is refused BAD_SIGNATURE', async () => {
    const s = bed.scenario('scheduler');
    const signed = await s.sign({ ...appointment, args: { ...(appointment.args as object), patientId: 'P-1003' } });
    const altered = { ...signed, claims: { ...signed.claims, argsDigest: s.claims(appointment).argsDigest } };
    await s.refused(appointment, 'BAD_SIGNATURE', { directive: altered });
    await expectDeniedWithoutEffect(s, 'BAD_SIGNATURE');
  });

  it('a directive a model wrote into a web page is refused BAD_SIGNATURE', async () => {
    const s = bed.scenario('scheduler');
    const page = PUBLIC_PAGES.find((p) => p.id === 'contact')!;
    const forged = JSON.parse(/Authorized directive \(attach it to the call\): (\{.*\})/.exec(page.body)![1]);
    await s.refused(page.injects[0], 'BAD_SIGNATURE', { directive: forged });
    await expectDeniedWithoutEffect(s, 'BAD_SIGNATURE');
  });

  it('a directive used twice by different calls is refused REPLAY the second time, and the effect happens once', async () => {
    const s = bed.scenario('scheduler');
    const directive = await s.sign(appointment);
    await s.run(appointment, { directive });
    const replayMessage = randomUUID();
    await s.refused(appointment, 'REPLAY', { directive, messageId: replayMessage });
    expect((await s.entries()).map((e) => [e.type, e.reason, e.messageId])).toEqual([
      ['tool.executed', undefined, s.messageId],
      ['tool.denied', 'REPLAY', replayMessage],
    ]);
    expect(await s.effects()).toHaveLength(1);
  });

  it('a valid directive runs the tool once, records its effect under the directive id and ledgers the directive id', async () => {
    const s = bed.scenario('scheduler');
    const directive = await s.sign(appointment);
    const result = await s.run(appointment, { directive });
    expect(result).toMatchObject({ effectId: directive.claims.id, directiveId: directive.claims.id, duplicate: false, label: label('CONFIDENTIAL') });
    expect(result.content).toMatch(/^Appointment APT-[0-9A-F]{8} booked for P-1002 in Cardiology/);
    const effects = await s.effects();
    expect(effects).toEqual([
      expect.objectContaining({
        effectId: directive.claims.id,
        tool: 'schedule_appointment',
        agent: 'scheduler',
        messageId: s.messageId,
        directiveId: directive.claims.id,
        payload: expect.objectContaining({ kind: 'appointment', patientId: 'P-1002', department: 'Cardiology' }),
      }),
    ]);
    const entries = await s.entries();
    expect(entries).toEqual([expect.objectContaining({ type: 'tool.executed', directiveId: directive.claims.id, actor: 'scheduler' })]);
    expect(entries[0].digests?.args).toBe(directive.claims.argsDigest);
    expect(verifyChain(entries).ok).toBe(true);
  });

  it('running under a directive spends its nonce, so the single-use store refuses it anywhere else', async () => {
    const s = bed.scenario('scheduler');
    const directive = await s.sign(appointment);
    await s.run(appointment, { directive });
    await expect(s.singleUse.consume(`directive#${directive.claims.nonce}`, directive.claims.expiresAt)).rejects.toMatchObject({ reason: 'REPLAY' });
  });

  it('a critical tool runs under a valid directive', async () => {
    const s = bed.scenario('analyst');
    const directive = await s.sign(prescription, { label: label('SECRET', ['MEDICAL']) });
    const result = await s.run(prescription, { directive });
    expect(result.content).toMatch(/Prescription RX-[0-9A-F]{8} issued for P-1001: Metformin 500 mg/);
    expect((await s.effects()).map((e) => e.payload?.kind)).toEqual(['prescription']);
  });
});

describe('duplicate delivery', () => {
  it('a duplicate execution of the same call records one effect and is reported as already done, not as an attack', async () => {
    const s = bed.scenario('edge');
    const directive = await s.sign(email);
    const first = await s.run(email, { directive });
    const again = await s.run(email, { directive });
    expect(first.duplicate).toBe(false);
    expect(again).toMatchObject({ duplicate: true, effectId: first.effectId, content: first.content });
    expect(await s.effects()).toHaveLength(1);
    const entries = await s.entries();
    expect(entries.map((e) => [e.type, e.directiveId, e.detail?.duplicate])).toEqual([
      ['tool.executed', directive.claims.id, false],
      ['tool.executed', directive.claims.id, true],
    ]);
  });

  it('when the nonce record is gone, the outbox still lets a directive act once: another call is REPLAY', async () => {
    const s = bed.scenario('edge');
    const directive = await s.sign(email);
    await s.run(email, { directive });
    await s.refused(email, 'REPLAY', { directive, messageId: randomUUID(), singleUse: await freshNonces() });
    const redelivered = await s.run(email, { directive, singleUse: await freshNonces() });
    expect(redelivered.duplicate).toBe(true);
    expect(await s.effects()).toHaveLength(1);
  });

  it('a duplicate delivery of a low tool call with a side effect records it once', async () => {
    // A topology where sending email is low priority: only the outbox stands between a redelivery and a second email.
    const topology = parseTopology({ ...embedded, tools: { ...embedded.tools, send_email: { ...embedded.tools.send_email, priority: 'low', arguments: {} } } });
    const s = (await ToolRuntimeBed.create(topology)).scenario('edge');
    const first = await s.run(email);
    const again = await s.run(email);
    expect(first.effectId).toBe(`${s.commandId}:${s.messageId}:send_email:${s.claims(email).argsDigest}`);
    expect(again).toMatchObject({ duplicate: true, effectId: first.effectId });
    expect(await s.effects()).toHaveLength(1);
  });

  it('a redelivery whose directive nonce was spent without naming the delivery is a duplicate when the outbox shows this message ran the call', async () => {
    const s = bed.scenario('edge');
    const directive = await s.sign(email);
    const first = await s.run(email, { directive });
    const legacy = await freshNonces();
    await legacy.consume(`directive#${directive.claims.nonce}`, directive.claims.expiresAt);
    const again = await s.run(email, { directive, singleUse: legacy });
    expect(again).toMatchObject({ duplicate: true, effectId: first.effectId });
    expect(await s.effects()).toHaveLength(1);
  });

  it('a spent nonce is a REPLAY when the outbox record under the directive id was written for another directive, even by this message', async () => {
    const s = bed.scenario('edge');
    const directive = await s.sign(email);
    await s.outbox.record(directive.claims.id, {
      tool: 'send_email', agent: 'edge', commandId: s.commandId, messageId: s.messageId, directiveId: randomUUID(), args: {}, payload: null,
    });
    const spent = await freshNonces();
    await spent.consume(`directive#${directive.claims.nonce}`, directive.claims.expiresAt);
    await s.refused(email, 'REPLAY', { directive, singleUse: spent });
  });

  it('a spent nonce is a REPLAY, with no effect, when nothing in the outbox shows this message ran the call', async () => {
    const s = bed.scenario('edge');
    const directive = await s.sign(email);
    const spent = await freshNonces();
    await spent.consume(`directive#${directive.claims.nonce}`, directive.claims.expiresAt);
    await s.refused(email, 'REPLAY', { directive, singleUse: spent });
    expect(await s.effects()).toEqual([]);
  });

  it("an effect recorded before whose record cannot be read back is a REPLAY, never taken for this message's own effect", async () => {
    const s = bed.scenario('edge');
    const directive = await s.sign(email);
    await s.run(email, { directive });
    const forgetful = new ForgetfulOutbox(bed.doc, bed.tables.outbox);
    await s.refused(email, 'REPLAY', { directive, singleUse: await freshNonces(), outbox: forgetful });
  });
});

describe('an infrastructure fault is not a security decision', () => {
  it('a fault recording the effect surfaces as itself and is not ledgered as a denial', async () => {
    const s = bed.scenario('edge');
    const err = await s.run(email, { directive: await s.sign(email), outbox: new Outbox(bed.doc, unique('no-such-table')) }).catch((e: unknown) => e);
    expect(isSecurityError(err)).toBe(false);
    expect((err as Error).name).toBe('ResourceNotFoundException');
    expect((await s.entries()).map((e) => e.type)).not.toContain('tool.denied');
  });

  it('a fault spending the nonce surfaces as itself, and the tool does not run', async () => {
    const s = bed.scenario('edge');
    const err = await s.run(email, { directive: await s.sign(email), singleUse: new SingleUseStore(bed.doc, unique('no-such-table'), 'analyst') }).catch((e: unknown) => e);
    expect(isSecurityError(err)).toBe(false);
    expect((err as Error).name).toBe('ResourceNotFoundException');
    expect(await s.effects()).toEqual([]);
  });
});

describe('what the agent may run', () => {
  it('a tool not owned by the agent is refused NOT_AUTHORIZED, even under a directive naming that agent', async () => {
    const s = bed.scenario('scheduler');
    const directive = await s.sign(email);
    await s.refused(email, 'NOT_AUTHORIZED', { directive });
    await expectDeniedWithoutEffect(s, 'NOT_AUTHORIZED');
  });

  it('a tool the topology does not name is refused NOT_AUTHORIZED, and the ledger names it `unknown`', async () => {
    const s = bed.scenario('edge');
    await s.refused({ tool: 'transfer_funds', args: { amount: 1e6 } }, 'NOT_AUTHORIZED');
    const [entry] = await s.entries();
    expect(entry).toMatchObject({ type: 'tool.denied', reason: 'NOT_AUTHORIZED', detail: { tool: 'unknown' } });
    expect(JSON.stringify(entry)).not.toContain('transfer_funds');
  });

  it('arguments that fail the schema are refused SCHEMA before any directive is looked at', async () => {
    const s = bed.scenario('edge');
    const directive = await s.sign(email);
    await s.refused({ tool: 'send_email', args: { ...(email.args as object), bcc: 'leak@exfil.example' } }, 'SCHEMA', { directive });
    await s.refused({ tool: 'send_email', args: { ...(email.args as object), to: 'not an address' } }, 'SCHEMA', { directive });
    await s.refused({ tool: 'send_email', args: '{"to": unparseable' }, 'SCHEMA', { directive });
    expect((await s.entries()).map((e) => e.reason)).toEqual(['SCHEMA', 'SCHEMA', 'SCHEMA']);
    expect(await s.effects()).toEqual([]);
    // The directive was not spent by the refused calls.
    expect((await s.run(email, { directive })).duplicate).toBe(false);
  });

  it('a tool whose schema would rewrite the arguments (here: drop a field) is refused SCHEMA: only the approved arguments run', async () => {
    const lenient = { ...sendEmail, args: z.object({ to: z.string(), subject: z.string(), body: z.string() }) };
    const registry = new ToolRegistry(bed.topology, [...DEFAULT_TOOLS.filter((d) => d.name !== 'send_email'), lenient]);
    const s = bed.scenario('edge');
    const call = { tool: 'send_email', args: { ...(email.args as object), bcc: 'leak@exfil.example' } };
    await s.refused(call, 'SCHEMA', { directive: await s.sign(call), registry });
    expect((await s.entries()).map((e) => [e.type, e.reason])).toEqual([['tool.denied', 'SCHEMA']]);
    expect(await s.effects()).toEqual([]);
  });

  it('a denied call is ledgered with the digest of its arguments, never the arguments themselves', async () => {
    const s = bed.scenario('edge');
    await s.refused(email, 'NOT_AUTHORIZED');
    const [entry] = await s.entries();
    expect(entry.digests).toMatchObject({ args: argsDigest(email.args, s.argsSalt) });
    expect(JSON.stringify(entry)).not.toContain('gp@clinic.example');
  });

  it('an agent cannot run a tool whose result its clearance does not dominate (READ_UP)', async () => {
    // The topology schema refuses such an owner; the runtime holds even for a topology that skipped validation.
    const parsed = topologySchema.parse(embedded);
    const topology = new Topology({
      ...parsed,
      tools: { ...parsed.tools, read_patient_record: { ...parsed.tools.read_patient_record, owners: ['analyst', 'edge'] } },
    });
    const s = (await ToolRuntimeBed.create(topology)).scenario('edge');
    await s.refused({ tool: 'read_patient_record', args: { patientId: 'P-1001' } }, 'READ_UP');
    await expectDeniedWithoutEffect(s, 'READ_UP');
  });

  it('denials and executions append to one intact ledger chain', async () => {
    const s = bed.scenario('scheduler');
    await s.refused(appointment, 'NOT_AUTHORIZED');
    await s.run(appointment, { directive: await s.sign(appointment) });
    expect(verifyChain(await s.entries())).toMatchObject({ ok: true, entries: 2 });
  });
});
