import { randomUUID } from 'node:crypto';
import { SQSClient } from '@aws-sdk/client-sqs';
import { DynamoDBDocumentClient, GetCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import { sendPlain } from './plain-message';

/**
 * The baseline's API function: `POST /v1/commands` records the command and queues it for core as plain JSON;
 * `GET /v1/commands/{id}` reads it back. No authorizer, no clearance check, no encryption, no ledger.
 */

export interface PlainApiProps {
  readonly sqs: SQSClient;
  readonly doc: DynamoDBDocumentClient;
  readonly commandsTable: string;
  readonly coreQueueUrl: string;
}

/** Who the baseline's commands belong to: it has no identities. */
const OWNER = 'alice';

export const PLAIN_API_ROUTES = [
  { method: 'POST', path: '/v1/commands', authorization: 'NONE' },
  { method: 'GET', path: '/v1/commands/{id}', authorization: 'NONE' },
] as const;

export function plainApiHandler(props: PlainApiProps) {
  return async (event: APIGatewayProxyEventV2) => {
    if (event.routeKey === 'POST /v1/commands') {
      const { text, classification } = JSON.parse(event.body ?? '{}') as { text: string; classification: { level: string } };
      const commandId = randomUUID();
      const now = new Date().toISOString();
      await props.doc.send(
        new PutCommand({ TableName: props.commandsTable, Item: { commandId, owner: OWNER, label: classification.level, status: 'queued', text, createdAt: now, updatedAt: now } }),
      );
      await sendPlain(props.sqs, props.coreQueueUrl, {
        from: 'api', to: 'core', kind: 'task', label: classification.level, commandId, principal: OWNER, body: { text },
      });
      return { statusCode: 202, body: JSON.stringify({ commandId }) };
    }
    const commandId = event.pathParameters?.id ?? '';
    const out = await props.doc.send(new GetCommand({ TableName: props.commandsTable, Key: { commandId } }));
    const item = out.Item as { status: string; label: string; result?: string } | undefined;
    if (!item) return { statusCode: 404, body: JSON.stringify({ message: 'not found' }) };
    return { statusCode: 200, body: JSON.stringify({ commandId, status: item.status, label: item.label, ...(item.result !== undefined ? { result: item.result } : {}) }) };
  };
}
