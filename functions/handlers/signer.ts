import { Logger } from '@aws-lambda-powertools/logger';
import { awsClientConfigFrom, createAwsClients } from '../platform/aws-clients';
import { CheckpointOutcome } from '../kernel/ledger/checkpoints';
import { SignerDecision } from '../kernel/directives/request';
import { deliverToQueue } from '../signer/directive-delivery';
import { EnvelopeCipher } from '../kernel/messages/envelope-cipher';
import { RecentPlaintexts } from '../kernel/messages/recent-plaintexts';
import { readEnvironment, tableName } from '../platform/environment';
import { LedgerWriter } from '../kernel/ledger/ledger';
import { PendingLedgerWriter } from '../kernel/ledger/pending';
import { SIGNER_ACTOR } from '../signer/signer';
import { Signer } from '../signer/signer';
import { isCheckpointEvent, isPasskeyEvent, isResumeEvent, isVoteEvent } from '../signer/signer-client';
import { PasskeyAnswer, VoteAnswer } from '../signer/votes';
import { relyingPartyOf } from '../signer/passkeys';
import { Topology, loadTopology } from '../kernel/topology/topology';
import { once } from '../platform/once';
import { serviceNameOf } from '../platform/metrics';
import { observed } from './observed';

/**
 * The signer function (DESIGN §5): invoked synchronously with a directive request sealed by its requester, with
 * `{vote: sealed}` when the API forwards a human's vote, `{passkey: sealed}` when it forwards an approver's passkey, or with `{resume: requestId}`; and with `{checkpoint: true}` on a schedule or `{checkpoint: 'force'}` on demand to
 * sign a ledger checkpoint (DESIGN §7). Deterministic, no model: it parses, lets the kernel's `Signer` decide, answers.
 */

const logger = new Logger({ serviceName: serviceNameOf(SIGNER_ACTOR) });

/**
 * Built once per container from the environment and the topology the bundle was deployed with (the local cloud
 * passes the topology it runs).
 */
export function signerFromEnvironment(env: NodeJS.ProcessEnv = process.env, topology: Topology = loadTopology(env.AGENTSEC_CONFIG)): Signer {
  const vars = readEnvironment(env);
  const { kms, sqs, doc } = createAwsClients(awsClientConfigFrom(env));
  const ledger = new PendingLedgerWriter({ doc, tableName: tableName(vars, 'ledger'), writer: SIGNER_ACTOR });
  // A command's intent is reopened for each of its high-priority requests: within a minute, without KMS.
  const cipher = new EnvelopeCipher({ kms, keyArns: vars.AGENTSEC_KEY_ARNS as never, recent: new RecentPlaintexts() });
  return new Signer({
    topology,
    kms,
    authorityKeyArn: vars.AGENTSEC_AUTHORITY_KEY_ARN,
    doc,
    tables: { commands: tableName(vars, 'commands'), approvals: tableName(vars, 'approvals'), ledger: tableName(vars, 'ledger') },
    ledger,
    checkpointLog: new LedgerWriter({ doc, tableName: tableName(vars, 'ledger') }),
    cipher,
    ...(vars.AGENTSEC_CONSOLE_ORIGIN ? { relyingParty: relyingPartyOf(vars.AGENTSEC_CONSOLE_ORIGIN) } : {}),
    deliver: deliverToQueue({
      topology,
      cipher,
      sqs,
      queueUrls: vars.AGENTSEC_QUEUE_URLS,
      ledger,
    }),
  });
}

/** The signer of this container, built on the first invocation. */
const containerSigner = once(() => signerFromEnvironment());

/** The handler's body, with the signer it uses given (tests and the local cloud pass their own). */
export async function handleSignerEvent(event: unknown, using: Signer = containerSigner()): Promise<SignerDecision | CheckpointOutcome | VoteAnswer | PasskeyAnswer> {
  if (isCheckpointEvent(event)) return checkpointEvent(event.checkpoint === 'force', using);
  if (isVoteEvent(event)) return voteEvent(event.vote, using);
  if (isPasskeyEvent(event)) return passkeyEvent(event.passkey, using);
  return decideDirectiveEvent(event, using);
}

async function voteEvent(sealed: unknown, using: Signer): Promise<VoteAnswer> {
  const answer = await using.vote(sealed);
  logger.info('vote', { status: answer.status, ...(answer.status === 'refused' ? { code: answer.code } : { outcome: answer.outcome }) });
  return answer;
}

async function passkeyEvent(sealed: unknown, using: Signer): Promise<PasskeyAnswer> {
  const answer = await using.registerPasskey(sealed);
  logger.info('passkey registration', { status: answer.status, ...(answer.status === 'refused' ? { code: answer.code } : { username: answer.username }) });
  return answer;
}

async function checkpointEvent(force: boolean, using: Signer): Promise<CheckpointOutcome> {
  const outcome = await using.checkpoint(force);
  logger.info('ledger checkpoint', {
    status: outcome.status,
    force,
    ...(outcome.status === 'written' ? { seq: outcome.checkpoint.seq, entrySeq: outcome.entrySeq } : { head: outcome.head }),
  });
  return outcome;
}

/** A directive request (sealed by its requester) or a resume. */
export async function decideDirectiveEvent(event: unknown, using: Signer = containerSigner()): Promise<SignerDecision> {
  const decision = isResumeEvent(event) ? await using.resume(event.resume) : await using.receive(event);
  logger.info('directive decision', {
    status: decision.status,
    requestId: decision.requestId,
    ...(decision.status === 'denied' ? { reason: decision.reason } : {}),
    ...(decision.status === 'signed' ? { directiveId: decision.directive.claims.id } : {}),
  });
  return decision;
}

export const handler = observed((event: unknown) => handleSignerEvent(event), logger);
