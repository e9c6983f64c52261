import { SendMessageCommand } from '@aws-sdk/client-sqs';
import { ApprovalStore } from '../stores/approvals';
import { awsClientConfigFrom, createAwsClients } from '../platform/aws-clients';
import { CheckpointAnchors } from '../kernel/ledger/checkpoint-anchor';
import { CheckpointSignatures } from '../kernel/ledger/checkpoints';
import { EnvelopeCipher } from '../kernel/messages/envelope-cipher';
import { AgentSecEnvironment, readEnvironment, tableName } from '../platform/environment';
import { LEVELS, Level, label } from '../kernel/labels';
import { sealRequest } from '../kernel/messages/sealed-request';
import { LedgerReader } from '../kernel/ledger/ledger';
import { LedgerAppender, PendingLedgerWriter } from '../kernel/ledger/pending';
import { KERNEL_AGENT, SIGNER } from '../kernel/flow/edges';
import { LambdaSignerClient, SignerClient } from '../signer/signer-client';
import { Topology, loadTopology } from '../kernel/topology/topology';
import { ApprovalService } from './approvals';
import { PasskeyService } from './passkeys';
import { PasskeyStore } from '../stores/passkeys';
import { relyingPartyOf } from '../signer/passkeys';
import { votesWithoutPasskeyAllowed } from '../signer/policy/approvals-are-signed-by-passkeys';
import { openShown } from '../kernel/directives/shown';
import { AuditService } from './audit';
import { CommandStore } from '../stores/commands';
import { API_PRINCIPAL, CommandService } from './commands';
import { IdempotencyKeys } from '../stores/idempotency-keys';
import { once } from '../platform/once';

/** What the routes of the API function call, built once per container. */
export interface ApiContext {
  readonly topology: Topology;
  readonly commands: CommandService;
  readonly approvals: ApprovalService;
  readonly passkeys: PasskeyService;
  readonly audit: AuditService;
  /** Where the API's own refusals go (a caller the topology does not let in). @default none */
  readonly ledger?: LedgerAppender;
}

export interface ApiContextOptions {
  /**
   * The function's environment (`functions/platform/environment.ts`); its `AGENTSEC_AWS_ENDPOINT` and
   * `AWS_REGION`, when set, point the AWS clients at the emulator.
   * @default process.env
   */
  readonly env?: NodeJS.ProcessEnv;
  /** @default loadTopology(env.AGENTSEC_CONFIG) */
  readonly topology?: Topology;
  /**
   * How the API reaches the signer: in-process in the local cloud.
   * @default a Lambda invoke of `AGENTSEC_SIGNER_FUNCTION`
   */
  readonly signer?: (env: AgentSecEnvironment, topology: Topology) => SignerClient;
  /** @default () => new Date() */
  readonly now?: () => Date;
}

function lambdaSigner(env: AgentSecEnvironment): SignerClient {
  return new LambdaSignerClient({ functionName: env.AGENTSEC_SIGNER_FUNCTION ?? '' });
}

/**
 * Builds the API's dependencies from an environment and a topology. A missing variable or queue stops the
 * function at start-up with its name, rather than failing open on the first request.
 *
 * @example
 * const ctx = createApiContext({ env: environmentFor(resources, { sendsTo: ['core'] }), signer: () => inProcess });
 */
export function createApiContext(options: ApiContextOptions = {}): ApiContext {
  const rawEnv = options.env ?? process.env;
  const env = readEnvironment(rawEnv);
  const topology = options.topology ?? loadTopology(rawEnv.AGENTSEC_CONFIG);
  const coreQueueUrl = env.AGENTSEC_QUEUE_URLS[KERNEL_AGENT];
  if (!coreQueueUrl) throw new Error(`AGENTSEC_QUEUE_URLS has no queue for "${KERNEL_AGENT}": the API sends commands only there`);

  const { kms, sqs, doc } = createAwsClients(awsClientConfigFrom(rawEnv));
  const ledgerTable = { doc, tableName: tableName(env, 'ledger') };
  const ledger = new PendingLedgerWriter({ ...ledgerTable, writer: API_PRINCIPAL });
  const approvalStore = new ApprovalStore({ doc, tableName: tableName(env, 'approvals'), topology, ledger });
  const now = options.now ?? (() => new Date());
  const signer = (options.signer ?? lambdaSigner)(env, topology);
  const cipher = new EnvelopeCipher({ kms, keyArns: env.AGENTSEC_KEY_ARNS as Record<Level, string> });
  const passkeyStore = new PasskeyStore(doc, tableName(env, 'approvals'));
  const commandStore = new CommandStore(doc, tableName(env, 'commands'));
  // Nothing classified in a registration: sealed at the lowest level, `from` the API, for the signer (DESIGN §5).
  const sealForSigner = (body: unknown, requestId: string, commandId: string) =>
    sealRequest(cipher, { from: API_PRINCIPAL, to: SIGNER, label: label(LEVELS[0]), requestId, commandId, body });
  const passkeys = new PasskeyService({
    passkeys: passkeyStore,
    signer,
    // A registration serves no command: its envelope names its own id as the command.
    seal: (registration, requestId) => sealForSigner(registration, requestId, requestId),
    ...(env.AGENTSEC_CONSOLE_ORIGIN ? { relyingParty: relyingPartyOf(env.AGENTSEC_CONSOLE_ORIGIN) } : {}),
  });

  return {
    topology,
    commands: new CommandService({
      pendingApprovals: () => approvalStore.listPending(),
      topology,
      cipher,
      commands: commandStore,
      idempotencyKeys: new IdempotencyKeys(doc, tableName(env, 'idempotency'), now),
      ledger,
      sendToCore: async (message) => {
        await sqs.send(new SendMessageCommand({ QueueUrl: coreQueueUrl, MessageBody: JSON.stringify(message) }));
      },
      now,
    }),
    approvals: new ApprovalService({
      approvals: approvalStore,
      signer,
      // Votes carry nothing classified: sealed at the lowest level, `from` the API, for the signer (DESIGN §5).
      openShown: (commandId, shownLabel, sealed) => openShown(cipher, commandId, shownLabel, sealed),
      sealVote: (vote) => sealForSigner(vote, vote.requestId, vote.commandId),
      passkeyOptions: async (approver) => {
        const passkey = await passkeyStore.load(approver);
        return (vote) => passkeys.voteOptions(passkey, vote);
      },
      passkeyRequired: (request) => !votesWithoutPasskeyAllowed(topology, request),
      ownerOf: async (commandId) => (await commandStore.get(commandId))?.owner,
    }),
    passkeys,
    ledger,
    // Checkpoints verify with the authority key, always: an unsigned checkpoint vouches for nothing (DESIGN §7).
    audit: new AuditService({
      reader: new LedgerReader(ledgerTable),
      anchors: new CheckpointAnchors(ledgerTable),
      signatures: () => CheckpointSignatures.forAuthority(kms, env.AGENTSEC_AUTHORITY_KEY_ARN),
      signer,
    }),
  };
}

/** The context of this container: built on the first request from `process.env` and the embedded topology. */
export const apiContext: () => ApiContext = once(() => createApiContext());
