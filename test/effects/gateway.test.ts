import { randomUUID } from 'node:crypto';
import { DirectiveVerifier } from '../../functions/kernel/directives/verify';
import { EnvelopeCipher } from '../../functions/kernel/messages/envelope-cipher';
import { sealRequest } from '../../functions/kernel/messages/sealed-request';
import { SideEffect } from '../../functions/kernel/tools/effects';
import { LedgerReader, LedgerWriter } from '../../functions/kernel/ledger/ledger';
import { label } from '../../functions/kernel/labels';
import { Outbox } from '../../functions/stores/outbox';
import { EffectGateway } from '../../functions/effects/gateway';
import { GatewayEffectLog, InProcessEffectGateway } from '../../functions/effects/client';
import { MemorySender } from '../../functions/effects/senders';
import { createLevelKeys } from '../support/aws';
import { ToolRuntimeBed } from '../kernel/tools/support';

/**
 * DESIGN §5: the effect of a high or critical tool is written only by a principal that checks the directive itself
 * (the effect gateway, the only writer of the outbox), never by the effector's role alone.
 */
let bed: ToolRuntimeBed;
let cipher: EnvelopeCipher;
let gateway: EffectGateway;
let sender: MemorySender;
let ledgerTable: { doc: ToolRuntimeBed['doc']; tableName: string };

beforeAll(async () => {
  bed = await ToolRuntimeBed.create();
  cipher = new EnvelopeCipher({ kms: bed.kms, keyArns: await createLevelKeys(bed.kms) });
  sender = new MemorySender();
  ledgerTable = { doc: bed.doc, tableName: bed.tables.ledger };
  gateway = new EffectGateway({
    topology: bed.topology,
    cipher,
    verifier: new DirectiveVerifier({ kms: bed.kms, authorityKeyArn: bed.authorityKeyArn }),
    outbox: new Outbox(bed.doc, bed.tables.outbox),
    ledger: new LedgerWriter(ledgerTable),
    sender,
  });
});

const EMAIL_ARGS = { to: 'frontdesk@hospital.example', subject: 'Parking', body: 'Level 2 is open.' };
const email = { tool: 'send_email', args: EMAIL_ARGS };
const PRESCRIPTION = { patientId: 'P-1001', drug: 'Metformin', doseMg: 500 };

/** The effect log an agent's runtime holds: every call sealed as `agent`. */
const logOf = (agent: string) =>
  new GatewayEffectLog({ transport: new InProcessEffectGateway(gateway), cipher, agent, clearance: bed.topology.agent(agent).clearance });

function effectOf(s: ReturnType<ToolRuntimeBed['scenario']>, tool: string, args: Record<string, unknown>, payload: Record<string, unknown> | null, directiveId?: string): SideEffect {
  return { tool, agent: s.agent, commandId: s.commandId, messageId: s.messageId, ...(directiveId ? { directiveId } : {}), args, argsSalt: s.argsSalt, payload };
}

const refusalsBy = async (commandId: string) =>
  (await new LedgerReader(ledgerTable).readAll()).filter((e) => e.actor === 'effects' && e.commandId === commandId).map((e) => e.reason);

const failure = (p: Promise<unknown>) => p.then(() => undefined, (e: { reason?: string }) => e.reason ?? String(e));

describe('the effect gateway', () => {
  it('a directive’s effect is recorded once and dispatched once, whatever the number of deliveries', async () => {
    const s = bed.scenario('edge');
    const directive = await s.sign(email);
    const effect = effectOf(s, 'send_email', EMAIL_ARGS, { kind: 'email', ...EMAIL_ARGS }, directive.claims.id);
    const log = logOf('edge');
    expect(await log.record(directive.claims.id, effect, directive)).toBe(true);
    expect(await log.record(directive.claims.id, effect, directive)).toBe(false);
    expect(sender.sent.filter((r) => r.effectId === directive.claims.id)).toHaveLength(1);
    expect(await log.get(directive.claims.id)).toMatchObject({ agent: 'edge', args: EMAIL_ARGS, dispatchedAt: expect.any(String) });
  });

  it('the tool runtime records effects only through the gateway: a send_email runs and goes out', async () => {
    const s = bed.scenario('edge');
    const directive = await s.sign(email);
    const result = await s.run(email, { directive, outbox: logOf('edge') });
    expect(result.duplicate).toBe(false);
    expect(sender.sent.find((r) => r.effectId === directive.claims.id)?.payload).toMatchObject({ to: EMAIL_ARGS.to });
  });

  it('an effect without a directive is refused by the gateway and ledgered', async () => {
    const s = bed.scenario('edge');
    const effect = effectOf(s, 'send_email', EMAIL_ARGS, { kind: 'email', ...EMAIL_ARGS });
    expect(await failure(logOf('edge').record(randomUUID(), effect))).toBe('NOT_AUTHORIZED');
    expect(await refusalsBy(s.commandId)).toEqual(['NOT_AUTHORIZED']);
  });

  it('an effector cannot record an effect of a tool it does not own (edge presenting a prescription)', async () => {
    const analyst = bed.scenario('analyst');
    const directive = await analyst.sign({ tool: 'prescribe', args: PRESCRIPTION });
    const edge = bed.scenario('edge');
    const effect = { ...effectOf(edge, 'prescribe', PRESCRIPTION, { kind: 'prescription', ...PRESCRIPTION }, directive.claims.id), commandId: analyst.commandId };
    expect(await failure(logOf('edge').record(directive.claims.id, effect, directive))).toBe('NOT_AUTHORIZED');
    expect(await refusalsBy(analyst.commandId)).toEqual(['NOT_AUTHORIZED']);
  });

  it('an effect sealed by another agent than the one it names is refused IMPERSONATION', async () => {
    const analyst = bed.scenario('analyst');
    const directive = await analyst.sign({ tool: 'prescribe', args: PRESCRIPTION });
    const effect = effectOf(analyst, 'prescribe', PRESCRIPTION, { kind: 'prescription', ...PRESCRIPTION }, directive.claims.id);
    expect(await failure(logOf('edge').record(directive.claims.id, effect, directive))).toBe('IMPERSONATION');
  });

  it('an effect whose arguments differ from the directive’s digest is refused', async () => {
    const s = bed.scenario('edge');
    const directive = await s.sign(email);
    const other = { ...EMAIL_ARGS, to: 'attacker@evil.example' };
    const effect = effectOf(s, 'send_email', other, { kind: 'email', ...other }, directive.claims.id);
    expect(await failure(logOf('edge').record(directive.claims.id, effect, directive))).toBe('BINDING_MISMATCH');
    expect(sender.sent.some((r) => r.effectId === directive.claims.id)).toBe(false);
  });

  it('an effect whose payload differs from the arguments the directive binds is refused', async () => {
    const s = bed.scenario('edge');
    const directive = await s.sign(email);
    const effect = effectOf(s, 'send_email', EMAIL_ARGS, { kind: 'email', ...EMAIL_ARGS, to: 'attacker@evil.example' }, directive.claims.id);
    expect(await failure(logOf('edge').record(directive.claims.id, effect, directive))).toBe('BINDING_MISMATCH');
  });

  it('a directive names one effect: recording another call under it is refused', async () => {
    const s = bed.scenario('edge');
    const directive = await s.sign(email);
    const effect = effectOf(s, 'send_email', EMAIL_ARGS, { kind: 'email', ...EMAIL_ARGS }, directive.claims.id);
    expect(await failure(logOf('edge').record(randomUUID(), effect, directive))).toBe('BINDING_MISMATCH');
    expect(await logOf('edge').record(directive.claims.id, effect, directive)).toBe(true);
    expect(await failure(logOf('edge').record(directive.claims.id, { ...effect, messageId: randomUUID() }, directive))).toBe('REPLAY');
  });

  it('a forged directive records nothing', async () => {
    const s = bed.scenario('edge');
    const forged = await s.sign(email, {}, bed.impostorKeyArn);
    const effect = effectOf(s, 'send_email', EMAIL_ARGS, { kind: 'email', ...EMAIL_ARGS }, forged.claims.id);
    expect(await failure(logOf('edge').record(forged.claims.id, effect, forged))).toBe('BAD_SIGNATURE');
  });

  it('an unsealed request is refused UNAUTHENTICATED; a lookup shows an agent only its own records', async () => {
    expect(await gateway.receive({ kind: 'record' })).toMatchObject({ status: 'refused', reason: 'UNAUTHENTICATED' });
    const s = bed.scenario('edge');
    const directive = await s.sign(email);
    await logOf('edge').record(directive.claims.id, effectOf(s, 'send_email', EMAIL_ARGS, { kind: 'email', ...EMAIL_ARGS }, directive.claims.id), directive);
    expect(await logOf('scheduler').get(directive.claims.id)).toBeUndefined();
    const sealed = await sealRequest(cipher, { from: 'edge', to: 'signer', label: label('UNCLASSIFIED'), requestId: randomUUID(), commandId: s.commandId, body: {} });
    expect(await gateway.receive(sealed)).toMatchObject({ status: 'refused', reason: 'MISROUTED' });
  });
});
