/** Reads that keep the API server's JSON as sent, for objects decide() must see whole (pods). */
import { type CoreV1Api, Observable, ResponseContext, SelfDecodingBody } from '@kubernetes/client-node';
import { call } from './client.js';
import type { PodObject } from './types.js';

/** The options argument of client-node's calls. */
export type CallOptions = Parameters<CoreV1Api['listNamespacedPod']>[1];

/**
 * Options for one client-node call that keep the raw JSON body: client-node's model deserializer drops fields
 * it does not know, and decide() must see every field, so pods are read from the bytes the API server sent.
 */
export function rawBody(): { readonly options: CallOptions; readonly json: () => unknown } {
  let captured: unknown;
  const options: CallOptions = {
    middleware: [
      {
        pre: (ctx) => new Observable(Promise.resolve(ctx)),
        post: (rsp) =>
          new Observable(
            rsp.body.binary().then((bytes) => {
              if (rsp.httpStatusCode >= 200 && rsp.httpStatusCode < 300) {
                captured = JSON.parse(bytes.toString('utf8'));
              }
              return new ResponseContext(
                rsp.httpStatusCode,
                rsp.headers,
                new SelfDecodingBody(Promise.resolve(bytes)),
              );
            }),
          ),
      },
    ],
    middlewareMergeStrategy: 'append',
  };
  return { options, json: () => captured };
}

interface RawList {
  readonly items?: unknown[];
  readonly metadata?: { readonly continue?: string };
}

/** Pages through a pod list (500 at a time) and returns the raw items. */
export async function listRaw(
  what: string,
  page: (cont: string | undefined, options: CallOptions) => Promise<unknown>,
): Promise<PodObject[]> {
  const items: PodObject[] = [];
  let cont: string | undefined;
  do {
    const raw = rawBody();
    await call(what, () => page(cont, raw.options));
    const list = raw.json() as RawList | undefined;
    items.push(...((list?.items ?? []) as PodObject[]));
    cont = list?.metadata?.continue === '' ? undefined : list?.metadata?.continue;
  } while (cont !== undefined);
  return items;
}
