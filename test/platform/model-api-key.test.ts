import { createServer, IncomingHttpHeaders, Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { SecretsProvider } from '@aws-lambda-powertools/parameters/secrets';
import { CreateSecretCommand, PutSecretValueCommand } from '@aws-sdk/client-secrets-manager';
import { createAgentContext } from '../../functions/agents/context';
import { label } from '../../functions/kernel/labels';
import { isSecurityError } from '../../functions/kernel/errors';
import { loadTopology } from '../../functions/kernel/topology/topology';
import { ModelApiKey, ModelApiKeyUnavailableError } from '../../functions/platform/model-api-key';
import { LabelledMessage, ModelClient } from '../../functions/platform/model-client';
import { emulatorEndpoint, secretsManager, unique } from '../support/aws';

/**
 * The model client's API key: on AWS the endpoint's Secrets Manager secret (its ARN in `AGENTSEC_MODEL_SECRETS`),
 * read through Powertools Parameters from the emulator; on one machine the variable `apiKeyEnv`. A secret without a
 * value fails the call, by name, and nothing reaches the model.
 */

const topology = loadTopology();
const external = topology.modelEndpoint('external');
const prompt: LabelledMessage[] = [{ role: 'user', content: 'What are the clinic opening hours?', label: label('UNCLASSIFIED') }];

/** An OpenAI-compatible endpoint that answers every chat completion and records the headers of each request. */
async function recordingModel(): Promise<{ url: string; requests: IncomingHttpHeaders[]; server: Server }> {
  const requests: IncomingHttpHeaders[] = [];
  const server = createServer((req, res) => {
    requests.push(req.headers);
    req.resume().on('end', () => {
      res.setHeader('content-type', 'application/json');
      res.end(
        JSON.stringify({
          id: 'chatcmpl-1',
          object: 'chat.completion',
          created: 0,
          model: external.model,
          choices: [{ index: 0, message: { role: 'assistant', content: 'Open 8:00-18:00.' }, finish_reason: 'stop' }],
        }),
      );
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1`, requests, server };
}

/** The environment the stack gives the edge agent's function (tables and keys are never called here). */
function edgeEnvironment(extra: Record<string, string>): NodeJS.ProcessEnv {
  return {
    AGENTSEC_AGENT: 'edge',
    AGENTSEC_AWS_ENDPOINT: emulatorEndpoint(),
    AGENTSEC_KEY_ARNS: JSON.stringify({ UNCLASSIFIED: 'k1', CONFIDENTIAL: 'k2', SECRET: 'k3', TOP_SECRET: 'k4' }),
    AGENTSEC_AUTHORITY_KEY_ARN: 'authority',
    ...Object.fromEntries(['COMMANDS', 'LEDGER', 'NONCES', 'APPROVALS', 'OUTBOX', 'IDEMPOTENCY', 'CONTINUATIONS', 'RECORDS'].map((t) => [`AGENTSEC_TABLE_${t}`, t.toLowerCase()])),
    ...extra,
  };
}

/** The edge agent's context, built as its handler builds it at cold start. */
const edgeContext = (env: NodeJS.ProcessEnv) => createAgentContext({ env, topology, signer: () => ({}) as never, effects: () => ({}) as never });

async function createSecret(value?: string): Promise<string> {
  const out = await secretsManager().send(new CreateSecretCommand({ Name: unique('agentsec/openai'), ...(value !== undefined ? { SecretString: value } : {}) }));
  return out.ARN!;
}

describe("the model client's API key", () => {
  let model: Awaited<ReturnType<typeof recordingModel>>;
  beforeEach(async () => {
    model = await recordingModel();
  });
  afterEach(() => new Promise<void>((resolve) => model.server.close(() => resolve())));

  it('on AWS the key is the value of the secret the stack named, read through Powertools, and sent as the bearer token', async () => {
    const arn = await createSecret('sk-from-secrets-manager');
    const ctx = edgeContext(
      edgeEnvironment({
        AGENTSEC_MODEL_SECRETS: JSON.stringify({ external: arn }),
        AGENTSEC_EXTERNAL_MODEL_URL: model.url,
        // The variable is ignored where a secret is configured.
        OPENAI_API_KEY: 'sk-from-the-environment',
      }),
    );
    const reply = await ctx.model.complete(prompt);
    expect(reply.content).toBe('Open 8:00-18:00.');
    expect(model.requests.map((h) => h.authorization)).toEqual(['Bearer sk-from-secrets-manager']);
  });

  it('on one machine (no secret ARN) the key is the variable apiKeyEnv, as before', async () => {
    const ctx = edgeContext(edgeEnvironment({ AGENTSEC_EXTERNAL_MODEL_URL: model.url, OPENAI_API_KEY: 'sk-from-the-environment' }));
    await ctx.model.complete(prompt);
    expect(model.requests.map((h) => h.authorization)).toEqual(['Bearer sk-from-the-environment']);
  });

  it('a secret with no value fails the call with the secret named, sends nothing to the model, and is retried (not a security refusal)', async () => {
    const arn = await createSecret();
    const ctx = edgeContext(edgeEnvironment({ AGENTSEC_MODEL_SECRETS: JSON.stringify({ external: arn }), AGENTSEC_EXTERNAL_MODEL_URL: model.url, OPENAI_API_KEY: 'sk-local' }));
    const failure = await ctx.model.complete(prompt).catch((err: unknown) => err);
    expect(failure).toBeInstanceOf(ModelApiKeyUnavailableError);
    expect((failure as Error).message).toMatch(/^the API key of model endpoint "external" is unavailable: secret "agentsec\/openai" cannot be read/);
    // Not a security refusal: the batch handler rethrows it, so SQS retries the message and then dead-letters it.
    expect(isSecurityError(failure)).toBe(false);
    expect(model.requests).toEqual([]);
  });

  it('the failure is logged at cold start with the secret’s name and ARN, and a value set afterwards is used on the next call', async () => {
    const arn = await createSecret();
    const logged: Array<{ message: string; fields: Record<string, unknown> }> = [];
    const key = new ModelApiKey(external, {
      env: { AGENTSEC_AWS_ENDPOINT: emulatorEndpoint() },
      secretArn: arn,
      logger: { error: ((message: string, fields: Record<string, unknown>) => logged.push({ message, fields })) as never },
    });
    await expect(key.value()).rejects.toThrow(ModelApiKeyUnavailableError);
    expect(logged).toHaveLength(1);
    expect(logged[0].message).toMatch(/secret "agentsec\/openai".*aws secretsmanager put-secret-value --secret-id agentsec\/openai/);
    expect(logged[0].fields).toEqual({ endpoint: 'external', secretName: 'agentsec/openai', secretArn: arn });
    // The operator sets the value: the next message's call reads it (a failed read is never cached).
    await secretsManager().send(new PutSecretValueCommand({ SecretId: arn, SecretString: 'sk-set-later\n' }));
    await expect(key.value()).resolves.toBe('sk-set-later');
  });

  it('a read value is cached by Powertools: concurrent and later calls make one GetSecretValue request', async () => {
    const arn = await createSecret('sk-cached');
    const client = secretsManager();
    let reads = 0;
    client.middlewareStack.add((next) => async (args) => (reads++, next(args)), { step: 'initialize' });
    const key = new ModelApiKey(external, { secretArn: arn, secrets: new SecretsProvider({ awsSdkV3Client: client }) });
    expect(await Promise.all([key.value(), key.value()])).toEqual(['sk-cached', 'sk-cached']);
    await key.value();
    expect(reads).toBe(1);
  });

  it('the key is read when the client is built (the function’s cold start), before any message needs it', async () => {
    const arn = await createSecret('sk-early');
    const client = secretsManager();
    let reads = 0;
    client.middlewareStack.add((next) => async (args) => (reads++, next(args)), { step: 'initialize' });
    new ModelClient(external, { env: {}, apiKey: new ModelApiKey(external, { secretArn: arn, secrets: new SecretsProvider({ awsSdkV3Client: client }) }) });
    for (let i = 0; i < 100 && reads === 0; i++) await new Promise((r) => setTimeout(r, 10));
    expect(reads).toBe(1);
  });

  it('an empty value, or a binary one, fails like a missing one', async () => {
    for (const [value, reason] of [['  ', /is empty/], [new Uint8Array([1, 2]), /is not a string/]] as const) {
      const key = new ModelApiKey(external, { secretArn: 'arn:aws:secretsmanager:eu-west-1:111122223333:secret:agentsec/openai-AbC123', secrets: { get: (async () => value) as never }, logger: { error: () => undefined } });
      await expect(key.value()).rejects.toThrow(reason);
    }
  });

  it('refuses a secret ARN for an endpoint whose topology names no secret (the stack and the topology disagree)', () => {
    expect(() => new ModelApiKey(topology.modelEndpoint('onprem'), { secretArn: 'arn:aws:secretsmanager:eu-west-1:111122223333:secret:x-AbC123' })).toThrow(
      /model endpoint "onprem" names no apiKeySecret/,
    );
  });
});
