import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';

let putQueue: Promise<unknown> = Promise.resolve();

/**
 * moto server handles requests on threads without locking a table, so two concurrent conditional puts on
 * one key can both succeed. DynamoDB makes every conditional write atomic; sending this process's PutItem and TransactWriteItems
 * requests one at a time restores that guarantee and changes nothing else (queries still interleave).
 */
export function atomicConditionalWrites(doc: DynamoDBDocumentClient): DynamoDBDocumentClient {
  doc.middlewareStack.add(
    (next, context) => async (args) => {
      if (context.commandName !== 'PutItemCommand' && context.commandName !== 'TransactWriteItemsCommand') return next(args);
      const put = putQueue.then(() => next(args));
      putQueue = put.catch(() => undefined);
      return put;
    },
    { step: 'initialize', name: 'atomicConditionalWrites' },
  );
  return doc;
}
