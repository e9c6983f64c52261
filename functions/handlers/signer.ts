import { Logger } from '@aws-lambda-powertools/logger';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import middy from '@middy/core';
import { awsClientConfigFrom, createAwsClients } from '../kernel/aws';
import { SignerDecision } from '../kernel/directive-request';
import { deliverToQueue } from '../kernel/directive-delivery';
import { EnvelopeCipher } from '../kernel/envelope-encryption';
import { readEnvironment, tableName } from '../kernel/environment';
import { LedgerWriter } from '../kernel/ledger';
import { Signer } from '../kernel/signer';
import { isResumeEvent } from '../kernel/signer-client';
import { loadTopology } from '../kernel/topology';

/**
 * The signer function (DESIGN §5): invoked synchronously with a directive request, or with `{resume: requestId}`
 * once approvals are recorded. Deterministic, no model: it parses, lets the kernel's `Signer` decide, answers.
 */

const logger = new Logger({ serviceName: 'agentsec-signer' });

/** Built once per container from the environment and the topology the bundle was deployed with. */
export function signerFromEnvironment(env: NodeJS.ProcessEnv = process.env): Signer {
  const vars = readEnvironment(env);
  const topology = loadTopology(env.AGENTSEC_CONFIG);
  const { kms, sqs, doc } = createAwsClients(awsClientConfigFrom(env));
  const ledger = new LedgerWriter({ doc, tableName: tableName(vars, 'ledger') });
  return new Signer({
    topology,
    kms,
    authorityKeyArn: vars.AGENTSEC_AUTHORITY_KEY_ARN,
    doc,
    tables: { commands: tableName(vars, 'commands'), approvals: tableName(vars, 'approvals') },
    ledger,
    deliver: deliverToQueue({
      topology,
      cipher: new EnvelopeCipher({ kms, keyArns: vars.AGENTSEC_KEY_ARNS as never }),
      sqs,
      queueUrls: vars.AGENTSEC_QUEUE_URLS,
      ledger,
    }),
  });
}

let signer: Signer | undefined;

/** The handler's body, with the signer it uses given (tests and the local cloud pass their own). */
export async function decideDirectiveEvent(event: unknown, using: Signer = (signer ??= signerFromEnvironment())): Promise<SignerDecision> {
  const decision = isResumeEvent(event) ? await using.resume(event.resume) : await using.request(event);
  logger.info('directive decision', {
    status: decision.status,
    requestId: decision.requestId,
    ...(decision.status === 'denied' ? { reason: decision.reason } : {}),
    ...(decision.status === 'signed' ? { directiveId: decision.directive.claims.id } : {}),
  });
  return decision;
}

export const handler = middy((event: unknown) => decideDirectiveEvent(event)).use(injectLambdaContext(logger));
