import { Logger } from '@aws-lambda-powertools/logger';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import type { AttributeValue } from '@aws-sdk/client-dynamodb';
import type { DynamoDBStreamEvent } from 'aws-lambda';
import { awsClientConfigFrom, createAwsClients } from '../platform/aws-clients';
import { LedgerChange, SequenceOutcome, Sequencer } from '../kernel/ledger/sequencer';
import { MetricsSink, countSealed, serviceNameOf } from '../platform/metrics';
import { once } from '../platform/once';
import { LambdaSignerClient, SignerClient } from '../signer/signer-client';
import { SIGNER } from '../kernel/flow/edges';
import { observed } from './observed';

/**
 * The sequencer function (DESIGN §7): fed by the ledger table's stream, reserved concurrency 1, no model. It seals
 * each batch of pending entries into the log, then asks the signer for a signed tree head over it, so no entry stays
 * unvouched for longer than a batch. A batch that throws is delivered again; sealing is exactly once.
 */

/** The name the sequencer records its own entries (refusals, tampering) under. */
export const SEQUENCER_ACTOR = 'sequencer';

const logger = new Logger({ serviceName: serviceNameOf(SEQUENCER_ACTOR) });

/**
 * The stream batches the sequencer takes: up to `size` records, waiting up to `windowMs` on AWS (whole seconds: Lambda's
 * unit) and `localWindowMs` on one machine for a batch to fill. Each batch costs one signed tree head and a checkpoint,
 * so the window trades heads for latency: without one, the local sequencer signed a head for nearly every entry, and
 * its calls were a third of the emulator's load; with half a second, a head covers a command's entries a second or so
 * after they are written (`npm run bench`: `ledgerUnvouchedP50Ms`, docs/performance.md).
 */
export const SEQUENCER_BATCH = { size: 100, windowMs: 1000, localWindowMs: 500 } as const;

/** The ledger changes of a stream event, images unmarshalled (numbers as numbers, as the document client reads them). */
export function changesOf(event: DynamoDBStreamEvent): LedgerChange[] {
  return (event.Records ?? []).map((record) => {
    const d = record.dynamodb ?? {};
    const image = (i: unknown) => (i ? unmarshall(i as Record<string, AttributeValue>) : undefined);
    const keys = image(d.Keys) as { chain: string; seq: number };
    // Lambda gives epoch seconds; the SDK's GetRecords (the local event source) a Date.
    const created = d.ApproximateCreationDateTime as unknown;
    const writtenAt = typeof created === 'number' ? created * 1000 : created instanceof Date ? created.getTime() : undefined;
    return {
      eventName: record.eventName as LedgerChange['eventName'],
      sequenceNumber: String(d.SequenceNumber),
      keys,
      ...(writtenAt !== undefined && Number.isFinite(writtenAt) && { writtenAt }),
      ...(d.NewImage && { newImage: image(d.NewImage) }),
      ...(d.OldImage && { oldImage: image(d.OldImage) }),
    };
  });
}

export interface SequencerFunction {
  readonly sequencer: Sequencer;
  /** Signs a tree head over what a batch sealed. */
  readonly signer: Pick<SignerClient, 'checkpoint'>;
  /** How long a batch waits for its tree head. @default 10000 */
  readonly signerWaitMs?: number;
  /** Where what each batch seals is counted (refusals, tampering: lib/operations.ts alarms on them). @default this process's metrics */
  readonly metrics?: MetricsSink;
}

/** The sequencer from the environment: the ledger table and the signer function. */
export function sequencerFromEnvironment(env: NodeJS.ProcessEnv = process.env, signer?: Pick<SignerClient, 'checkpoint'>): SequencerFunction {
  const tableName = env.AGENTSEC_TABLE_LEDGER;
  if (!tableName) throw new Error('AgentSec environment is incomplete: AGENTSEC_TABLE_LEDGER is not set');
  const { doc } = createAwsClients(awsClientConfigFrom(env));
  return {
    sequencer: new Sequencer({ doc, tableName, actor: SEQUENCER_ACTOR, signer: SIGNER }),
    signer: signer ?? new LambdaSignerClient({ functionName: env.AGENTSEC_SIGNER_FUNCTION ?? '' }),
  };
}

const containerSequencer = once(() => sequencerFromEnvironment());

/**
 * How long a batch waits for its tree head. The entries are sealed already: a signer that does not answer (throttled
 * KMS, a dead invocation) only delays the head to the next batch, and must not hold the stream back.
 */
const SIGNER_WAIT_MS = 10_000;

/**
 * Seals the batch, then has the signer sign a head over it. A signer that fails leaves the entries sealed and the
 * next batch's head (or the scheduled checkpoint) vouches for them: the batch is not delivered again for it.
 */
export async function handleLedgerStream(event: DynamoDBStreamEvent, using: SequencerFunction = containerSequencer()): Promise<SequenceOutcome> {
  const outcome = await using.sequencer.sequence(changesOf(event));
  countSealed(outcome.entries, using.metrics);
  if (outcome.sealed + outcome.refused + outcome.tampered > 0) {
    const waitMs = using.signerWaitMs ?? SIGNER_WAIT_MS;
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`no answer within ${waitMs} ms`)), waitMs);
    });
    try {
      await Promise.race([using.signer.checkpoint(true), late]);
    } catch (err) {
      logger.error('tree head not signed; the next batch or the schedule will', { error: (err as Error).message });
    } finally {
      clearTimeout(timer);
    }
  }
  if (outcome.refused + outcome.tampered > 0) {
    const { sealed, refused, tampered, skipped, head } = outcome;
    logger.warn('ledger: pending entries refused or tampered', { sealed, refused, tampered, skipped, head });
  }
  return outcome;
}

export const handler = observed((event: DynamoDBStreamEvent) => handleLedgerStream(event), logger);
