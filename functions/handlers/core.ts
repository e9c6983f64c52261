import { CoreAgent } from '../agents/core';
import { createAgentHandler, lazyHandler } from './agent-lambda';
import { LambdaSignerClient } from '../signer/signer-client';
import { LambdaEffectGateway } from '../effects/client';

/** The kernel agent's function (DESIGN §8): SQS batches in, the kernel's CoreAgent does the work. */
export const handler = lazyHandler(() =>
  createAgentHandler(CoreAgent, {
    signer: (env) => new LambdaSignerClient({ functionName: env.AGENTSEC_SIGNER_FUNCTION ?? '' }),
    effects: (env) => new LambdaEffectGateway(env.AGENTSEC_EFFECTS_FUNCTION ?? ''),
  }),
);
