import { InvokeCommand, LambdaClient } from '@aws-sdk/client-lambda';
import * as z from 'zod';
import { awsClientConfig } from '../platform/aws-clients';
import { CheckpointOutcome, checkpointOutcomeSchema } from '../kernel/ledger/checkpoints';
import { SignerDecision, signerDecisionSchema } from '../kernel/directives/request';
import type { SealedRequest } from '../kernel/messages/sealed-request';
import { PasskeyAnswer, VoteAnswer, passkeyAnswerSchema, voteAnswerSchema } from './votes';
import { describeIssues } from '../kernel/schemas';
import type { Signer } from './signer';

/**
 * How agents and the API reach the signer (DESIGN §5). On AWS it is its own Lambda function, invoked
 * synchronously, so only its role holds `kms:Sign` on the authority key; in the local cloud the same `Signer`
 * runs in-process. Both carry the same JSON both ways.
 */
export interface SignerClient {
  /**
   * Asks for a directive: signed, pending human approval, or denied with a reason code. The request is sealed by
   * its requester (`sealRequest`), which is how the signer knows who asks (DESIGN §1, §5).
   */
  request(req: SealedRequest): Promise<SignerDecision>;
  /** Decides a pending request again once approvals are recorded; a signed directive is also sent to the requester. */
  resume(requestId: string): Promise<SignerDecision>;
  /** Records a human's vote, sealed by the API (the signer alone writes approvals), and decides when it completes. */
  vote(sealed: SealedRequest): Promise<VoteAnswer>;
  /** Registers an approver's passkey, sealed by the API for the token's user; the signer verifies and stores it. */
  registerPasskey(sealed: SealedRequest): Promise<PasskeyAnswer>;
  /** Signs a ledger checkpoint when one is due, or whenever anything is new with `force` (DESIGN §7). */
  checkpoint(force?: boolean): Promise<CheckpointOutcome>;
}

/** `{checkpoint: true}` on schedule (signs when due); `{checkpoint: 'force'}` on demand. */
export type CheckpointEvent = { readonly checkpoint: true | 'force' };

/** The signer function's event: a sealed directive request, `{resume: requestId}`, `{vote: sealed}`, `{passkey: sealed}`, or a checkpoint event. */
export type SignerEvent = SealedRequest | { readonly resume: string } | { readonly vote: SealedRequest } | { readonly passkey: SealedRequest } | CheckpointEvent;

/** True for an object whose only key is `key`: the signer's events never mix. */
function isOnly(event: unknown, key: string): boolean {
  return typeof event === 'object' && event !== null && Object.keys(event).length === 1 && key in event;
}

export function isResumeEvent(event: unknown): event is { resume: string } {
  return isOnly(event, 'resume');
}

export function isVoteEvent(event: unknown): event is { vote: unknown } {
  return isOnly(event, 'vote');
}

export function isPasskeyEvent(event: unknown): event is { passkey: unknown } {
  return isOnly(event, 'passkey');
}

/** Only `true` and `'force'`: anything else is not a checkpoint event, and is refused as a malformed request. */
export function isCheckpointEvent(event: unknown): event is CheckpointEvent {
  if (!isOnly(event, 'checkpoint')) return false;
  const mode = (event as { checkpoint: unknown }).checkpoint;
  return mode === true || mode === 'force';
}

const checkpointEventOf = (force: boolean): CheckpointEvent => ({ checkpoint: force ? 'force' : true });

/** The signer could not answer (a function error or a malformed answer): nothing was granted; the caller may retry. */
export class SignerUnavailableError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SignerUnavailableError';
  }
}

/** Parses an answer of the signer with `schema`; anything else is SignerUnavailableError (fail closed). */
function parseAnswer<S extends z.ZodType>(schema: S, payload: unknown): z.output<S> {
  const parsed = schema.safeParse(payload);
  if (!parsed.success) throw new SignerUnavailableError(`malformed signer answer: ${describeIssues(parsed.error)}`);
  return parsed.data;
}

/** Parses the signer's answer; anything else is SignerUnavailableError (fail closed: no directive). */
export function parseSignerDecision(payload: unknown): SignerDecision {
  return parseAnswer(signerDecisionSchema, payload);
}

/** Parses the signer's answer to a vote. */
export function parseVoteAnswer(payload: unknown): VoteAnswer {
  return parseAnswer(voteAnswerSchema, payload);
}

/** Parses the signer's answer to a passkey registration. */
export function parsePasskeyAnswer(payload: unknown): PasskeyAnswer {
  return parseAnswer(passkeyAnswerSchema, payload);
}

/** Parses the signer's answer to a checkpoint event. */
export function parseCheckpointOutcome(payload: unknown): CheckpointOutcome {
  return parseAnswer(checkpointOutcomeSchema, payload);
}

/** JSON in, JSON out: an in-process call sees exactly what a Lambda invoke would carry. */
const overTheWire = (value: unknown): unknown => JSON.parse(JSON.stringify(value) ?? 'null');

/** The local cloud's signer: the same `Signer`, called in the same process. */
export class InProcessSignerClient implements SignerClient {
  constructor(private readonly signer: Pick<Signer, 'receive' | 'resume' | 'vote' | 'registerPasskey' | 'checkpoint'>) {}

  async vote(sealed: SealedRequest): Promise<VoteAnswer> {
    return parseVoteAnswer(overTheWire(await this.signer.vote(overTheWire(sealed))));
  }

  async registerPasskey(sealed: SealedRequest): Promise<PasskeyAnswer> {
    return parsePasskeyAnswer(overTheWire(await this.signer.registerPasskey(overTheWire(sealed))));
  }

  async request(req: SealedRequest): Promise<SignerDecision> {
    return parseSignerDecision(overTheWire(await this.signer.receive(overTheWire(req))));
  }

  async resume(requestId: string): Promise<SignerDecision> {
    return parseSignerDecision(overTheWire(await this.signer.resume(requestId)));
  }

  async checkpoint(force = false): Promise<CheckpointOutcome> {
    return parseCheckpointOutcome(overTheWire(await this.signer.checkpoint(force)));
  }
}

export interface LambdaSignerClientProps {
  /** @default a client from `awsClientConfig()` */
  readonly lambda?: LambdaClient;
  /** The signer function's name or ARN (`AGENTSEC_SIGNER_FUNCTION`). */
  readonly functionName: string;
}

/**
 * The signer on AWS: a synchronous Lambda invoke. Callers need `lambda:InvokeFunction` on the signer only.
 *
 * @example
 * const signer = new LambdaSignerClient({ functionName: env.AGENTSEC_SIGNER_FUNCTION! });
 * const decision = await signer.request(await sealRequest(cipher, { from: requester, to: 'signer', label, requestId, commandId, body }));
 */
export class LambdaSignerClient implements SignerClient {
  private readonly lambda: LambdaClient;
  private readonly functionName: string;

  constructor(props: LambdaSignerClientProps) {
    if (!props.functionName) throw new Error('LambdaSignerClient: no signer function name (AGENTSEC_SIGNER_FUNCTION)');
    this.lambda = props.lambda ?? new LambdaClient(awsClientConfig());
    this.functionName = props.functionName;
  }

  async request(req: SealedRequest): Promise<SignerDecision> {
    return parseSignerDecision(await this.invoke(req));
  }

  async resume(requestId: string): Promise<SignerDecision> {
    return parseSignerDecision(await this.invoke({ resume: requestId }));
  }

  async vote(sealed: SealedRequest): Promise<VoteAnswer> {
    return parseVoteAnswer(await this.invoke({ vote: sealed }));
  }

  async registerPasskey(sealed: SealedRequest): Promise<PasskeyAnswer> {
    return parsePasskeyAnswer(await this.invoke({ passkey: sealed }));
  }

  async checkpoint(force = false): Promise<CheckpointOutcome> {
    return parseCheckpointOutcome(await this.invoke(checkpointEventOf(force)));
  }

  /** The function's JSON answer; a function error or non-JSON is SignerUnavailableError. */
  private async invoke(event: SignerEvent): Promise<unknown> {
    const out = await this.lambda.send(
      new InvokeCommand({
        FunctionName: this.functionName,
        InvocationType: 'RequestResponse',
        Payload: Buffer.from(JSON.stringify(event), 'utf8'),
      }),
    );
    const text = out.Payload ? Buffer.from(out.Payload).toString('utf8') : '';
    if (out.FunctionError) throw new SignerUnavailableError(`signer function failed (${out.FunctionError}): ${errorMessageOf(text)}`);
    try {
      return JSON.parse(text) as unknown;
    } catch {
      throw new SignerUnavailableError('signer answer is not JSON');
    }
  }
}

/** The `errorMessage` of a Lambda error payload, bounded; never the stack. */
function errorMessageOf(text: string): string {
  try {
    const message = (JSON.parse(text) as { errorMessage?: unknown }).errorMessage;
    return typeof message === 'string' ? message.slice(0, 500) : 'no message';
  } catch {
    return 'no message';
  }
}
