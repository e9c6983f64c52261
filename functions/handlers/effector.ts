import { EffectorAgent } from '../agents/effector';
import { createAgentHandler, lazyHandler } from './agent-lambda';
import { LambdaSignerClient } from '../signer/signer-client';
import { LambdaEffectGateway } from '../effects/client';

/** Every non-core agent's function: which agent it is comes from `AGENTSEC_AGENT`, everything else from the topology. */
export const handler = lazyHandler(() =>
  createAgentHandler(EffectorAgent, {
    signer: (env) => new LambdaSignerClient({ functionName: env.AGENTSEC_SIGNER_FUNCTION ?? '' }),
    effects: (env) => new LambdaEffectGateway(env.AGENTSEC_EFFECTS_FUNCTION ?? ''),
  }),
);
