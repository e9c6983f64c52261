import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { KMSClient } from '@aws-sdk/client-kms';
import { SQSClient } from '@aws-sdk/client-sqs';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';

/**
 * Client configuration shared by every AWS SDK client the kernel makes. On AWS nothing is set and the SDK's
 * defaults apply; on one machine `AGENTSEC_AWS_ENDPOINT` points every client at the emulator.
 */
export interface AwsClientConfig {
  region: string;
  endpoint?: string;
  credentials?: { accessKeyId: string; secretAccessKey: string };
  maxAttempts?: number;
}

export function awsClientConfig(overrides: Partial<AwsClientConfig> = {}): AwsClientConfig {
  // Only defined overrides count: `{region: undefined}` must not erase the default.
  overrides = Object.fromEntries(Object.entries(overrides).filter(([, v]) => v !== undefined)) as Partial<AwsClientConfig>;
  const endpoint = overrides.endpoint ?? process.env.AGENTSEC_AWS_ENDPOINT;
  const region = overrides.region ?? process.env.AWS_REGION ?? process.env.AWS_DEFAULT_REGION ?? 'us-east-1';
  const config: AwsClientConfig = { region, ...overrides };
  if (endpoint) {
    config.endpoint = endpoint;
    // The emulator accepts any credentials; explicit ones keep the SDK from searching the machine for a profile.
    config.credentials ??= {
      accessKeyId: process.env.AWS_ACCESS_KEY_ID ?? 'test',
      secretAccessKey: process.env.AWS_SECRET_ACCESS_KEY ?? 'test',
    };
  }
  return config;
}


/** The client configuration a function's environment asks for (its emulator endpoint and region, when set). */
export function awsClientConfigFrom(env: NodeJS.ProcessEnv): AwsClientConfig {
  return awsClientConfig({ endpoint: env.AGENTSEC_AWS_ENDPOINT || undefined, region: env.AWS_REGION || undefined });
}

/** Anything with an SDK middleware stack: every AWS SDK v3 client. */
export type InstrumentableClient = KMSClient | SQSClient | DynamoDBClient;
export type ClientInstrument = (client: InstrumentableClient, service: 'kms' | 'sqs' | 'dynamodb') => void;

const instruments = new Set<ClientInstrument>();

/**
 * Adds SDK middleware to every client the kernel creates from now on (counting KMS calls in the benchmark,
 * injecting throttling in fault tests). Nothing registers one in a deployment. Returns the removal.
 */
export function instrumentClients(instrument: ClientInstrument): () => void {
  instruments.add(instrument);
  return () => instruments.delete(instrument);
}

/** The AWS clients of one function, built from one configuration. */
export interface AwsClients {
  readonly kms: KMSClient;
  readonly sqs: SQSClient;
  readonly dynamo: DynamoDBClient;
  /** Document client with the default unmarshalling (numbers as numbers), dropping undefined attributes. */
  readonly doc: DynamoDBDocumentClient;
}

export function createAwsClients(config: AwsClientConfig = awsClientConfig()): AwsClients {
  const kms = new KMSClient(config);
  const sqs = new SQSClient(config);
  const dynamo = new DynamoDBClient(config);
  for (const instrument of instruments) {
    instrument(kms, 'kms');
    instrument(sqs, 'sqs');
    instrument(dynamo, 'dynamodb');
  }
  const doc = DynamoDBDocumentClient.from(dynamo, { marshallOptions: { removeUndefinedValues: true } });
  return { kms, sqs, dynamo, doc };
}
