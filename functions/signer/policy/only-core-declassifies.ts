import { BoundRequest } from '../../kernel/directives/request';
import { Denial } from './types';
import { deny } from './verdicts';

/** Only the kernel agent writes down (DESIGN §6); an effector never lowers a label. */
export function onlyCoreDeclassifies(req: BoundRequest): Denial | undefined {
  return req.requester === 'core' ? undefined : deny('NOT_AUTHORIZED', `only core declassifies, not ${req.requester}`);
}
