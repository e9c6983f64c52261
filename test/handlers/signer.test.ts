import { LambdaClient } from '@aws-sdk/client-lambda';
import { InProcessSignerClient, LambdaSignerClient, SignerUnavailableError, isCheckpointEvent } from '../../functions/signer/signer-client';
import { CheckpointFixture, checkpointFixture } from '../support/checkpoints';

let f: CheckpointFixture;
let handleSignerEvent: typeof import('../../functions/handlers/signer').handleSignerEvent;
beforeAll(async () => {
  process.env.POWERTOOLS_LOG_LEVEL = 'SILENT';
  ({ handleSignerEvent } = await import('../../functions/handlers/signer'));
  f = await checkpointFixture();
});

/** A Lambda client that records each invoke's payload and answers `payload` (the emulator's Invoke needs Docker). */
function cannedLambda(payload: unknown) {
  const lambda = new LambdaClient({ region: 'us-east-1', credentials: { accessKeyId: 'test', secretAccessKey: 'test' } });
  const sent: unknown[] = [];
  lambda.middlewareStack.addRelativeTo(
    () => async (args: { request: unknown }) => {
      sent.push(JSON.parse(Buffer.from((args.request as { body: Uint8Array }).body).toString('utf8')));
      return { response: { statusCode: 200, headers: {}, body: Buffer.from(JSON.stringify(payload)) }, output: undefined as never };
    },
    { relation: 'after', toMiddleware: 'deserializerMiddleware', name: 'cannedInvoke' },
  );
  return { lambda, sent };
}

describe('the signer function checkpoints on schedule and on demand', () => {
  test('{checkpoint: true} signs only when due; {checkpoint: "force"} signs whatever is new', async () => {
    const c = f.chain(3);
    await c.append(2);
    expect(await handleSignerEvent({ checkpoint: true }, c.signer)).toEqual({ status: 'not_due', head: 2, lastCheckpoint: null });
    expect(await handleSignerEvent({ checkpoint: 'force' }, c.signer)).toMatchObject({ status: 'written', entrySeq: 3, checkpoint: { seq: 2 } });
    await c.append(3);
    expect(await handleSignerEvent({ checkpoint: true }, c.signer)).toMatchObject({ status: 'written', entrySeq: 7, checkpoint: { seq: 6 } });
  });

  test('anything else is not a checkpoint event, and the signer refuses it as an unauthenticated request', async () => {
    const c = f.chain(1);
    await c.append(1);
    for (const event of [{ checkpoint: 'yes' }, { checkpoint: false }, { checkpoint: true, resume: 'x' }, { checkpoint: 1 }]) {
      expect(isCheckpointEvent(event)).toBe(false);
      expect(await handleSignerEvent(event, c.signer)).toMatchObject({ status: 'denied', reason: 'UNAUTHENTICATED' });
    }
    expect(await c.reader.readAll()).not.toContainEqual(expect.objectContaining({ type: 'checkpoint' }));
  });
});

describe('signer clients carry checkpoints', () => {
  test('the Lambda client invokes the signer with {checkpoint: true} or {checkpoint: "force"} and parses the outcome', async () => {
    const answer = { status: 'not_due', head: 5, lastCheckpoint: 3 };
    const { lambda, sent } = cannedLambda(answer);
    const client = new LambdaSignerClient({ lambda, functionName: 'signer' });
    expect(await client.checkpoint()).toEqual(answer);
    expect(await client.checkpoint(true)).toEqual(answer);
    expect(sent).toEqual([{ checkpoint: true }, { checkpoint: 'force' }]);
  });

  test('a malformed checkpoint answer is SignerUnavailableError', async () => {
    const { lambda } = cannedLambda({ status: 'written', checkpoint: { seq: 1 }, entrySeq: 2 });
    await expect(new LambdaSignerClient({ lambda, functionName: 'signer' }).checkpoint(true)).rejects.toThrow(SignerUnavailableError);
  });

  test('the in-process client carries the same JSON', async () => {
    const c = f.chain(50);
    await c.append(1);
    const outcome = await new InProcessSignerClient(c.signer).checkpoint(true);
    expect(outcome).toMatchObject({ status: 'written', entrySeq: 2 });
    expect(await c.anchors.load()).toEqual({ checkpoint: (outcome as { checkpoint: unknown }).checkpoint, entrySeq: 2, tree: { size: 1, nodes: [expect.any(String)] } });
  });
});
