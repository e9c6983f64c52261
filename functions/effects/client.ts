import { randomUUID } from 'node:crypto';
import { InvokeCommand, LambdaClient } from '@aws-sdk/client-lambda';
import type { SignedDirective } from '../kernel/directives/claims';
import { SecurityError } from '../kernel/errors';
import type { Label } from '../kernel/labels';
import type { EnvelopeCipher } from '../kernel/messages/envelope-cipher';
import { SealedRequest, sealRequest } from '../kernel/messages/sealed-request';
import type { EffectLog, OutboxRecord, SideEffect } from '../kernel/tools/effects';
import { awsClientConfig } from '../platform/aws-clients';
import { EFFECT_GATEWAY, EffectAnswer, EffectRequest, effectAnswerSchema } from './protocol';

/** How an agent reaches the effect gateway: a Lambda invoke on AWS, the same gateway in-process locally. */
export interface EffectGatewayTransport {
  send(sealed: SealedRequest): Promise<EffectAnswer>;
}

/** The gateway could not answer: nothing is known to be recorded; the message is retried. */
export class EffectGatewayUnavailableError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'EffectGatewayUnavailableError';
  }
}

function parseAnswer(payload: unknown): EffectAnswer {
  const parsed = effectAnswerSchema.safeParse(payload);
  if (!parsed.success) throw new EffectGatewayUnavailableError('malformed effect gateway answer');
  return parsed.data;
}

/** JSON in, JSON out: an in-process call sees exactly what a Lambda invoke would carry. */
const overTheWire = (value: unknown): unknown => JSON.parse(JSON.stringify(value) ?? 'null');

export class InProcessEffectGateway implements EffectGatewayTransport {
  constructor(private readonly gateway: { receive(event: unknown): Promise<EffectAnswer> }) {}

  async send(sealed: SealedRequest): Promise<EffectAnswer> {
    return parseAnswer(overTheWire(await this.gateway.receive(overTheWire(sealed))));
  }
}

export class LambdaEffectGateway implements EffectGatewayTransport {
  private readonly lambda: LambdaClient;

  constructor(
    private readonly functionName: string,
    lambda?: LambdaClient,
  ) {
    if (!functionName) throw new Error('LambdaEffectGateway: no function name (AGENTSEC_EFFECTS_FUNCTION)');
    this.lambda = lambda ?? new LambdaClient(awsClientConfig());
  }

  async send(sealed: SealedRequest): Promise<EffectAnswer> {
    const out = await this.lambda.send(
      new InvokeCommand({ FunctionName: this.functionName, InvocationType: 'RequestResponse', Payload: Buffer.from(JSON.stringify(sealed), 'utf8') }),
    );
    const text = out.Payload ? Buffer.from(out.Payload).toString('utf8') : '';
    if (out.FunctionError) throw new EffectGatewayUnavailableError(`effect gateway failed (${out.FunctionError})`);
    try {
      return parseAnswer(JSON.parse(text));
    } catch (err) {
      if (err instanceof EffectGatewayUnavailableError) throw err;
      throw new EffectGatewayUnavailableError('effect gateway answer is not JSON');
    }
  }
}

export interface GatewayEffectLogProps {
  readonly transport: EffectGatewayTransport;
  readonly cipher: EnvelopeCipher;
  /** The agent: every request is sealed `from` it. */
  readonly agent: string;
  /** The agent's clearance: the label its requests are sealed at (a level it may write). */
  readonly clearance: Label;
}

/**
 * The tool runtime's effect log as an agent has it: every record and lookup is a request to the effect gateway,
 * sealed as the agent. A refusal is the gateway's SecurityError, so the tool runtime ledgers it as `tool.denied`.
 */
export class GatewayEffectLog implements EffectLog {
  constructor(private readonly props: GatewayEffectLogProps) {}

  async record(effectId: string, effect: SideEffect, directive?: SignedDirective): Promise<boolean> {
    const answer = await this.ask({ kind: 'record', effectId, effect, ...(directive ? { directive } : {}) }, effect.commandId);
    if (answer.status !== 'recorded') throw new EffectGatewayUnavailableError(`unexpected answer ${answer.status}`);
    return answer.recorded;
  }

  async get(effectId: string): Promise<OutboxRecord | undefined> {
    const answer = await this.ask({ kind: 'lookup', effectId }, randomUUID());
    if (answer.status !== 'found') throw new EffectGatewayUnavailableError(`unexpected answer ${answer.status}`);
    return answer.record as OutboxRecord | undefined;
  }

  private async ask(body: EffectRequest, commandId: string): Promise<EffectAnswer> {
    const { agent, clearance, cipher, transport } = this.props;
    const sealed = await sealRequest(cipher, { from: agent, to: EFFECT_GATEWAY, label: clearance, requestId: randomUUID(), commandId, body });
    const answer = await transport.send(sealed);
    if (answer.status === 'refused') throw new SecurityError(answer.reason, `the effect gateway refused: ${answer.message}`);
    return answer;
  }
}
