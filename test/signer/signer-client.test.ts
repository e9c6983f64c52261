import { randomUUID } from 'node:crypto';
import { LambdaClient } from '@aws-sdk/client-lambda';
import { label } from '../../functions/kernel/labels';
import { InProcessSignerClient, LambdaSignerClient, SignerUnavailableError } from '../../functions/signer/signer-client';
import { createLambdaContext } from '../../localstack/lambda-runtime';
import { SignerFixture, prescribeRequest, scheduleRequest, signerFixture, decide } from './support';

let f: SignerFixture;
beforeAll(async () => {
  f = await signerFixture();
});

/**
 * A Lambda client whose transport is replaced by a canned answer (the emulator's Invoke needs Docker): it records
 * each serialized HTTP request and answers with `payload`, as the Lambda service would.
 */
function cannedLambda(payload: unknown, functionError?: string) {
  const lambda = new LambdaClient({ region: 'us-east-1', credentials: { accessKeyId: 'test', secretAccessKey: 'test' } });
  const requests: { path: string; headers: Record<string, string>; body: string }[] = [];
  lambda.middlewareStack.addRelativeTo(
    () => async (args: { request: unknown }) => {
      const request = args.request as { path: string; headers: Record<string, string>; body: Uint8Array | string };
      requests.push({ path: request.path, headers: request.headers, body: Buffer.from(request.body).toString('utf8') });
      return {
        response: {
          statusCode: 200,
          headers: { 'content-type': 'application/json', ...(functionError ? { 'x-amz-function-error': functionError } : {}) },
          body: Buffer.from(typeof payload === 'string' ? payload : JSON.stringify(payload)),
        },
        output: undefined as never,
      };
    },
    { relation: 'after', toMiddleware: 'deserializerMiddleware', name: 'cannedInvoke' },
  );
  return { lambda, requests };
}

describe('LambdaSignerClient', () => {
  it('invokes the signer function synchronously with the request and returns its decision', async () => {
    const commandId = await f.putCommand({ allow: ['schedule_appointment'] });
    const req = scheduleRequest(commandId);
    const answer = await decide(f.signer, req);
    const { lambda, requests } = cannedLambda(answer);
    const client = new LambdaSignerClient({ lambda, functionName: 'AgentSec-Signer' });
    const sealed = await f.seal(req);
    expect(await client.request(sealed)).toEqual(answer);
    expect(requests).toHaveLength(1);
    expect(requests[0].path).toBe('/2015-03-31/functions/AgentSec-Signer/invocations');
    expect(requests[0].headers['x-amz-invocation-type']).toBe('RequestResponse');
    expect(JSON.parse(requests[0].body)).toEqual(sealed);
  });

  it('sends a resume as {resume: requestId}', async () => {
    const requestId = randomUUID();
    const { lambda, requests } = cannedLambda({ status: 'pending', requestId, approvalsNeeded: 2, approvals: ['carol'] });
    const decision = await new LambdaSignerClient({ lambda, functionName: 'signer' }).resume(requestId);
    expect(decision).toEqual({ status: 'pending', requestId, approvalsNeeded: 2, approvals: ['carol'] });
    expect(JSON.parse(requests[0].body)).toEqual({ resume: requestId });
  });

  it('grants nothing when the signer function fails', async () => {
    const { lambda } = cannedLambda({ errorType: 'Error', errorMessage: 'KMS throttled', trace: ['at secret/path.js'] }, 'Unhandled');
    const client = new LambdaSignerClient({ lambda, functionName: 'signer' });
    const sealed = await f.seal(scheduleRequest(randomUUID()));
    await expect(client.request(sealed)).rejects.toThrow(SignerUnavailableError);
    await expect(client.request(sealed)).rejects.toThrow(/KMS throttled/);
  });

  it('grants nothing when the answer is not a signer decision', async () => {
    const requestId = randomUUID();
    for (const bogus of ['not json', { status: 'signed', requestId, directive: { claims: {}, signature: 'AAAA', keyId: 'k' } }]) {
      const { lambda } = cannedLambda(bogus);
      await expect(new LambdaSignerClient({ lambda, functionName: 'signer' }).resume(requestId)).rejects.toThrow(SignerUnavailableError);
    }
  });
});

describe('InProcessSignerClient', () => {
  it('carries the same JSON as a Lambda invoke, both ways', async () => {
    const commandId = await f.putCommand({ allow: ['prescribe'] });
    const client = new InProcessSignerClient(f.signer);
    const req = prescribeRequest(commandId) as ReturnType<typeof prescribeRequest> & { requestId: string };
    expect(await client.request(await f.seal(req))).toMatchObject({ status: 'pending', approvalsNeeded: 2 });
    await f.signer.approvals.recordApproval({ requestId: req.requestId, approver: 'carol', decision: 'approve', passkey: true });
    await f.signer.approvals.recordApproval({ requestId: req.requestId, approver: 'dave', decision: 'approve', passkey: true });
    const decision = await client.resume(req.requestId);
    expect(decision.status).toBe('signed');
  });
});

describe('the signer function', () => {
  const saved = { ...process.env };
  afterAll(() => {
    process.env = saved;
  });

  it('decides a request and a resume from its environment, behind middy', async () => {
    Object.assign(process.env, {
      AGENTSEC_KEY_ARNS: JSON.stringify(f.keyArns),
      AGENTSEC_AUTHORITY_KEY_ARN: f.authorityKeyArn,
      AGENTSEC_TABLE_COMMANDS: f.tables.commands,
      AGENTSEC_TABLE_LEDGER: f.tables.ledger,
      AGENTSEC_TABLE_APPROVALS: f.tables.approvals,
      AGENTSEC_TABLE_NONCES: 'unused-nonces',
      AGENTSEC_TABLE_OUTBOX: 'unused-outbox',
      AGENTSEC_TABLE_IDEMPOTENCY: 'unused-idempotency',
      AGENTSEC_TABLE_CONTINUATIONS: 'unused-continuations',
      AGENTSEC_TABLE_RECORDS: 'unused-records',
      POWERTOOLS_LOG_LEVEL: 'SILENT',
    });
    const { handler } = await import('../../functions/handlers/signer');
    const context = createLambdaContext({ functionName: 'signer', timeoutMs: 30_000 });

    const commandId = await f.putCommand({ allow: ['schedule_appointment'], label: label('CONFIDENTIAL') });
    const signed = await handler(await f.seal(scheduleRequest(commandId)), context);
    expect(signed).toMatchObject({ status: 'signed' });

    const unknown = randomUUID();
    expect(await handler({ resume: unknown }, context)).toMatchObject({ status: 'denied', requestId: unknown, reason: 'NOT_AUTHORIZED' });
    expect(await handler({ resume: 'not-a-uuid' }, context)).toMatchObject({ status: 'denied', reason: 'SCHEMA' });
  });
});
