import { PluginKind, declareValuePlugin } from '@stryker-mutator/api/plugin';

/**
 * Stryker ignorer for the text of refusals (`npm run mutate`). A refusal's contract is its type and reason code
 * (DESIGN §10): the kernel hands only `err.reason` to models and ledger entries, and the message goes to logs.
 * Mutating the message ("" for `unknown tool ...`) changes nothing a caller can rely on, so those mutants are
 * reported as ignored with this reason instead of counted as survivors. Reason codes, conditions and every
 * other argument are still mutated.
 */

const REASON = 'message text of a refusal: callers rely on the error type and reason code, never on the wording';

/** Helpers in the kernel whose arguments only build a message: `mismatch(field)`, `issue(path, message)`. */
const MESSAGE_ONLY_HELPERS = new Set(['mismatch', 'issue']);
/** Helpers whose argument at this index is the message: `deny(reason, message, rejected?)`. */
const MESSAGE_ARGUMENT = new Map([['deny', 1]]);
/** zod methods whose argument at this index is a human-readable message or description. */
const ZOD_MESSAGE_ARGUMENT = new Map([['regex', 1], ['refine', 1], ['describe', 0], ['addIssue', 0]]);

const calleeName = (callee) =>
  callee.type === 'Identifier' ? callee.name : callee.type === 'MemberExpression' && callee.property.type === 'Identifier' ? callee.property.name : undefined;

/** Arguments of `new SecurityError(reason, message, options)` after the reason, and of any other `new ...Error(...)`. */
function isErrorMessageArgument(call, index) {
  if (call.type !== 'NewExpression' || call.callee.type !== 'Identifier' || !call.callee.name.endsWith('Error')) return false;
  return call.callee.name === 'SecurityError' ? index >= 1 : true;
}

/**
 * `super(message)` in the constructor of a class that extends an `...Error`, except SecurityError's own: its
 * message starts with the reason code, which callers match on.
 */
function isErrorSuperArgument(path) {
  if (path.parentPath.node.callee?.type !== 'Super') return false;
  const cls = path.findParent((p) => p.isClass())?.node;
  return cls?.id?.name !== 'SecurityError' && cls?.superClass?.type === 'Identifier' && cls.superClass.name.endsWith('Error');
}

function shouldIgnore(path) {
  if (path.listKey !== 'arguments') return undefined;
  const call = path.parentPath.node;
  const index = path.key;
  if (isErrorMessageArgument(call, index)) return REASON;
  if (call.type !== 'CallExpression') return undefined;
  if (isErrorSuperArgument(path)) return REASON;
  const name = calleeName(call.callee);
  if (call.callee.type === 'Identifier' && (MESSAGE_ONLY_HELPERS.has(name) || MESSAGE_ARGUMENT.get(name) === index)) return REASON;
  if (call.callee.type === 'MemberExpression' && ZOD_MESSAGE_ARGUMENT.get(name) === index) return REASON;
  return undefined;
}

export const strykerPlugins = [declareValuePlugin(PluginKind.Ignore, 'RefusalText', { shouldIgnore })];
