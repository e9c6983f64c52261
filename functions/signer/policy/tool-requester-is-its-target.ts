import { BoundRequest } from '../../kernel/directives/request';
import { Denial } from './types';
import { deny } from './verdicts';

/** An agent asks for its own tools only: a directive for another agent's tool is never handed to a bystander. */
export function toolRequesterIsItsTarget(req: BoundRequest): Denial | undefined {
  return req.requester === req.target
    ? undefined
    : deny('NOT_AUTHORIZED', `${req.requester} cannot ask for a directive for ${req.target}`);
}
