import { DynamoDBStreamsClient } from '@aws-sdk/client-dynamodb-streams';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { changesOf } from '../../functions/handlers/sequencer';
import { Sequencer } from '../../functions/kernel/ledger/sequencer';
import { awsClientConfig } from '../../functions/platform/aws-clients';
import { DynamoDbStreamSource } from '../../localstack/dynamodb-stream-source';
import { streamArnOf } from '../../localstack/provision-tables';
import { documentClient, dynamo, emulatorEndpoint } from './aws';

/** Every sequencer a test file started, stopped after it. */
const started: DynamoDbStreamSource[] = [];
afterAll(async () => {
  await Promise.all(started.splice(0).map((s) => s.stop()));
});

export interface TestSequencer {
  readonly source: DynamoDbStreamSource;
  /** Resolves once every entry appended so far is sealed into the log. */
  sealed(): Promise<void>;
}

/**
 * The sequencer over a ledger table's stream, as the local cloud runs it, for fixtures that drive writers of pending
 * entries (agents, the API, the signer) and read the sealed log. It asks for no tree heads, so tests count checkpoints.
 */
export async function startTestSequencer(tableName: string, doc: DynamoDBDocumentClient = documentClient()): Promise<TestSequencer> {
  const sequencer = new Sequencer({ doc, tableName, actor: 'sequencer', signer: 'signer' });
  const source = new DynamoDbStreamSource({
    streams: new DynamoDBStreamsClient(awsClientConfig({ endpoint: emulatorEndpoint() })),
    streamArn: await streamArnOf(dynamo(), tableName),
    handler: (event) => sequencer.sequence(changesOf(event)),
  });
  await source.start();
  started.push(source);
  return { source, sealed: () => source.settled() };
}
