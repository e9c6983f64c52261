import { Logger } from '@aws-lambda-powertools/logger';
import { awsClientConfigFrom, createAwsClients } from '../platform/aws-clients';
import { DirectiveVerifier } from '../kernel/directives/verify';
import { EnvelopeCipher } from '../kernel/messages/envelope-cipher';
import { PendingLedgerWriter } from '../kernel/ledger/pending';
import { EFFECT_GATEWAY } from '../effects/protocol';
import { Topology, loadTopology } from '../kernel/topology/topology';
import { readEnvironment, tableName } from '../platform/environment';
import { once } from '../platform/once';
import { Outbox } from '../stores/outbox';
import { EffectGateway } from '../effects/gateway';
import { EffectSender, LogSender, MailboxFileSender } from '../effects/senders';
import type { EffectAnswer } from '../effects/protocol';
import { serviceNameOf } from '../platform/metrics';
import { observed } from './observed';

/**
 * The effect gateway function (DESIGN §5): invoked synchronously by agents with a request sealed as themselves; the
 * only writer of the outbox. Thin: it builds the gateway once per container and hands it each event.
 */

const logger = new Logger({ serviceName: serviceNameOf(EFFECT_GATEWAY) });

/**
 * The gateway from the environment. It dispatches through `sender` when given (the local cloud's mailbox), to the
 * file `AGENTSEC_MAILBOX_FILE` names when set, else as one log line per effect.
 */
export function effectGatewayFromEnvironment(
  env: NodeJS.ProcessEnv = process.env,
  topology: Topology = loadTopology(env.AGENTSEC_CONFIG),
  sender: EffectSender = env.AGENTSEC_MAILBOX_FILE ? new MailboxFileSender(env.AGENTSEC_MAILBOX_FILE) : new LogSender((message, fields) => logger.info(message, fields)),
): EffectGateway {
  const vars = readEnvironment(env);
  const { kms, doc } = createAwsClients(awsClientConfigFrom(env));
  return new EffectGateway({
    topology,
    cipher: new EnvelopeCipher({ kms, keyArns: vars.AGENTSEC_KEY_ARNS as never }),
    verifier: new DirectiveVerifier({ kms, authorityKeyArn: vars.AGENTSEC_AUTHORITY_KEY_ARN }),
    outbox: new Outbox(doc, tableName(vars, 'outbox')),
    ledger: new PendingLedgerWriter({ doc, tableName: tableName(vars, 'ledger'), writer: EFFECT_GATEWAY }),
    sender,
  });
}

const containerGateway = once(() => effectGatewayFromEnvironment());

export async function handleEffectEvent(event: unknown, using: EffectGateway = containerGateway()): Promise<EffectAnswer> {
  const answer = await using.receive(event);
  logger.info('effect request', { status: answer.status, ...(answer.status === 'refused' ? { reason: answer.reason } : {}) });
  return answer;
}

export const handler = observed((event: unknown) => handleEffectEvent(event), logger);
