import { SQSClient } from '@aws-sdk/client-sqs';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { PutCommand } from '@aws-sdk/lib-dynamodb';
import { awsClientConfig, createAwsClients } from '../../functions/platform/aws-clients';
import { KERNEL_AGENT } from '../../functions/kernel/flow/edges';
import { Topology } from '../../functions/kernel/topology/topology';
import { HttpApiHandler, startHttpApi } from '../../localstack/http-api';
import { ensureAgentQueues } from '../../localstack/provision-queues';
import { ensureTables } from '../../localstack/provision-tables';
import { hospitalRecords } from '../../localstack/fixtures/patient-records';
import { SqsEventSource } from '../../localstack/sqs-event-source';
import { PLAIN_READER, PlainCore, PlainEffector, plainBatchHandler } from './plain-agents';
import { PLAIN_API_ROUTES, plainApiHandler } from './plain-api';

export interface PlainCloudOptions {
  /** The emulator the secure cloud runs on: the baseline uses the same one. */
  readonly endpoint: string;
  readonly topology: Topology;
  /** The offline model server the secure cloud's agents use. */
  readonly modelUrl: string;
  /** Names the baseline's queues and tables, next to the secure cloud's. */
  readonly prefix: string;
  readonly logger?: Pick<Console, 'error' | 'warn'>;
}

export interface PlainCloud {
  readonly apiUrl: string;
  /** The ledger table the baseline never writes: the ledger benchmark's own chains go there. */
  readonly ledgerTable: string;
  stop(): Promise<void>;
}

/**
 * The security-off baseline, on the secure cloud's emulator: queues and tables provisioned by the same code
 * (same attributes), each agent behind an in-process SQS event source with the topology's batch size and
 * concurrency, and an HTTP API without an authorizer.
 */
export async function startPlainCloud(options: PlainCloudOptions): Promise<PlainCloud> {
  const { topology } = options;
  const config = awsClientConfig({ endpoint: options.endpoint });
  const admin = { sqs: new SQSClient(config), dynamo: new DynamoDBClient(config) };
  const [queues, tables] = await Promise.all([
    ensureAgentQueues(admin.sqs, {
      prefix: options.prefix,
      agents: topology.agentNames(),
      maxReceiveCount: topology.runtime.maxReceiveCount,
      failedMaxReceiveCount: topology.runtime.failedMaxReceiveCount,
      visibilityTimeoutSeconds: topology.runtime.visibilityTimeoutSeconds,
      retentionDays: topology.runtime.messageRetentionDays,
    }),
    ensureTables(admin.dynamo, options.prefix),
  ]);
  // The hospital's records, in clear: the baseline's counterpart of the sealed records table.
  const seeder = createAwsClients(config).doc;
  await Promise.all(
    hospitalRecords().map((r) => seeder.send(new PutCommand({ TableName: tables.records, Item: { reader: PLAIN_READER, recordId: r.recordId, body: JSON.stringify(r.body) } }))),
  );
  seeder.destroy();
  admin.dynamo.destroy();

  const sources = topology.agentNames().map((name) => {
    const { sqs, doc } = createAwsClients(config);
    const props = { name, topology, sqs, doc, commandsTable: tables.commands, recordsTable: tables.records, queueUrls: queues.queues, modelUrl: options.modelUrl };
    const agent = name === KERNEL_AGENT ? new PlainCore(props) : new PlainEffector(props);
    const self = topology.agent(name);
    const visibility = topology.runtime.visibilityTimeoutSeconds;
    return new SqsEventSource({
      sqs: admin.sqs,
      queueUrl: queues.queues[name],
      functionName: `plain-${name}`,
      handler: plainBatchHandler(agent.handle),
      batchSize: self.batchSize,
      maxConcurrency: self.maxConcurrency,
      visibilityTimeoutSeconds: visibility,
      timeoutSeconds: Math.min(self.timeoutSeconds, visibility),
      ...(options.logger ? { logger: options.logger } : {}),
    });
  });
  await Promise.all(sources.map((s) => s.start()));

  const { sqs, doc } = createAwsClients(config);
  const handler = plainApiHandler({ sqs, doc, commandsTable: tables.commands, coreQueueUrl: queues.queues[KERNEL_AGENT] }) as unknown as HttpApiHandler;
  const api = await startHttpApi({
    handler,
    routes: PLAIN_API_ROUTES,
    verifier: { verify: () => Promise.reject(new Error('the baseline has no authorizer')) },
    functionName: 'plain-api',
    ...(options.logger ? { logger: options.logger } : {}),
  });

  return {
    apiUrl: api.url,
    ledgerTable: tables.ledger,
    stop: async () => {
      await api.close();
      await Promise.all(sources.map((s) => s.stop()));
      admin.sqs.destroy();
    },
  };
}
