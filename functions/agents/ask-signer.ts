import type { DirectiveRequestInput, SignerDecision } from '../kernel/directives/request';
import { sealRequest } from '../kernel/messages/sealed-request';
import { SIGNER } from '../kernel/flow/edges';
import type { AgentContext } from './context';

/** A request without its requester, which is always the agent itself. */
type RequestOf<T> = T extends unknown ? Omit<T, 'requester'> : never;

/**
 * Asks the signer for a directive as this agent: the request is sealed `from` the agent under its own clearance
 * (IAM pins `kms:EncryptionContext:from` to the agent's role), so the signer learns who asks from KMS, never from
 * the `requester` field alone (DESIGN §1, §5).
 */
export async function askSigner(ctx: AgentContext, request: RequestOf<DirectiveRequestInput>): Promise<SignerDecision> {
  const body = { ...request, requester: ctx.self.name } as DirectiveRequestInput;
  const sealed = await sealRequest(ctx.cipher, {
    from: ctx.self.name,
    to: SIGNER,
    label: ctx.self.clearance,
    requestId: body.requestId,
    commandId: body.commandId,
    body,
  });
  return ctx.signer.request(sealed);
}
