/**
 * What a thousand commands cost on AWS, priced from the calls the benchmark counted (`CommandCost.sdk`, keyed
 * `service:Command[:table]`) and AWS's published on-demand prices for us-east-1. Requests only: the free tiers,
 * storage, data transfer and the model provider's tokens are left out, and Lambda compute is estimated from the
 * measured time per hop (see {@link LAMBDA}).
 */

/** Published prices, USD, us-east-1 (checked 2026-12). */
export const PRICES = {
  /** DynamoDB on-demand: per write request unit (item ≤ 1 KB; a transactional write is 2). */
  dynamodbWrite: 0.625 / 1e6,
  /** DynamoDB on-demand: per read request unit (strongly consistent, ≤ 4 KB; a query reads at least 1). */
  dynamodbRead: 0.125 / 1e6,
  /** KMS: per symmetric request (GenerateDataKey, Decrypt). */
  kmsSymmetric: 0.03 / 1e4,
  /** KMS: per asymmetric request other than RSA 2048 (the authority key's ECC Sign, Verify). */
  kmsAsymmetric: 0.15 / 1e4,
  /** SQS standard: per request (64 KB chunk). */
  sqs: 0.4 / 1e6,
  /** Lambda: per invocation. */
  lambdaRequest: 0.2 / 1e6,
  /** Lambda arm64: per GB-second. */
  lambdaGbSecond: 0.0000133334,
  /** API Gateway HTTP API: per request (first 300 million a month). */
  httpApi: 1.0 / 1e6,
} as const;

/** Lambda as the stack deploys it: 512 MB functions. */
export const LAMBDA = { memoryGb: 0.5 } as const;

export type SdkTally = Readonly<Record<string, { calls: number; failed: number; ms: number }>>;

export interface CostLine {
  readonly item: string;
  /** Requests per command. */
  readonly perCommand: number;
  readonly unitPrice: number;
  /** USD per 1,000 commands: perCommand × 1,000 × unitPrice. */
  readonly per1000: number;
}

export interface CostModel {
  readonly lines: readonly CostLine[];
  /** USD per 1,000 commands. */
  readonly per1000: number;
}

/** Items per TransactWriteItems call on the paths measured (a condition check and a put): each costs 2 WRU. */
const TRANSACT_ITEMS = 2;

const DYNAMO_WRITES = new Set(['PutItem', 'UpdateItem', 'DeleteItem', 'BatchWriteItem']);
const DYNAMO_READS = new Set(['GetItem', 'Query', 'Scan', 'BatchGetItem']);

/**
 * Prices one command's calls. `hops` is the number of function invocations a command takes (each SQS message a
 * Lambda invocation, plus the API's), and `msPerHop` the time each runs, for the compute estimate; SQS is charged
 * three requests per message sent (send, the event source's receive, its delete).
 */
export function costOf(sdk: SdkTally, { hops, msPerHop, apiRequests }: { hops: number; msPerHop: number; apiRequests: number }): CostModel {
  const sum = (pick: (service: string, command: string) => boolean) =>
    Object.entries(sdk).reduce((s, [key, v]) => {
      const [service, command] = key.split(':');
      return pick(service, command) ? s + v.calls : s;
    }, 0);
  const transactItems = sum((s, c) => s === 'dynamodb' && c === 'TransactWriteItems');
  const raw = [
    { item: 'DynamoDB writes (WRU)', perCommand: sum((s, c) => s === 'dynamodb' && DYNAMO_WRITES.has(c)) + 2 * TRANSACT_ITEMS * transactItems, unitPrice: PRICES.dynamodbWrite },
    { item: 'DynamoDB reads (RRU)', perCommand: sum((s, c) => s === 'dynamodb' && DYNAMO_READS.has(c)), unitPrice: PRICES.dynamodbRead },
    { item: 'KMS symmetric requests', perCommand: sum((s, c) => s === 'kms' && c !== 'Sign' && c !== 'Verify'), unitPrice: PRICES.kmsSymmetric },
    { item: 'KMS asymmetric requests (Sign)', perCommand: sum((s, c) => s === 'kms' && (c === 'Sign' || c === 'Verify')), unitPrice: PRICES.kmsAsymmetric },
    { item: 'SQS requests (send, receive, delete)', perCommand: 3 * sum((s, c) => s === 'sqs' && c === 'SendMessage'), unitPrice: PRICES.sqs },
    { item: 'Lambda invocations', perCommand: hops, unitPrice: PRICES.lambdaRequest },
    { item: 'Lambda compute (GB-s)', perCommand: (hops * msPerHop * LAMBDA.memoryGb) / 1000, unitPrice: PRICES.lambdaGbSecond },
    { item: 'HTTP API requests', perCommand: apiRequests, unitPrice: PRICES.httpApi },
  ];
  const lines = raw.map((l) => ({ ...l, per1000: l.perCommand * 1000 * l.unitPrice }));
  return { lines, per1000: lines.reduce((s, l) => s + l.per1000, 0) };
}
