import { randomUUID } from 'node:crypto';
import { DirectiveVerifier } from '../../../functions/kernel/directives/verify';
import { label } from '../../../functions/kernel/labels';
import { EnvelopeCipher } from '../../../functions/kernel/messages/envelope-cipher';
import { receiveMessage } from '../../../functions/kernel/messages/receive';
import { prepareMessage } from '../../../functions/kernel/messages/send';
import { SingleUseStore } from '../../../functions/kernel/messages/single-use';
import { TABLES } from '../../../functions/kernel/tables';
import { loadTopology } from '../../../functions/kernel/topology/topology';
import { createLevelKeys, createSigningKey, createTable, documentClient, kms, unique } from '../../support/aws';
import { PATIENT_IDS, recover, visibleValues } from '../../support/guessing';

/* DESIGN §6: an envelope's content digest is keyed by a salt sealed with the content; only its addressee checks it. */

const topology = loadTopology();
let cipher: EnvelopeCipher;
let singleUse: SingleUseStore;
let verifier: DirectiveVerifier;

beforeAll(async () => {
  const [keys, authority, nonces] = await Promise.all([createLevelKeys(), createSigningKey(), createTable(unique('nonces'), TABLES.nonces.partitionKey)]);
  cipher = new EnvelopeCipher({ kms: kms(), keyArns: keys });
  singleUse = new SingleUseStore(documentClient(), nonces, 'core');
  verifier = new DirectiveVerifier({ kms: kms(), authorityKeyArn: authority });
});

/** The analyst answering core with nothing but a patient id: the shortest classified content there is. */
const answer = (plaintext: string) =>
  prepareMessage({ topology, cipher, from: 'analyst', to: 'core', kind: 'result', label: label('SECRET', ['MEDICAL']), commandId: randomUUID(), principal: 'alice', plaintext });

test("an envelope's contentDigest does not reveal a short plaintext", async () => {
  const message = await answer('P-4821');
  // Everything a reader of the queue (or of the ledger's message entries) sees beside the digest, each tried as a key.
  expect(recover(message.contentDigest, PATIENT_IDS, (id) => [id], visibleValues(message))).toEqual([]);
  // The addressee opens it, and the digest checks against the salt sealed inside.
  const received = await receiveMessage(JSON.stringify(message), { self: 'core', topology, cipher, singleUse, verifier });
  expect(received.plaintext.toString('utf8')).toBe('P-4821');
  expect(recover(message.contentDigest, PATIENT_IDS, (id) => [id], [received.salt])).toEqual(['P-4821']);
});

test('two envelopes of the same plaintext carry unlinkable content digests', async () => {
  const [a, b] = [await answer('P-4821'), await answer('P-4821')];
  expect(a.contentDigest).not.toBe(b.contentDigest);
});
