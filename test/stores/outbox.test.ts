import { Outbox, SideEffect } from '../../functions/stores/outbox';
import { TABLES } from '../../functions/kernel/tables';
import { createTable, documentClient, unique } from '../support/aws';

const effect = (messageId: string, body: string): SideEffect => ({
  tool: 'send_email',
  agent: 'edge',
  commandId: 'c-1',
  messageId,
  directiveId: 'd-1',
  args: { to: 'x@y.example', body },
  payload: { kind: 'email', to: 'x@y.example', body },
});

describe('the outbox', () => {
  let outbox: Outbox;
  beforeAll(async () => {
    outbox = new Outbox(documentClient(), await createTable(unique('outbox'), TABLES.outbox.partitionKey));
  });

  it('records an effect once: a second record of the same id returns false and writes nothing', async () => {
    expect(await outbox.record('effect-1', effect('m-1', 'first'))).toBe(true);
    expect(await outbox.record('effect-1', effect('m-2', 'second'))).toBe(false);
    const all = (await outbox.list()).filter((r) => r.effectId === 'effect-1');
    expect(all).toEqual([expect.objectContaining({ effectId: 'effect-1', messageId: 'm-1', payload: expect.objectContaining({ body: 'first' }) })]);
    expect(await outbox.get('effect-1')).toEqual(all[0]);
    expect(await outbox.get('effect-unknown')).toBeUndefined();
  });

  it('of concurrent records of one effect id exactly one is written', async () => {
    const results = await Promise.all(Array.from({ length: 8 }, (_, i) => outbox.record('effect-race', effect(`m-${i}`, `copy ${i}`))));
    expect(results.filter(Boolean)).toHaveLength(1);
    expect((await outbox.list()).filter((r) => r.effectId === 'effect-race')).toHaveLength(1);
  });
});
