import { randomUUID } from 'node:crypto';
import { EnvelopeCipher, STATE_KEY_REUSE, stateContextOf } from '../../../functions/kernel/messages/envelope-cipher';
import { LEVELS, Level, label } from '../../../functions/kernel/labels';
import { createLevelKeys } from '../../support/aws';
import { countingKms } from '../../support/kms-calls';
import { refusal } from '../../support/refusal';

let keys: Record<Level, string>;
const counter = countingKms();

beforeAll(async () => {
  keys = await createLevelKeys();
});
beforeEach(() => counter.reset());

const cipher = () => new EnvelopeCipher({ kms: counter.client, keyArns: keys });
const SECRET = label('SECRET', ['MEDICAL']);


describe('state a function seals for itself at rest', () => {
  it('round-trips, and another instance of the function (another container) opens it through KMS', async () => {
    const commandId = randomUUID();
    const ciphertext = await cipher().sealState({ owner: 'core', label: SECRET, commandId, plaintext: 'the plan' });
    counter.reset();
    const opened = await cipher().openState({ owner: 'core', label: SECRET, commandId, ciphertext });
    expect(opened.toString()).toBe('the plan');
    expect(counter.calls).toEqual(['Decrypt']);
  });

  it('reuses one data key for the state of many commands at a label: one GenerateDataKey for ten seals', async () => {
    const c = cipher();
    for (let i = 0; i < 10; i++) await c.sealState({ owner: 'core', label: SECRET, commandId: randomUUID(), plaintext: `plan ${i}` });
    expect(counter.calls).toEqual(['GenerateDataKey']);
  });

  it(`reuses a data key for at most ${STATE_KEY_REUSE.maxMessages} seals`, async () => {
    const c = cipher();
    for (let i = 0; i < STATE_KEY_REUSE.maxMessages + 1; i++) await c.sealState({ owner: 'core', label: SECRET, commandId: randomUUID(), plaintext: 'p' });
    expect(counter.calls).toEqual(['GenerateDataKey', 'GenerateDataKey']);
  });

  it('never shares a data key across levels: each level seals under its own key', async () => {
    const c = cipher();
    await c.sealState({ owner: 'core', label: SECRET, commandId: randomUUID(), plaintext: 'p' });
    await c.sealState({ owner: 'core', label: label('TOP_SECRET'), commandId: randomUUID(), plaintext: 'p' });
    expect(counter.calls).toEqual(['GenerateDataKey', 'GenerateDataKey']);
  });

  it('keeps one data key per level at once: sealing at every level, twice over, asks for one key per level', async () => {
    const c = cipher();
    for (const round of [1, 2]) {
      for (const level of LEVELS) await c.sealState({ owner: 'core', label: label(level), commandId: randomUUID(), plaintext: `round ${round}` });
    }
    expect(counter.calls).toEqual(LEVELS.map(() => 'GenerateDataKey'));
  });

  it("one command's state opened for another command is refused (CONTEXT_MISMATCH)", async () => {
    const ciphertext = await cipher().sealState({ owner: 'core', label: SECRET, commandId: randomUUID(), plaintext: 'the plan of A' });
    expect(await refusal(cipher().openState({ owner: 'core', label: SECRET, commandId: randomUUID(), ciphertext }))).toBe('CONTEXT_MISMATCH');
  });

  it('state opened under another owner or label is refused before KMS is asked (CONTEXT_MISMATCH)', async () => {
    const commandId = randomUUID();
    const ciphertext = await cipher().sealState({ owner: 'core', label: SECRET, commandId, plaintext: 'the plan' });
    counter.reset();
    expect(await refusal(cipher().openState({ owner: 'analyst', label: SECRET, commandId, ciphertext }))).toBe('CONTEXT_MISMATCH');
    expect(await refusal(cipher().openState({ owner: 'core', label: label('SECRET'), commandId, ciphertext }))).toBe('CONTEXT_MISMATCH');
    expect(counter.calls).toEqual([]);
  });

  it('a message ciphertext is not state, and state is not a message', async () => {
    const c = cipher();
    const commandId = randomUUID();
    const state = await c.sealState({ owner: 'core', label: SECRET, commandId, plaintext: 'the plan' });
    expect(await refusal(c.open({ from: 'core', to: 'core', label: SECRET, messageId: randomUUID(), commandId, ciphertext: state }))).toBe('CONTEXT_MISMATCH');
    const messageId = randomUUID();
    const message = await c.seal({ from: 'core', to: 'core', label: SECRET, messageId, commandId, plaintext: 'a message' });
    expect(await refusal(c.openState({ owner: 'core', label: SECRET, commandId, ciphertext: message }))).toBe('CONTEXT_MISMATCH');
  });

  it('its encryption context names the owner as sender and reader, so IAM grants hold as for messages', () => {
    expect(stateContextOf({ owner: 'core', label: SECRET, commandId: 'c' })).toEqual({ from: 'core', to: 'core', label: 'SECRET/MEDICAL', purpose: 'state', 'compartment-MEDICAL': 'MEDICAL' });
  });
});
