import { Duration, Tags } from 'aws-cdk-lib';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { Construct } from 'constructs';
import { SEQUENCER_ACTOR, SEQUENCER_BATCH } from '../functions/handlers/sequencer';
import { Actor } from './actor';
import { HandlerFunction } from './handler-function';
import { TAG } from './tags';

export interface SequencerProps {
  /** The ledger table; its stream (new and old images) feeds the sequencer. */
  readonly ledger: dynamodb.ITable;
  /** Stream records per invocation. @default SEQUENCER_BATCH.size */
  readonly batchSize?: number;
  /** Longest a record waits for its batch to fill: the floor of the unvouched window. @default SEQUENCER_BATCH.windowMs */
  readonly maxBatchingWindow?: Duration;
}

/**
 * The sequencer (DESIGN §7): deterministic code with no model, the only writer of the sealed log besides the
 * signer's checkpoints. One instance at a time (reserved concurrency 1), fed by the ledger table's stream from its
 * oldest record; a failed batch is retried until it succeeds, never skipped. Its role is tagged `agentsec:purpose` =
 * `sequencer`.
 */
export class Sequencer extends Construct implements Actor {
  readonly actorName = SEQUENCER_ACTOR;
  readonly handler: HandlerFunction;
  readonly role: iam.Role;

  constructor(scope: Construct, id: string, props: SequencerProps) {
    super(scope, id);
    this.handler = new HandlerFunction(this, 'Handler', {
      actorName: SEQUENCER_ACTOR,
      handler: 'sequencer',
      memoryMiB: 512,
      timeout: Duration.seconds(60),
      // One writer of the sealed log: two sequencers would race for sequence numbers and interleave batches.
      reservedConcurrency: 1,
      wildcardResourceReason:
        'dynamodb:ListStreams, which a stream event source needs, has none either; every other stream action names the ledger stream.',
    });
    this.role = this.handler.role;
    Tags.of(this.role).add(TAG.purpose, 'sequencer');
    if (!props.ledger.tableStreamArn) throw new Error('the ledger table has no stream');
    // A mapping without the grants `DynamoEventSource` adds (they include kms:Decrypt on the table key outside
    // DynamoDB): `DataTables.grantSequencing` grants the stream reads, and the key only through DynamoDB.
    this.handler.fn.addEventSourceMapping('LedgerStream', {
      eventSourceArn: props.ledger.tableStreamArn,
      startingPosition: lambda.StartingPosition.TRIM_HORIZON,
      batchSize: props.batchSize ?? SEQUENCER_BATCH.size,
      maxBatchingWindow: props.maxBatchingWindow ?? Duration.millis(SEQUENCER_BATCH.windowMs),
      // Never skip a record: a batch that fails is delivered again (sealing is exactly once), and never split.
      retryAttempts: -1,
      bisectBatchOnError: false,
      parallelizationFactor: 1,
    });
  }
}
