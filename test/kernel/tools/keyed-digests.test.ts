import { canonicalJson } from '../../../functions/kernel/canonical';
import { PATIENT_IDS, recover, visibleValues } from '../../support/guessing';
import { ToolRuntimeBed } from './support';

/* DESIGN §6: digests that leave a label are keyed, so a low-entropy argument cannot be recovered by guessing. */

let bed: ToolRuntimeBed;
beforeAll(async () => {
  bed = await ToolRuntimeBed.create();
});

/** `{patientId}` as a tool's arguments are written: canonical JSON, and the bare id. */
const asArguments = (patientId: string) => [canonicalJson({ patientId }), patientId];

test('a ledgered argument digest cannot be recovered by guessing among 10,000 patient ids', async () => {
  const s = bed.scenario('analyst');
  await s.run({ tool: 'read_patient_record', args: { patientId: 'P-1003' } });
  const [entry] = await s.entries();
  expect(entry).toMatchObject({ type: 'tool.executed', detail: { tool: 'read_patient_record' } });
  const digest = entry.digests!.args;
  // Everything a reader of the ledger sees beside the digest, each tried as an HMAC key.
  expect(recover(digest, PATIENT_IDS, asArguments, visibleValues(entry))).toEqual([]);
  // The same search finds the id at once for whoever holds the call's salt: the attack is real, the salt is what stops it.
  expect(recover(digest, PATIENT_IDS, asArguments, [s.argsSalt])).toEqual(['P-1003']);
});

test('the same arguments in two calls leave unlinkable digests in the ledger', async () => {
  const [a, b] = [bed.scenario('analyst'), bed.scenario('analyst')];
  await a.run({ tool: 'read_patient_record', args: { patientId: 'P-1001' } });
  await b.run({ tool: 'read_patient_record', args: { patientId: 'P-1001' } });
  const [[ea], [eb]] = [await a.entries(), await b.entries()];
  expect(ea.digests!.args).not.toBe(eb.digests!.args);
});
