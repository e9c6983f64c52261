import { randomUUID } from 'node:crypto';
import { releasedContentDigest, releasedTask } from '../../functions/kernel/flow/declassify';
import { CreateTableCommand, KeyType, ScalarAttributeType } from '@aws-sdk/client-dynamodb';
import { PutCommand, GetCommand } from '@aws-sdk/lib-dynamodb';
import { DirectiveVerifier } from '../../functions/kernel/directives/verify';
import { DirectiveRequestInput, SignerDecision } from '../../functions/kernel/directives/request';
import { EnvelopeCipher } from '../../functions/kernel/messages/envelope-cipher';
import { AllowEntry, toCapabilities } from '../../functions/kernel/directives/capabilities';
import { SealedIntent, sealIntent } from '../../functions/kernel/directives/intent';
import { sealRequest } from '../../functions/kernel/messages/sealed-request';
import { LedgerEntry } from '../../functions/kernel/ledger/entry';
import { LedgerReader, LedgerWriter } from '../../functions/kernel/ledger/ledger';
import { Label, formatLabel, label } from '../../functions/kernel/labels';
import { DirectiveDelivery, Signer } from '../../functions/signer/signer';
import { TABLES } from '../../functions/kernel/tables';
import { loadTopology } from '../../functions/kernel/topology/topology';
import { createLevelKeys, createSigningKey, createTable, documentClient, dynamo, kms, unique } from '../support/aws';
import { newDigestSalt } from '../../functions/kernel/keyed-digest';
import { relyingPartyOf } from '../../functions/signer/passkeys';
import { SoftwareAuthenticator } from '../../localstack/software-authenticator';
import { registrationChallenge, voteChallenge } from '../../functions/kernel/directives/passkey-challenge';
import type { VoteAnswer } from '../../functions/signer/votes';

/** The console origin the fixture's signer takes passkeys from. */
export const CONSOLE_ORIGIN = 'http://localhost:4173';

/** The approvals table: a string sort key, which `createTable` (numeric sort keys) does not make. */
async function createApprovalsTable(name: string): Promise<string> {
  const { partitionKey, sortKey } = TABLES.approvals;
  await dynamo().send(
    new CreateTableCommand({
      TableName: name,
      BillingMode: 'PAY_PER_REQUEST',
      AttributeDefinitions: [
        { AttributeName: partitionKey, AttributeType: ScalarAttributeType.S },
        { AttributeName: sortKey.name, AttributeType: ScalarAttributeType.S },
      ],
      KeySchema: [
        { AttributeName: partitionKey, KeyType: KeyType.HASH },
        { AttributeName: sortKey.name, KeyType: KeyType.RANGE },
      ],
    }),
  );
  return name;
}

export interface CommandFixture {
  /** @default a fresh UUID */
  commandId?: string;
  owner?: string;
  ownerClearance?: Label;
  label?: Label;
  allow?: AllowEntry[];
  /** The user's text, sealed in the intent the signer reads target-like arguments from. @default one naming P-1001, P-1003 and visitors@example.org */
  text?: string;
  declassifyTo?: string;
  status?: string;
  /** The intent as stored; `null` stores none. @default sealed by the API from `text` and `allow` */
  intent?: SealedIntent | null;
}

/** The default command text: it names the patients and the recipient the fixtures' requests use. */
export const FIXTURE_TEXT = 'Book P-1001, prescribe amoxicillin-secret-dose for P-1001, and email visitors@example.org.';

/** Real tables, a real authority key and a real ledger on the emulator; one set per test file. */
export async function signerFixture() {
  const topology = loadTopology();
  const client = kms();
  const doc = documentClient();
  const [authorityKeyArn, keyArns, commands, approvals, ledgerTable] = await Promise.all([
    createSigningKey(client),
    createLevelKeys(client),
    createTable(unique('commands'), TABLES.commands.partitionKey),
    createApprovalsTable(unique('approvals')),
    createTable(unique('ledger'), TABLES.ledger.partitionKey, TABLES.ledger.sortKey.name),
  ]);
  const ledger = new LedgerWriter({ doc, tableName: ledgerTable });
  const delivered: { requestId: string; directiveId: string }[] = [];
  let failDelivery = false;
  const deliver: DirectiveDelivery = async (request, directive) => {
    if (failDelivery) throw new Error('queue unavailable');
    delivered.push({ requestId: request.requestId, directiveId: directive.claims.id });
  };
  const cipher = new EnvelopeCipher({ kms: client, keyArns });
  const makeSigner = (now?: () => number) =>
    new Signer({
      topology,
      kms: client,
      authorityKeyArn,
      doc,
      tables: { commands, approvals, ledger: ledgerTable },
      ledger,
      cipher,
      deliver,
      now,
      relyingParty: relyingPartyOf(CONSOLE_ORIGIN),
    });
  const signer = makeSigner();
  const verifier = (now?: () => number) => new DirectiveVerifier({ kms: client, authorityKeyArn, now });

  /** Stores a command as the API would, returning its id. */
  async function putCommand(c: CommandFixture = {}): Promise<string> {
    const commandId = c.commandId ?? randomUUID();
    const commandLabel = c.label ?? label('CONFIDENTIAL');
    const intent =
      c.intent === null
        ? undefined
        : (c.intent ??
          (await sealIntent(cipher, commandId, commandLabel, {
            owner: c.owner ?? 'alice',
            text: c.text ?? FIXTURE_TEXT,
            allow: toCapabilities(c.allow ?? []),
            ...(c.declassifyTo ? { declassifyTo: c.declassifyTo } : {}),
          })));
    await doc.send(
      new PutCommand({
        TableName: commands,
        Item: {
          commandId,
          owner: c.owner ?? 'alice',
          ownerClearance: formatLabel(c.ownerClearance ?? label('TOP_SECRET', ['FINANCE', 'MEDICAL'])),
          label: formatLabel(commandLabel),
          allow: c.allow ?? [],
          ...(intent ? { intent } : {}),
          ...(c.declassifyTo ? { declassifyTo: c.declassifyTo } : {}),
          status: c.status ?? 'running',
          textCiphertext: 'AAAA',
          textMessageId: randomUUID(),
          createdAt: new Date().toISOString(),
          updatedAt: new Date().toISOString(),
        },
      }),
    );
    return commandId;
  }

  async function commandStatus(commandId: string): Promise<string> {
    const out = await doc.send(new GetCommand({ TableName: commands, Key: { commandId }, ConsistentRead: true }));
    return out.Item?.status as string;
  }

  /** Every ledger entry about one command, oldest first. */
  async function entriesFor(commandId: string): Promise<LedgerEntry[]> {
    const all = await new LedgerReader({ doc, tableName: ledgerTable }).readAll();
    return all.filter((e) => e.commandId === commandId);
  }

  /** `req` sealed by its requester, as its agent's runtime sends it (DESIGN §5). */
  const seal = (req: DirectiveRequestInput, from = req.requester) =>
    sealRequest(cipher, { from, to: 'signer', label: topology.agent(from).clearance, requestId: req.requestId, commandId: req.commandId, body: req });

  /** `body` sealed as the API forwards votes and passkey registrations to the signer. */
  const fromApi = (body: object, requestId: string, commandId = requestId) =>
    sealRequest(cipher, { from: 'api', to: 'signer', label: label('UNCLASSIFIED'), requestId, commandId, body });

  const authenticators = new Map<string, SoftwareAuthenticator>();
  /** The approver's passkey, registered through the signer (as the API forwards it) on first use. */
  async function passkeyOf(username: string): Promise<SoftwareAuthenticator> {
    const known = authenticators.get(username);
    if (known) return known;
    const key = new SoftwareAuthenticator(CONSOLE_ORIGIN);
    const response = key.register({
      challenge: registrationChallenge(username),
      rp: { name: 'AgentSec', id: 'localhost' },
      user: { id: Buffer.from(username).toString('base64url'), name: username, displayName: username },
      pubKeyCredParams: [{ type: 'public-key', alg: -7 }],
    });
    const answer = await signer.registerPasskey(await fromApi({ kind: 'passkey-registration', username, response }, randomUUID()));
    if (answer.status !== 'registered') throw new Error(`passkey of ${username} not registered: ${answer.code}`);
    authenticators.set(username, key);
    return key;
  }

  /**
   * `approver`'s vote on a stored request as the API forwards it: an approval signed with their passkey unless
   * `passkey: false`, at their topology clearance unless `clearance` says otherwise.
   */
  async function castVote(
    requestId: string,
    approver: string,
    { decision = 'approve', passkey = decision === 'approve', clearance, digest }: { decision?: 'approve' | 'reject'; passkey?: boolean; clearance?: string; digest?: string } = {},
  ): Promise<VoteAnswer> {
    const { request } = await signer.approvals.load(requestId);
    if (!request) throw new Error(`no request ${requestId}`);
    const held = clearance ?? formatLabel(topology.users.find((u) => u.username === approver)?.clearance ?? label('UNCLASSIFIED'));
    const signed = { requestId, commandId: request.commandId, digest: request.argsDigest ?? request.contentDigest ?? '', decision };
    const assertion = passkey ? (await passkeyOf(approver)).sign({ challenge: voteChallenge(signed), rpId: 'localhost' }) : undefined;
    const body = { kind: 'vote', requestId, commandId: request.commandId, approver, clearance: held, decision, ...(digest ? { digest } : {}), ...(assertion ? { passkey: assertion } : {}) };
    return signer.vote(await fromApi(body, requestId, request.commandId));
  }

  return {
    topology,
    doc,
    seal,
    fromApi,
    passkeyOf,
    castVote,
    kms: client,
    authorityKeyArn,
    keyArns,
    cipher,
    tables: { commands, approvals, ledger: ledgerTable },
    ledger,
    signer,
    makeSigner,
    verifier,
    putCommand,
    commandStatus,
    entriesFor,
    delivered,
    setDeliveryFailing: (v: boolean) => void (failDelivery = v),
  };
}

export type SignerFixture = Awaited<ReturnType<typeof signerFixture>>;

/**
 * The signer's decision on `req`, its requester authenticated as the one it names: the policy tests start after
 * authentication, which test/signer/authentication.test.ts covers through sealed requests.
 */
export function decide(signer: Signer, req: object): Promise<SignerDecision> {
  return signer.request(req, (req as { requester?: string }).requester ?? '');
}

/** A scheduler booking under `commandId`: a high tool. */
export function scheduleRequest(commandId: string, overrides: Partial<Record<string, unknown>> = {}): DirectiveRequestInput {
  return {
    requestId: randomUUID(),
    kind: 'tool',
    requester: 'scheduler',
    commandId,
    target: 'scheduler',
    tool: 'schedule_appointment',
    args: { patientId: 'P-1001', when: '2031-04-01T09:00:00Z', department: 'Cardiology' },
    argsSalt: newDigestSalt(),
    label: label('CONFIDENTIAL'),
    ...overrides,
  } as DirectiveRequestInput;
}

/** The analyst prescribing under `commandId`: a critical tool (2 approvals in the repository topology). */
export function prescribeRequest(commandId: string, overrides: Partial<Record<string, unknown>> = {}): DirectiveRequestInput {
  return {
    requestId: randomUUID(),
    kind: 'tool',
    requester: 'analyst',
    commandId,
    target: 'analyst',
    tool: 'prescribe',
    args: { patientId: 'P-1001', drug: 'amoxicillin-secret-dose', doseMg: 500 },
    argsSalt: newDigestSalt(),
    label: label('SECRET', ['MEDICAL']),
    ...overrides,
  } as DirectiveRequestInput;
}

/** Core lowering a redacted SECRET/MEDICAL task to CONFIDENTIAL for the scheduler. */
export function declassifyRequest(commandId: string, overrides: Partial<Record<string, unknown>> = {}): DirectiveRequestInput {
  return {
    requestId: randomUUID(),
    kind: 'declassify',
    requester: 'core',
    commandId,
    target: 'scheduler',
    contentDigest: 'a'.repeat(64),
    label: label('SECRET', ['MEDICAL']),
    declassifyTo: label('CONFIDENTIAL'),
    release: { path: 'free-text' },
    ...overrides,
  } as DirectiveRequestInput;
}

/**
 * Core releasing an appointment slot to the scheduler by the `appointment-slot` rule: the content is what the rule
 * builds from `fields`, and `contentDigest` its keyed digest. SECRET content lowered one level, no compartment dropped.
 */
export function ruleBuiltDeclassifyRequest(
  commandId: string,
  o: { fields?: Record<string, string>; content?: string; label?: Label; declassifyTo?: Label; rule?: string } = {},
): DirectiveRequestInput {
  const fields = o.fields ?? { department: 'Cardiology', date: '2031-04-01', time: '09:00' };
  const subtaskId = randomUUID();
  const salt = newDigestSalt();
  const rule = o.rule ?? 'appointment-slot';
  const content = o.content ?? `Is an appointment slot free in ${fields.department} on ${fields.date} at ${fields.time}?`;
  return {
    requestId: randomUUID(),
    kind: 'declassify',
    requester: 'core',
    commandId,
    target: 'scheduler',
    contentDigest: releasedContentDigest(releasedTask(subtaskId, content), salt),
    label: o.label ?? label('SECRET'),
    declassifyTo: o.declassifyTo ?? label('CONFIDENTIAL'),
    release: { path: 'rule', rule, fields, subtaskId, salt },
  } as DirectiveRequestInput;
}

/** The signer's ledger entries (what it decided), ignoring what others wrote about the command. */
export const signerEntries = (entries: LedgerEntry[]) => entries.filter((e) => e.actor === 'signer');
