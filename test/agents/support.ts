import { randomUUID } from 'node:crypto';
import { ReceiveMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, ScanCommand } from '@aws-sdk/lib-dynamodb';
import { awsClientConfig } from '../../functions/platform/aws-clients';
import { LedgerEntry } from '../../functions/kernel/ledger/entry';
import { LedgerReader } from '../../functions/kernel/ledger/ledger';
import type { Topology } from '../../functions/kernel/topology/topology';
import { ApiClient, CommandView } from '../../cli/api-client';
import { login } from '../../localstack/cognito';
import { LocalCloud, startLocalCloud } from '../../localstack/local-cloud';
import { SoftwarePasskeys } from '../../cli/software-passkeys';

/** A local cloud on the test emulator, with clients for its users, tables and queues. */
export class TestCloud {
  /** Approvers' passkeys, registered through the API on first use: `cloud.passkeys.approve('carol', requestId)`. */
  readonly passkeys: SoftwarePasskeys;

  private constructor(
    readonly cloud: LocalCloud,
    readonly doc: DynamoDBDocumentClient,
    readonly sqs: SQSClient,
  ) {
    this.passkeys = new SoftwarePasskeys(cloud.state.consoleUrl, (username) => this.as(username));
  }

  static async start(options: { compromised?: boolean; topology?: Topology } = {}): Promise<TestCloud> {
    const cloud = await startLocalCloud({
      prefix: `t${randomUUID().slice(0, 8)}`,
      stateFile: false,
      compromised: options.compromised,
      topology: options.topology,
      logger: { error: () => undefined, warn: () => undefined },
    });
    const config = awsClientConfig({ endpoint: cloud.state.endpoint });
    return new TestCloud(cloud, DynamoDBDocumentClient.from(new DynamoDBClient(config)), new SQSClient(config));
  }

  get state() {
    return this.cloud.state;
  }

  async as(username: string): Promise<ApiClient> {
    const user = this.state.users.find((u) => u.username === username)!;
    const { token } = await login({ endpoint: this.state.endpoint, userPoolClientId: this.state.userPoolClientId, username, password: user.password });
    return new ApiClient(this.state.apiUrl, token);
  }

  /** The sealed log (of one command), once the sequencer sealed everything appended so far. */
  async ledger(commandId?: string): Promise<LedgerEntry[]> {
    await this.cloud.ledgerSettled();
    const all = await new LedgerReader({ doc: this.doc, tableName: this.state.tables.ledger }).readAll();
    return commandId ? all.filter((e) => e.commandId === commandId) : all;
  }

  async outbox(): Promise<Array<Record<string, unknown>>> {
    const out = await this.doc.send(new ScanCommand({ TableName: this.state.tables.outbox }));
    return out.Items ?? [];
  }

  async deadLetters(agent: string): Promise<string[]> {
    const out = await this.sqs.send(new ReceiveMessageCommand({ QueueUrl: this.state.dlqs[agent], MaxNumberOfMessages: 10, WaitTimeSeconds: 1 }));
    return (out.Messages ?? []).map((m) => m.Body ?? '');
  }

  /** Waits until `predicate` holds for the command's ledger entries. */
  async ledgerUntil(commandId: string, predicate: (entries: LedgerEntry[]) => boolean, timeoutMs = 20_000): Promise<LedgerEntry[]> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const entries = await this.ledger(commandId);
      if (predicate(entries)) return entries;
      if (Date.now() > deadline) throw new Error(`ledger condition not met: ${JSON.stringify(entries.map((e) => [e.type, e.reason]))}`);
      await new Promise((r) => setTimeout(r, 200));
    }
  }

  async stop(): Promise<void> {
    this.doc.destroy();
    this.sqs.destroy();
    await this.cloud.stop();
  }
}

export const SECRET_MEDICAL = { level: 'SECRET', compartments: ['MEDICAL'] };
export const UNCLASSIFIED = { level: 'UNCLASSIFIED', compartments: [] };

export async function run(client: ApiClient, body: Parameters<ApiClient['submit']>[0], until?: (v: CommandView) => boolean): Promise<CommandView> {
  const { commandId } = await client.submit(body);
  return client.waitFor(commandId, { timeoutMs: 30_000, until });
}
